// Every limit openapi.yaml puts on a request input (an intake's `data` included: the limits of each event's
// data in its `webhooks:` entry), found by walking the document itself, and the values at and one past each
// limit: the limit tests (test/api/limits.test.ts) are generated from this list, so a limit added to the spec
// later is tested without anyone writing a test for it. Values stay otherwise valid (a URL at its maxLength is
// still a URL, a patterned string still matches): each value at a limit is checked with Ajv against the
// spec's own schema, and one that cannot be built is listed as unsupported, which the tests compare with
// UNSUPPORTED so that a new one fails loudly.
import { loadSpec, webhookEntryKey, type ApiSpec } from "../../server/spec.js";
import { pointer, schemaErrors } from "./spec-schemas.js";

type Schema = Record<string, any>;
export type Location = "path" | "query" | "header" | "body";
export type Keyword =
  | "maxLength" | "minLength"
  | "maximum" | "minimum" | "exclusiveMaximum" | "exclusiveMinimum"
  | "maxItems" | "minItems"
  | "maxProperties" | "minProperties";

const KEYWORDS: Record<string, Keyword[]> = {
  string: ["maxLength", "minLength"],
  integer: ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"],
  number: ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"],
  array: ["maxItems", "minItems"],
  object: ["maxProperties", "minProperties"],
};
const UPPER = new Set<Keyword>(["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"]);

/** One request input that carries limits: where it is sent and the schema it is checked against. */
export interface Slot {
  operationId: string;
  method: string;
  /** The path template, e.g. /api/v1/agents/{agent_id}/webhooks. */
  path: string;
  location: Location;
  /** The parameter's name, or the body field's path (array items at index 0, map entries at their key). */
  field: (string | number)[];
  /** Where the schema is in openapi.yaml, for Ajv (its $refs and sibling keywords are followed there). */
  pointer: string;
  /** The schema with its $ref and allOf merged in: the keywords that apply. */
  schema: Schema;
  type: string;
  /**
   * For a field of an intake's `data`: the event whose `webhooks:` entry declares its schema (the intake
   * checks `data` against the limits of that event's data, server/http/event-limits.ts).
   */
  event?: string;
}

export interface Limit {
  slot: Slot;
  keyword: Keyword;
  bound: number;
}

/** How the server names the field in a 422's `errors` (validation.ts: the body path dotted, or the parameter). */
export const fieldName = (slot: Slot) => slot.field.join(".");

/** Readable name of a limit: `createWebhook body.name maxLength 255`. */
export const limitName = (limit: Limit) => `${limit.slot.operationId} ${inputLimitName(limit)}`;

/** The same without the operation (`body.name maxLength 255`): building its values does not depend on it. */
export const inputLimitName = (limit: Limit) =>
  `${limit.slot.location}.${fieldName(limit.slot)} ${limit.keyword} ${limit.bound}${limit.slot.event ? ` (${limit.slot.event})` : ""}`;

/** `at limit` or `past limit`: the side of a limit a value is on. */
export type Side = "at limit" | "past limit";

/**
 * A path's ids name resources the server made, and the server makes UUIDs (server/storage/ids.ts), which
 * its responses declare (`format: uuid`): a value for an `…_id` path parameter is built as a UUID whatever
 * the parameter's own schema says, since any other value could never name a resource.
 */
const isResourceId = (slot: Slot) => slot.location === "path" && /_id$/.test(String(slot.field[0]));

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** A node's keywords with its $ref target and allOf branches merged in (the node's own keywords win). */
export function effective(spec: ApiSpec, node: unknown, depth = 0): Schema {
  if (!node || typeof node !== "object") return {};
  if (depth > 32) throw new Error("openapi.yaml: schema nesting too deep");
  const { $ref, allOf, ...own } = node as Schema;
  const merged: Schema = {};
  if ($ref !== undefined) Object.assign(merged, effective(spec, spec.resolve({ $ref }), depth + 1));
  for (const branch of (allOf ?? []) as unknown[]) Object.assign(merged, effective(spec, branch, depth + 1));
  return { ...merged, ...own };
}

/** The pointer whose structure (properties, items) a node shows: its $ref's target when it has one. */
function structurePointer(node: Schema, at: string): string {
  return typeof node.$ref === "string" ? node.$ref : at;
}

function typeOf(schema: Schema): string | undefined {
  const types = Array.isArray(schema.type) ? schema.type.filter((t: string) => t !== "null") : [schema.type];
  return types[0];
}

