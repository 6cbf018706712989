// Checks an HTTP answer against what openapi.yaml documents for that operation and status: the status must be
// listed, the body must be JSON valid against that response's schema (or, for a response documented only as
// text, such as getMetrics' Prometheus exposition, a string with that media type and its parameters). Response `$ref`s
// (`#/components/responses/…`) are followed here, because Ajv would read a response object as an empty schema.
import { loadSpec } from "../../server/spec.js";
import { pointer, schemaErrors } from "../support/spec-schemas.js";

const spec = loadSpec();
const METHODS = ["get", "put", "post", "delete", "patch"] as const;

interface Operation {
  path: string;
  method: string;
  responses: Record<string, unknown>;
}

function operations(): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries<Record<string, any>>(spec.document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation?.operationId) found.set(operation.operationId, { path, method, responses: operation.responses ?? {} });
    }
  }
  return found;
}

const byId = operations();

/** Every operationId under `paths:` (not the `webhooks:` deliveries). */
export const operationIds: readonly string[] = [...byId.keys()];

/** JSON pointer of the schema documented for `operationId` answering `status`, or an error. */
export function responseSchemaPointer(operationId: string, status: number): string {
  const operation = byId.get(operationId);
  if (!operation) throw new Error(`openapi.yaml has no operation ${operationId}`);
  const documented = operation.responses[String(status)];
  if (!documented) {
    throw new Error(`${operationId} answered ${status}, which openapi.yaml does not document (${Object.keys(operation.responses).join(", ")})`);
  }
  const ref = (documented as { $ref?: string }).$ref;
  const base = ref ?? pointer(["paths", operation.path, operation.method, "responses", String(status)]);
  const response = spec.resolve<{ content?: Record<string, { schema?: unknown }> }>(documented);
  if (!response.content?.["application/json"]?.schema) throw new Error(`${operationId} ${status} documents no JSON body`);
  return `${base}/content/application~1json/schema`;
}

/** The one `text/…` media type documented for `operationId` answering `status` when it has no JSON body. */
export function documentedTextType(operationId: string, status: number): string | undefined {
  const documented = byId.get(operationId)?.responses[String(status)];
  if (!documented) return undefined;
  const content = spec.resolve<{ content?: Record<string, unknown> }>(documented).content ?? {};
  const types = Object.keys(content);
  return types.length === 1 && types[0]!.startsWith("text/") ? types[0] : undefined;
}

/** A media type's type and its parameters (lower-case names), from a Content-Type or a document key. */
function parseMediaType(value: string): { type: string; parameters: Map<string, string> } {
  const [type = "", ...parameters] = value.split(";").map((part) => part.trim());
  return {
    type: type.toLowerCase(),
    parameters: new Map(parameters.filter(Boolean).map((p) => [p.slice(0, p.indexOf("=")).toLowerCase(), p.slice(p.indexOf("=") + 1)])),
  };
}

function textErrors(documentedType: string, response: Response, body: unknown): string[] {
  const problems: string[] = [];
  const header = response.headers.get("content-type") ?? "";
  const expected = parseMediaType(documentedType);
  const actual = parseMediaType(header);
  const sameParameters = [...expected.parameters].every(([name, value]) => actual.parameters.get(name) === value);
  if (actual.type !== expected.type || !sameParameters) problems.push(`content-type is "${header}", not ${documentedType}`);
  if (typeof body !== "string" || body === "") problems.push("the body is not a non-empty text");
  return problems;
}

/** Problems of an answer against the document; [] when it conforms. */
export function responseErrors(operationId: string, response: Response, body: unknown): string[] {
  const textType = documentedTextType(operationId, response.status);
  if (textType !== undefined) return textErrors(textType, response, body);
  let schema: string;
  try {
    schema = responseSchemaPointer(operationId, response.status);
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) problems.push(`content-type is "${type}", not application/json`);
  problems.push(...schemaErrors(schema, body));
  return problems;
}
