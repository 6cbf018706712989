// Turns express-openapi-validator's errors into Laravel's 422 body, one list of messages per field, worded
// with the templates of openapi.yaml's `x-validation-messages`. Limits in the messages come from the
// schemas themselves (e.g. "between 5 and 120" from minimum and maximum).
import type { Request } from "express";
import type { ApiSpec } from "../spec.js";
import { addFieldError, fieldMessage, fieldName, type FieldErrors } from "./errors.js";

export interface ValidatorError {
  path: string;
  message: string;
  errorCode?: string;
}

type Schema = Record<string, any>;

/** "webhook_url" → "webhook url"; array items stay dotted ("events.1"), as Laravel names them. */
const attributeName = (field: string) => field.replace(/_/g, " ");

/**
 * The largest value of each integer format. A `maximum` that only restates it (the page number's) is left out
 * of a too-small value's message ("at least 1", not "between 1 and 2147483647"), and a format error adds
 * nothing to what the type, minimum and maximum errors say.
 */
const FORMAT_CEILING: Readonly<Record<string, number>> = { int32: 2 ** 31 - 1, int64: Number.MAX_SAFE_INTEGER };

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? `{${key}}`));
}

/** The schema the validator checked `field` against, for its limits. */
function fieldSchema(spec: ApiSpec, req: Request, location: string, field: string): Schema {
  const operation = (req as any).openapi?.schema as Schema | undefined;
  if (!operation) return {};
  const parameterIn = ({ query: "query", path: "path", params: "path", headers: "header" } as Record<string, string>)[location];
  if (parameterIn !== undefined) {
    // A parameter of the operation or of its path item (the ids of the path are declared on the path item).
    const pathItem = spec.document.paths?.[(req as any).openapi?.openApiRoute ?? ""] ?? {};
    const parameter = [...(operation.parameters ?? []), ...(pathItem.parameters ?? [])]
      .map((p: unknown) => spec.resolve<Schema>(p))
      .find((p: Schema) => p.in === parameterIn && (parameterIn === "header" ? p.name.toLowerCase() === field.toLowerCase() : p.name === field));
    return parameter ? spec.resolve<Schema>(parameter.schema) : {};
  }
  const body = spec.resolve<Schema>(operation.requestBody ?? {});
  let schema = spec.resolve<Schema>(body.content?.["application/json"]?.schema ?? {});
  for (const part of field.split(".")) {
    schema = /^\d+$/.test(part) ? spec.resolve<Schema>(schema.items ?? {}) : spec.resolve<Schema>(schema.properties?.[part] ?? {});
  }
  return schema;
}

/** An enum, or a union of enums and constants: a list of names. */
function isNameList(spec: ApiSpec, schema: Schema): boolean {
  if (schema.enum !== undefined || schema.const !== undefined) return true;
  const branches = ((schema.anyOf ?? []) as unknown[]).map((b) => spec.resolve<Schema>(b));
  return branches.length > 0 && branches.every((b) => isNameList(spec, b));
}

/**
 * `schemaAt` gives the schema a field was checked against when the request's operation does not hold it (the
 * event limits of event-limits.ts: a `data` field's schema is in the event's `webhooks:` entry).
 */
export function toFieldErrors(
  spec: ApiSpec,
  req: Request | undefined,
  errors: readonly ValidatorError[],
  schemaAt?: (location: string, field: string) => Schema,
): FieldErrors {
  const templates = spec.validationMessages;
  const out: FieldErrors = {};
  const add = (path: string, template: string | undefined, values: Record<string, string | number> = {}) => {
    const field = fieldName(path);
    const message = fieldMessage(fill(template ?? "The {attribute} field is invalid.", { attribute: attributeName(field), ...values }));
    addFieldError(out, field, message);
  };

  for (const error of errors) {
    const [, location = "body", ...rest] = error.path.split("/");
    const field = rest.join(".") || location;
    const rule = error.errorCode?.replace(/\.openapi\.validation$/, "");
    const schema = () => (schemaAt ? schemaAt(location, field) : req ? fieldSchema(spec, req, location, field) : {});

    switch (rule) {
      case undefined: // code-less errors: an unknown query parameter, or one given twice or empty
        if (error.message.startsWith("Unknown query parameter")) add(field, templates.additionalProperties);
        else add(field, isNameList(spec, schema()) ? templates.enum : templates[`type.${schema().type}`]);
        break;
      case "additionalProperties":
        add(field, templates.additionalProperties);
        break;
      case "required":
        add(field, templates.required);
        break;
      case "type": {
        const expected = /must be (\w+)/.exec(error.message)?.[1] ?? "string";
        add(field, templates[`type.${expected}`]);
        break;
      }
      case "maxLength":
        add(field, templates.maxLength, { max: schema().maxLength });
        break;
      case "minLength":
        add(field, templates.minLength, { min: schema().minLength });
        break;
      case "minimum":
      case "maximum": {
        const { minimum, format } = schema();
        // Too small: "at least 1" when the maximum is only the format's; too big: the whole range.
        const maximum = rule === "minimum" && schema().maximum === FORMAT_CEILING[format] ? undefined : schema().maximum;
        if (minimum !== undefined && maximum !== undefined) add(field, templates.between, { min: minimum, max: maximum });
        else if (minimum !== undefined) add(field, templates.minimum, { min: minimum });
        else add(field, templates.between, { min: "", max: maximum });
        break;
      }
      case "minItems":
        add(field, templates.minItems, { min: schema().minItems });
        break;
      case "maxItems":
        add(field, templates.maxItems, { max: schema().maxItems });
        break;
      case "enum":
      case "const":
        add(field, templates.enum);
        break;
      case "uniqueItems": {
        // "must NOT have duplicate items (items ## 0 and 2 are identical)": name the later, repeated item.
        const [, first, second] = /## (\d+) and (\d+)/.exec(error.message) ?? [];
        const repeated = first !== undefined && second !== undefined ? Math.max(Number(first), Number(second)) : 0;
        add(`${field}.${repeated}`, templates.uniqueItems);
        break;
      }
      case "format":
      case "pattern": {
        const found = schema();
        if (rule === "format" && FORMAT_CEILING[found.format] !== undefined) break;
        const template = found["x-validation-message"] ?? (found.format === "uri" ? templates.url : templates.format);
        add(field, template, { format: found.format ?? "value" });
        break;
      }
      case "anyOf": // a union of name lists (the log's `event` filter): in none of them is "The selected … is invalid."
        add(field, isNameList(spec, schema()) ? templates.enum : `The {attribute} field is invalid.`);
        break;
      default:
        add(field, `The {attribute} field is invalid.`);
    }
  }
  return out;
}