/** Every input slot of every operation that has input, with limits or not (the walk's own coverage). */
export function inputSlots(spec: ApiSpec = loadSpec()): Slot[] {
  const slots: Slot[] = [];
  for (const [path, item] of Object.entries<Schema>(spec.document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation?.operationId) continue;
      const base = { operationId: operation.operationId as string, method: method.toUpperCase(), path };
      const at = pointer(["paths", path, method]);
      const parameters: Array<[unknown, string]> = [
        ...((item.parameters ?? []) as unknown[]).map((p, i): [unknown, string] => [p, `${pointer(["paths", path])}/parameters/${i}`]),
        ...((operation.parameters ?? []) as unknown[]).map((p, i): [unknown, string] => [p, `${at}/parameters/${i}`]),
      ];
      for (const [node, where] of parameters) {
        const parameter = spec.resolve<Schema>(node);
        const parameterAt = structurePointer(node as Schema, where);
        const location = ({ path: "path", query: "query", header: "header" } as const)[parameter.in as string];
        if (!location || !parameter.schema) continue;
        walk(spec, slots, { ...base, location }, [parameter.name], parameter.schema, `${parameterAt}/schema`);
      }
      const body = operation.requestBody === undefined ? undefined : spec.resolve<Schema>(operation.requestBody);
      const bodyAt = structurePointer(operation.requestBody ?? {}, `${at}/requestBody`);
      const json = body?.content?.["application/json"]?.schema;
      if (json) walk(spec, slots, { ...base, location: "body" }, [], json, `${bodyAt}/content/application~1json/schema`);
      if (json) walkEventData(spec, slots, { ...base, location: "body" }, effective(spec, json));
    }
  }
  return slots;
}

/** The catalogue whose events a body's `event` names, for the intakes: the agent's or the campaign's. */
function intakeKind(body: Schema): "agent" | "campaign" | undefined {
  const ref = body.properties?.event?.$ref;
  if (ref === "#/components/schemas/WebhookEventType" && body.properties?.data) return "agent";
  if (ref === "#/components/schemas/CampaignEventType" && body.properties?.data) return "campaign";
  return undefined;
}

/**
 * An intake's `data`, walked once per event of its catalogue against the event's `webhooks:` entry (the
 * `data` of its body). A limit that several events share (CallData's `call_id`, say) is one slot, in the
 * first event that has it: the same schema node, checked the same way whatever the event.
 */
/** The data of the delivery example of a slot's event (its `webhooks:` entry): within every limit of it. */
export function eventData(slot: Slot, spec: ApiSpec = loadSpec()): Record<string, unknown> {
  const key = webhookEntryKey(slot.operationId === "ingestCampaignEvent" ? "campaign" : "agent", slot.event!);
  return structuredClone({ data: spec.document.webhooks?.[key]?.post?.requestBody?.content?.["application/json"]?.example?.data });
}

function walkEventData(spec: ApiSpec, slots: Slot[], base: Pick<Slot, "operationId" | "method" | "path" | "location">, body: Schema): void {
  const kind = intakeKind(body);
  if (!kind) return;
  const events = kind === "agent" ? spec.events : spec.campaignEvents;
  const known = new Set<string>();
  for (const event of events) {
    const key = webhookEntryKey(kind, event);
    const at = `${pointer(["webhooks", key, "post", "requestBody", "content", "application/json", "schema"])}`;
    const envelope = spec.document.webhooks?.[key]?.post?.requestBody?.content?.["application/json"]?.schema;
    const found: Slot[] = [];
    walk(spec, found, { ...base }, [], envelope, at);
    for (const slot of found) {
      if (slot.field[0] !== "data" || slot.field.length < 2) continue;
      const id = `${slot.pointer} ${fieldName(slot)}`;
      if (known.has(id)) continue;
      known.add(id);
      slots.push({ ...slot, event });
    }
  }
}

