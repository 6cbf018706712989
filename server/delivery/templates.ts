// Payload templates: a webhook's own body for an event, with `{{ path }}` placeholders filled from the
// event's context. No logic and no code: a placeholder is a dotted path, nothing else. The variables an
// event offers come from openapi.yaml (its `webhooks:` section's body schemas), the one source.
import type { ApiSpec } from "../spec.js";
import { toApiTimestamp } from "../storage/time.js";

/** A rendered body may be at most this many bytes of JSON. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/** What an event offers: exact variable paths, and prefixes under which any path is allowed (free-form objects). */
export interface TemplateVariables {
  paths: ReadonlySet<string>;
  openPrefixes: readonly string[];
}

export interface TemplateContext {
  event: string;
  event_id: string;
  delivery_id: string;
  occurred_at: string;
  agent: { id: string; name: string };
  /** Campaign events only. */
  campaign?: { id: string; name: string };
  webhook: { id: string; name: string };
  data: Record<string, unknown>;
  call: Record<string, unknown>;
}

type Schema = Record<string, any>;

/** The properties of a schema (its allOf parts merged) and whether it admits properties it does not name. */
function propertiesOf(spec: ApiSpec, node: unknown): { properties: Record<string, Schema>; open: boolean } {
  const schema = spec.resolve<Schema>(node ?? {});
  const properties: Record<string, Schema> = {};
  let open = schema.additionalProperties === true;
  for (const part of schema.allOf ?? []) {
    const merged = propertiesOf(spec, part);
    Object.assign(properties, merged.properties);
    open ||= merged.open;
  }
  Object.assign(properties, schema.properties ?? {});
  return { properties, open };
}

function collect(spec: ApiSpec, node: unknown, prefix: string, paths: Set<string>, open: string[]): void {
  const { properties, open: isOpen } = propertiesOf(spec, node);
  if (isOpen) open.push(prefix);
  for (const [name, child] of Object.entries(properties)) {
    const path = `${prefix}.${name}`;
    paths.add(path);
    const resolved = spec.resolve<Schema>(child);
    if (resolved.type === "object" || resolved.properties || resolved.allOf) collect(spec, child, path, paths, open);
  }
}

const variablesCache = new WeakMap<ApiSpec, Map<string, TemplateVariables>>();

/**
 * The variables of an event's context, read from the body schema of its entry in `webhooks:` (`entry` is
 * that entry's key: spec.ts's webhookEntryKey). A campaign event's context also has `campaign.id` and
 * `campaign.name`, and `agent.*` is the campaign's agent (empty when it has none).
 */
export function templateVariables(spec: ApiSpec, entry: string): TemplateVariables {
  let byEvent = variablesCache.get(spec);
  if (!byEvent) variablesCache.set(spec, (byEvent = new Map()));
  const cached = byEvent.get(entry);
  if (cached) return cached;

  const paths = new Set(["event", "event_id", "delivery_id", "occurred_at", "agent.id", "agent.name", "webhook.id", "webhook.name", "data", "call"]);
  if (entry.startsWith("campaign/")) paths.add("campaign.id").add("campaign.name");
  const open: string[] = [];
  const body = spec.document.webhooks?.[entry]?.post?.requestBody?.content?.["application/json"]?.schema;
  const dataSchema = body ? propertiesOf(spec, body).properties.data : undefined;
  if (dataSchema) {
    collect(spec, dataSchema, "data", paths, open);
    // call.<field> for the same fields; call.id is data.call_id.
    const dataPaths = [...paths].filter((p) => p.startsWith("data."));
    for (const p of dataPaths) paths.add(`call.${p.slice("data.".length)}`);
    for (const p of [...open]) if (p.startsWith("data")) open.push(`call${p.slice("data".length)}`);
    if (paths.has("data.call_id")) paths.add("call.id");
  }
  const variables = { paths, openPrefixes: open };
  byEvent.set(entry, variables);
  return variables;
}

/** Every placeholder path in the strings of a template, in order of appearance, without repeats. */
export function placeholders(template: unknown): string[] {
  const found = new Set<string>();
  walkStrings(template, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) found.add(match[1]!);
  });
  return [...found];
}

/** The placeholders of `template` that name no variable of the event (what the 422 lists). */
export function unknownPlaceholders(spec: ApiSpec, entry: string, template: unknown): string[] {
  const { paths, openPrefixes } = templateVariables(spec, entry);
  return placeholders(template).filter(
    (path) => !paths.has(path) && !openPrefixes.some((prefix) => path.startsWith(prefix + ".") && path.length > prefix.length + 1),
  );
}

/** The serialized size of a template, in bytes of UTF-8. */
export function templateBytes(template: unknown): number {
  return Buffer.byteLength(JSON.stringify(template ?? null), "utf8");
}

export function templateContext(input: {
  event: string;
  eventId: string;
  deliveryId: string;
  occurredAt: number;
  agent: { id: string; name: string };
  campaign?: { id: string; name: string };
  webhook: { id: string; name: string };
  data: unknown;
}): TemplateContext {
  const data = (input.data && typeof input.data === "object" ? input.data : {}) as Record<string, unknown>;
  return {
    event: input.event,
    event_id: input.eventId,
    delivery_id: input.deliveryId,
    occurred_at: toApiTimestamp(input.occurredAt),
    agent: { id: input.agent.id, name: input.agent.name },
    ...(input.campaign && { campaign: { id: input.campaign.id, name: input.campaign.name } }),
    webhook: { id: input.webhook.id, name: input.webhook.name },
    data,
    call: { ...data, id: data.call_id },
  };
}

function lookup(context: TemplateContext, path: string): unknown {
  let at: unknown = context;
  for (const part of path.split(".")) {
    if (at === null || typeof at !== "object" || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * Fills a template: a string that is exactly one placeholder takes the value with its JSON type (a missing
 * value is null); placeholders inside longer strings are written as text (a missing value as nothing).
 * Object keys are left as written.
 */
export function renderTemplate(template: unknown, context: TemplateContext): unknown {
  if (typeof template === "string") {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole) return lookup(context, whole[1]!) ?? null;
    return template.replace(PLACEHOLDER, (_, path: string) => asText(lookup(context, path)));
  }
  if (Array.isArray(template)) return template.map((item) => renderTemplate(item, context));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, renderTemplate(value, context)]));
  }
  return template;
}

/** The body of a templated delivery: the rendered template as JSON. */
export function renderBody(template: unknown, context: TemplateContext): string {
  return JSON.stringify(renderTemplate(template, context));
}

function walkStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const item of value) walkStrings(item, visit);
  else if (value !== null && typeof value === "object") for (const item of Object.values(value)) walkStrings(item, visit);
}
