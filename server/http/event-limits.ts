// The limits openapi.yaml declares inside each event's `data` (the `webhooks:` entries: call ids, durations,
// transcripts), enforced at the intake. The request validator sees the intake's `data` only as a JSON object
// (EventIntake, CampaignEventIntake), so without this check a delivered body could break the published
// schema. Only limits are checked (sizes, ranges, counts: LIMIT_KEYWORDS), at any depth; the shape stays the
// call platform's (no required, type, pattern, enum or format check), so that an event the platform sends
// with a new enum value or field is still delivered. The checks are compiled once per event from the spec at
// startup; a schema keyword this walker does not follow fails startup rather than being skipped silently.
import type { ApiSpec } from "../spec.js";
import { webhookEntryKey } from "../spec.js";
import type { FieldErrors } from "./errors.js";
import { toFieldErrors, type ValidatorError } from "./validation.js";

type Schema = Record<string, any>;
type Violation = { path: string; keyword: string; schema: Schema };
type Check = (value: unknown, path: string, out: Violation[]) => void;

const LIMIT_KEYWORDS = [
  "maxLength", "minLength",
  "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
  "maxItems", "minItems",
  "maxProperties", "minProperties",
] as const;
/** Keywords that would put limits where this walker does not look: the spec must not use them in event data. */
const UNFOLLOWED = ["anyOf", "oneOf", "not", "if", "then", "else", "patternProperties", "prefixItems", "dependentSchemas", "contains", "unevaluatedProperties", "unevaluatedItems", "propertyNames"];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** JSON Schema counts a string's length in code points, as the request validator (Ajv) does. */
const codePoints = (s: string) => { let n = 0; for (const _ of s) n++; return n; };

function broken(keyword: (typeof LIMIT_KEYWORDS)[number], bound: number, value: unknown): boolean {
  switch (keyword) {
    // A string has at most as many code points as UTF-16 units, and at least half as many: most need no count.
    case "maxLength": return typeof value === "string" && value.length > bound && codePoints(value) > bound;
    case "minLength": return typeof value === "string" && (value.length < bound || (value.length < 2 * bound && codePoints(value) < bound));
    case "maximum": return typeof value === "number" && value > bound;
    case "minimum": return typeof value === "number" && value < bound;
    case "exclusiveMaximum": return typeof value === "number" && value >= bound;
    case "exclusiveMinimum": return typeof value === "number" && value <= bound;
    case "maxItems": return Array.isArray(value) && value.length > bound;
    case "minItems": return Array.isArray(value) && value.length < bound;
    case "maxProperties": return isObject(value) && Object.keys(value).length > bound;
    case "minProperties": return isObject(value) && Object.keys(value).length < bound;
  }
}

/** Compiles a schema node into a check of its limits and of those below it; shared nodes are compiled once. */
function compiler(spec: ApiSpec) {
  const compiled = new Map<object, Check>();
  const compile = (node: Schema, where: string): Check => {
    const known = compiled.get(node);
    if (known) return known;
    const parts: Check[] = [];
    const check: Check = (value, path, out) => { for (const part of parts) part(value, path, out); };
    compiled.set(node, check); // before the children: a recursive schema reuses it
    const unfollowed = UNFOLLOWED.filter((k) => node[k] !== undefined);
    if (unfollowed.length > 0) throw new Error(`openapi.yaml: ${where} uses ${unfollowed.join(", ")}, which the event limits do not follow`);
    if (typeof node.$ref === "string") parts.push(compile(spec.resolve<Schema>({ $ref: node.$ref }), node.$ref));
    ((node.allOf ?? []) as Schema[]).forEach((branch, i) => parts.push(compile(branch, `${where}/allOf/${i}`)));
    const limits = LIMIT_KEYWORDS.filter((k) => typeof node[k] === "number");
    if (limits.length > 0) {
      parts.push((value, path, out) => {
        for (const keyword of limits) if (broken(keyword, node[keyword], value)) out.push({ path, keyword, schema: node });
      });
    }
    const properties = Object.entries<Schema>(node.properties ?? {}).map(([name, child]) => [name, compile(child, `${where}/properties/${name}`)] as const);
    const named = new Set(properties.map(([name]) => name));
    const additional = isObject(node.additionalProperties) ? compile(node.additionalProperties, `${where}/additionalProperties`) : undefined;
    if (properties.length > 0 || additional) {
      parts.push((value, path, out) => {
        if (!isObject(value)) return;
        for (const [name, child] of properties) if (value[name] !== undefined) child(value[name], `${path}/${name}`, out);
        if (additional) for (const [name, member] of Object.entries(value)) if (!named.has(name)) additional(member, `${path}/${name}`, out);
      });
    }
    if (isObject(node.items)) {
      const item = compile(node.items, `${where}/items`);
      parts.push((value, path, out) => { if (Array.isArray(value)) value.forEach((v, i) => item(v, `${path}/${i}`, out)); });
    }
    return check;
  };
  return compile;
}

/**
 * The `data` schema of a `webhooks:` entry's body: the body is an allOf (the envelope's generic `data`, then
 * the event's), so every `data` its branches declare applies.
 */
function dataSchema(spec: ApiSpec, key: string): Schema {
  const body = spec.resolve<Schema>(spec.document.webhooks?.[key]?.post?.requestBody?.content?.["application/json"]?.schema);
  const branches = [body, ...((body?.allOf ?? []) as Schema[]).map((b) => spec.resolve<Schema>(b))];
  const data = branches.map((b) => b?.properties?.data).filter((d): d is Schema => d !== undefined);
  if (data.length === 0) throw new Error(`openapi.yaml: webhooks.${key} declares no data`);
  return { allOf: data };
}

export interface EventLimits {
  /** The 422 field errors (`data.<path>`) of an event's data past a declared limit; undefined when within them. */
  check(kind: "agent" | "campaign", event: string, data: unknown): FieldErrors | undefined;
}

export function eventLimits(spec: ApiSpec): EventLimits {
  const compile = compiler(spec);
  const checks = new Map<string, Check>();
  for (const [kind, events] of [["agent", spec.events], ["campaign", spec.campaignEvents]] as const) {
    for (const event of events) {
      const key = webhookEntryKey(kind, event);
      checks.set(key, compile(dataSchema(spec, key), `#/webhooks/${key}`));
    }
  }
  return {
    check(kind, event, data) {
      const check = checks.get(webhookEntryKey(kind, event));
      if (!check) return undefined; // the validator has already refused an event outside the catalogue
      const found: Violation[] = [];
      check(data, "/body/data", found);
      if (found.length === 0) return undefined;
      // Worded as the validator's 422s are (validation.ts), each with the schema that declares the limit.
      const bySchema = new Map(found.map((v) => [v.path.split("/").slice(2).join("."), v.schema]));
      const errors: ValidatorError[] = found.map((v) => ({ path: v.path, message: v.keyword, errorCode: `${v.keyword}.openapi.validation` }));
      return toFieldErrors(spec, undefined, errors, (_location, field) => bySchema.get(field) ?? {});
    },
  };
}