function walk(
  spec: ApiSpec,
  slots: Slot[],
  base: Pick<Slot, "operationId" | "method" | "path" | "location">,
  field: (string | number)[],
  node: Schema,
  at: string,
  seen: ReadonlySet<string> = new Set(),
): void {
  const schema = effective(spec, node);
  const structureAt = structurePointer(node, at);
  if (seen.has(structureAt)) return; // a recursive schema: its limits are already walked once
  const inner = new Set(seen).add(structureAt);
  const type = typeOf(schema) ?? (schema.properties ? "object" : schema.items ? "array" : undefined);
  if (type !== undefined && field.length > 0) slots.push({ ...base, field, pointer: at, schema, type });
  else if (type !== undefined && base.location === "body" && field.length === 0 && KEYWORDS.object!.some((k) => schema[k] !== undefined)) {
    slots.push({ ...base, field, pointer: at, schema, type });
  }
  // The structure comes from the node, its $ref target or its allOf branches (theirs too, at any depth); the
  // pointers follow the same.
  for (const [source, where] of structureSources(spec, node, at)) {
    for (const [name, child] of Object.entries<Schema>(source.properties ?? {})) {
      walk(spec, slots, base, [...field, name], child, `${where}/properties/${pointer([name]).slice(2)}`, inner);
    }
    if (source.additionalProperties && typeof source.additionalProperties === "object") {
      walk(spec, slots, base, [...field, mapKey(spec, source)], source.additionalProperties, `${where}/additionalProperties`, inner);
    }
    if (source.items && typeof source.items === "object") walk(spec, slots, base, [...field, 0], source.items, `${where}/items`, inner);
    for (const keyword of ["oneOf", "anyOf"] as const) {
      // Each branch is walked as its own slots at the same path: its limits are the branch's.
      ((source[keyword] ?? []) as Schema[]).forEach((branch, i) => walk(spec, slots, base, field, branch, `${where}/${keyword}/${i}`, inner));
    }
  }
}

/** A node and the nodes its structure comes from: its $ref target and allOf branches, and theirs. */
function structureSources(spec: ApiSpec, node: Schema, at: string, depth = 0): Array<[Schema, string]> {
  if (depth > 32) throw new Error("openapi.yaml: schema nesting too deep");
  const sources: Array<[Schema, string]> = [[node, at]];
  if (typeof node.$ref === "string") sources.push(...structureSources(spec, spec.resolve<Schema>(node), node.$ref, depth + 1));
  ((node.allOf ?? []) as Schema[]).forEach((b, i) => sources.push(...structureSources(spec, b, `${at}/allOf/${i}`, depth + 1)));
  return sources;
}

/** The key of one entry of a map (additionalProperties): the first name propertyNames allows, else "key". */
function mapKey(spec: ApiSpec, schema: Schema): string {
  const names = effective(spec, schema.propertyNames ?? {});
  return (names.enum?.[0] as string | undefined) ?? (names.const as string | undefined) ?? "key";
}

/** Every limit of every request input, in document order. */
export function findLimits(spec: ApiSpec = loadSpec()): Limit[] {
  const limits: Limit[] = [];
  for (const slot of inputSlots(spec)) {
    for (const keyword of KEYWORDS[slot.type] ?? []) {
      const bound = slot.schema[keyword];
      if (typeof bound === "number") limits.push({ slot, keyword, bound });
    }
  }
  return limits;
}

// ─── values at and past a limit ───────────────────────────────────────────────────────────────────────────

/** A value built for a limit, or why it could not be built. */
export type Built = { value: unknown } | { unsupported: string };

/**
 * The value at the limit (`past` false: valid against the spec's schema) or one past it (`past` true: failing
 * that limit's keyword), grown from `known`, the field's value in a valid request (or the schema's example).
 * Array items and object members are grown from the known ones, or from the item schema's example.
 */
export function valueFor(limit: Limit, known: unknown, past: boolean, spec: ApiSpec = loadSpec()): Built {
  const { slot, keyword, bound } = limit;
  if (known === undefined && slot.event !== undefined) known = slot.field.reduce<any>((at, key) => at?.[key], eventData(slot, spec));
  const upper = UPPER.has(keyword);
  const exclusive = keyword.startsWith("exclusive");
  let value: unknown;
  switch (slot.type) {
    case "string": {
      const size = bound + (past ? (upper ? 1 : -1) : 0);
      if (size < 0) return { unsupported: `no string shorter than 0 characters` };
      const shape = isResourceId(slot) && !past ? { ...slot.schema, format: "uuid" } : slot.schema;
      const seed = typeof known === "string" ? known : exampleOf(shape);
      // Past the limit the value may break the pattern too (an empty header name matches no token).
      // Past the limit the value may break the pattern or format too (an empty header name is no token, a
      // uuid one character longer no uuid): the server then names both, and the limit's message is among them.
      value = stringOfLength(shape, seed, size) ?? (past ? stringOfLength({ ...shape, pattern: undefined, format: undefined }, seed, size) : undefined);
      break;
    }
    case "integer":
    case "number": {
      const step = slot.type === "integer" ? 1 : 0.5;
      const inside = exclusive ? (upper ? bound - step : bound + step) : bound;
      value = past ? (exclusive ? bound : upper ? bound + step : bound - step) : inside;
      break;
    }
    case "array": {
      const size = bound + (past ? (upper ? 1 : -1) : 0);
      if (size < 0) return { unsupported: "no array of fewer than 0 items" };
      value = arrayOfLength(spec, slot, Array.isArray(known) ? known : [], size);
      break;
    }
    case "object": {
      const size = bound + (past ? (upper ? 1 : -1) : 0);
      if (size < 0) return { unsupported: "no object of fewer than 0 members" };
      value = objectOfSize(slot, known && typeof known === "object" ? (known as Record<string, unknown>) : {}, size);
      break;
    }
    default:
      return { unsupported: `type ${slot.type}` };
  }
  if (value === undefined) return { unsupported: `cannot build a ${slot.type} for ${keyword} ${bound}` };
  const errors = schemaErrors(slot.pointer, value);
  if (!past && errors.length > 0) return { unsupported: `the value at the limit is invalid: ${errors.join("; ")}` };
  if (past && !errors.some((e) => e.includes(`"limit":${bound}`))) {
    return { unsupported: `the value past the limit does not break it: ${errors.join("; ") || "valid"}` };
  }
  return { value };
}

function exampleOf(schema: Schema): string {
  const example = schema.example ?? schema.examples?.[0] ?? schema.default ?? schema.enum?.[0];
  if (typeof example === "string") return example;
  if (schema.format === "uri") return "https://example.com/";
  if (schema.format === "date-time") return new Date().toISOString();
  if (schema.format === "uuid") return "9fbef0b7-8d4e-4a08-9207-66c22155721d";
  return "a";
}

/** Fillers tried in turn when a string is grown: the first that keeps it matching the schema's pattern. */
const FILLERS = ["a", "0", "A", "-", "-a", "a-"];

/**
 * A string of exactly `size` characters grown from (or cut from) `seed` so that it keeps its shape: a URL
 * grows its path, a date-time its fraction of a second, anything else at its end; a uuid only fits 36.
 */
function stringOfLength(schema: Schema, seed: string, size: number): string | undefined {
  const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : undefined;
  const matches = (s: string) => s.length === size && (pattern === undefined || pattern.test(s));
  if (schema.format === "uuid") return seed.length === size ? seed : undefined;
  if (schema.format === "date-time") {
    // 2025-09-03T23:19:51.5Z: grow the fraction before the zone.
    const parsed = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(seed);
    if (!parsed) return undefined;
    const [, head, fraction = "", zone] = parsed;
    const room = size - head!.length - zone!.length;
    if (room === 0) return head! + zone!;
    if (room < 2) return undefined;
    return head! + "." + (fraction + "0".repeat(room)).slice(0, room - 1) + zone!;
  }
  if (schema.format === "uri") {
    const url = new URL(seed);
    const origin = `${url.protocol}//${url.host}/`;
    if (size < origin.length + 1) return size >= origin.length - 1 && matches(origin.slice(0, size)) ? origin.slice(0, size) : undefined;
    const path = (seed.slice(origin.length) || "a").replace(/[?#].*$/, "");
    const grown = path.length >= size - origin.length ? path.slice(0, size - origin.length) : path + "a".repeat(size - origin.length - path.length);
    return origin + grown;
  }
  if (seed.length >= size) return matches(seed.slice(0, size)) ? seed.slice(0, size) : FILLERS.map((f) => f.repeat(size).slice(0, size)).find(matches);
  for (const filler of FILLERS) {
    const grown = (seed + filler.repeat(size - seed.length)).slice(0, size);
    if (matches(grown)) return grown;
  }
  return FILLERS.map((f) => f.repeat(size).slice(0, size)).find(matches);
}

/** `size` items: the known ones first, then the item schema's enum values not yet used, then variants of the first. */
function arrayOfLength(spec: ApiSpec, slot: Slot, known: unknown[], size: number): unknown[] | undefined {
  const item = effective(spec, slot.schema.items ?? {});
  const items: unknown[] = [...known].slice(0, size);
  for (const name of (item.enum ?? []) as unknown[]) {
    if (items.length >= size) break;
    if (!items.includes(name)) items.push(name);
  }
  const model = known[0] ?? sampleOf(spec, item);
  // Past an enum's end the items repeat (only a past-the-limit array is that long).
  for (let i = items.length; i < size; i++) items.push(item.enum ? item.enum[i % item.enum.length] : variant(spec, item, model, i));
  return items;
}

/** A small valid value of a schema: its example, or one built from its type (objects: their required members). */
export function sampleOf(spec: ApiSpec, node: unknown): unknown {
  const schema = effective(spec, node);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.[0] !== undefined) return schema.examples[0];
  if (schema.enum !== undefined) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  switch (typeOf(schema) ?? (schema.properties ? "object" : undefined)) {
    case "string":
      return stringOfLength(schema, "Sample", Math.max(schema.minLength ?? 0, Math.min(6, schema.maxLength ?? 6))) ?? exampleOf(schema);
    case "integer":
    case "number":
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleOf(spec, schema.items ?? {}));
    case "object":
      return Object.fromEntries(((schema.required ?? []) as string[]).map((name) => [name, sampleOf(spec, schema.properties?.[name] ?? {})]));
    default:
      return null;
  }
}

/**
 * A copy of `model` made distinct by `i`, so that items stay distinct (header names, for instance): a string
 * ends with `-<i>` (or `_<i>`, or `<i>`: the first its pattern allows); an object varies its first string
 * member that is not one of a list of names (an enum or a constant keeps its value).
 */
function variant(spec: ApiSpec, node: unknown, model: unknown, i: number): unknown {
  const schema = effective(spec, node);
  if (typeof model === "string") {
    const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : undefined;
    const candidates = [`${model}-${i}`, `${model}_${i}`, `${model}${i}`];
    return candidates.find((c) => pattern === undefined || pattern.test(c)) ?? candidates[0];
  }
  if (Array.isArray(model)) return model.map((m) => variant(spec, schema.items ?? {}, m, i));
  if (model && typeof model === "object") {
    const member = (name: string) => effective(spec, schema.properties?.[name] ?? {});
    const varied = Object.entries(model).find(([k, v]) => typeof v === "string" && member(k).enum === undefined && member(k).const === undefined)?.[0];
    return Object.fromEntries(Object.entries(model).map(([k, v]) => [k, k === varied ? variant(spec, member(k), v, i) : v]));
  }
  return model;
}

/** `size` members: the known ones, then the schema's named properties, then generated keys of its map. */
function objectOfSize(slot: Slot, known: Record<string, unknown>, size: number): Record<string, unknown> | undefined {
  const entries = Object.entries(known).slice(0, size);
  const model = entries[0]?.[1] ?? {};
  for (const name of Object.keys(slot.schema.properties ?? {})) {
    if (entries.length >= size) break;
    if (!entries.some(([k]) => k === name)) entries.push([name, model]);
  }
  for (let i = 0; entries.length < size; i++) {
    if (!slot.schema.additionalProperties) return undefined;
    entries.push([`key_${i}`, model]);
  }
  return Object.fromEntries(entries);
}

/** The largest value of each integer format, as validation.ts names them. */
const FORMAT_CEILING: Readonly<Record<string, number>> = { int32: 2 ** 31 - 1, int64: Number.MAX_SAFE_INTEGER };

/** The 422 message the server gives for a value past the limit (openapi.yaml's `x-validation-messages`). */
export function expectedMessage(limit: Limit, spec: ApiSpec = loadSpec()): string {
  const templates = spec.validationMessages;
  const { schema } = limit.slot;
  const attribute = fieldName(limit.slot).replace(/_/g, " ");
  const fill = (template: string | undefined, values: Record<string, unknown>) =>
    (template ?? "").replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? `{${key}}`));
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  switch (limit.keyword) {
    case "maxLength":
      return fill(templates.maxLength, { attribute, max: limit.bound });
    case "minLength":
      return fill(templates.minLength, { attribute, min: limit.bound });
    case "maxItems":
      return fill(templates.maxItems, { attribute, max: limit.bound });
    case "minItems":
      return fill(templates.minItems, { attribute, min: limit.bound });
    default:
      if (limit.keyword.endsWith("imum") || limit.keyword.startsWith("exclusive")) {
        // Too small, when the maximum only restates the integer format's ceiling: "at least", not "between".
        const ceilingOnly = high !== undefined && high === FORMAT_CEILING[schema.format];
        if (low !== undefined && high !== undefined && !(limit.keyword.includes("inimum") && ceilingOnly)) {
          return fill(templates.between, { attribute, min: low, max: high });
        }
        if (low !== undefined) return fill(templates.minimum, { attribute, min: low });
        return fill(templates.maximum ?? templates.between, { attribute, min: "", max: high });
      }
      return fill(templates[limit.keyword] ?? "The {attribute} field is invalid.", { attribute, max: limit.bound, min: limit.bound });
  }
}

/**
 * The values that cannot be built, as `${inputLimitName}: ${side}` names them, each with its reason; their
 * cases are not run. The limit tests assert that the walk meets exactly these: a new one must be added
 * here, with a reason, or (better) the generator taught to build it, or the spec fixed.
 */
export const UNSUPPORTED: Readonly<Record<string, string>> = {};
