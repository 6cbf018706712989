// The one place that reads openapi.yaml. The events catalogue, validation limits and messages the server
// uses all come from here, so the document stays the single source of truth.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { components } from "talkover-webhooks/types";
import { packageFile } from "talkover-webhooks/package-files";

export const SPEC_PATH = packageFile("openapi.yaml");

export type WebhookEvent = components["schemas"]["WebhookEventType"];
export type CampaignEventName = components["schemas"]["CampaignEventType"];

type JsonSchema = Record<string, unknown>;

export interface ApiSpec {
  /** The parsed document, as written (no $ref resolution). */
  readonly document: Record<string, any>;
  /** Event name → one-line description, in the document's order. */
  readonly availableEvents: Readonly<Record<WebhookEvent, string>>;
  readonly events: readonly WebhookEvent[];
  /** The campaign catalogue (`CampaignEventType`), in the document's order. */
  readonly campaignEvents: readonly CampaignEventName[];
  /** Laravel-style message templates, keyed by rule (`x-validation-messages`). */
  readonly validationMessages: Readonly<Record<string, string>>;
  /** A named component schema, with its $refs left in place. */
  schema(name: string): JsonSchema;
  /** Follows a local `$ref` ("#/components/…") to what it points at. */
  resolve<T = JsonSchema>(node: unknown): T;
  readonly version: string;
}

let cached: ApiSpec | undefined;

export function loadSpec(path: string = SPEC_PATH): ApiSpec {
  if (cached && path === SPEC_PATH) return cached;
  const document = parse(readFileSync(path, "utf8")) as Record<string, any>;

  const resolve = <T>(node: unknown): T => {
    let current = node as any;
    for (let hops = 0; current && typeof current.$ref === "string"; hops++) {
      if (hops > 32) throw new Error(`openapi.yaml: $ref cycle at ${current.$ref}`);
      const ref: string = current.$ref;
      if (!ref.startsWith("#/")) throw new Error(`openapi.yaml: only local $refs are supported (${ref})`);
      current = ref
        .slice(2)
        .split("/")
        .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((at: any, key) => at?.[key], document);
      if (current === undefined) throw new Error(`openapi.yaml: unresolved $ref ${ref}`);
    }
    return current as T;
  };

  const schema = (name: string): JsonSchema => {
    const found = document.components?.schemas?.[name];
    if (!found) throw new Error(`openapi.yaml: no schema components.schemas.${name}`);
    return found;
  };

  const eventType = schema("WebhookEventType") as { enum: WebhookEvent[]; "x-enumDescriptions": Record<string, string> };
  const descriptions = eventType["x-enumDescriptions"] ?? {};
  const availableEvents = Object.fromEntries(
    eventType.enum.map((event) => {
      const description = descriptions[event];
      if (!description) throw new Error(`openapi.yaml: event ${event} has no description in x-enumDescriptions`);
      return [event, description];
    }),
  ) as Record<WebhookEvent, string>;

  const spec: ApiSpec = {
    document,
    availableEvents: Object.freeze(availableEvents),
    events: Object.freeze([...eventType.enum]),
    campaignEvents: Object.freeze([...(schema("CampaignEventType") as { enum: CampaignEventName[] }).enum]),
    validationMessages: Object.freeze({ ...(document["x-validation-messages"] ?? {}) }),
    schema,
    resolve,
    version: String(document.info?.version ?? "0.0.0"),
  };
  if (path === SPEC_PATH) cached = spec;
  return spec;
}

/** The example body of an event's delivery (openapi.yaml's `webhooks` section): fixtures read it from here. */
export function deliveryExample(event: WebhookEvent, spec: ApiSpec = loadSpec()): Record<string, any> {
  const example = spec.document.webhooks?.[event]?.post?.requestBody?.content?.["application/json"]?.example;
  if (example === undefined) throw new Error(`openapi.yaml: no delivery example for ${event}`);
  return example;
}

/**
 * The key of an event's entry in openapi.yaml's `webhooks:` section: the event name for an agent event, and
 * `campaign/<event>` for a campaign event (`event_recording` is in both catalogues, with two bodies).
 */
export function webhookEntryKey(kind: "agent" | "campaign", event: string): string {
  return kind === "agent" ? event : `campaign/${event}`;
}

/**
 * The example body of a campaign event's delivery to a campaign webhook (openapi.yaml's `webhooks:` entry
 * `campaign/<event>`, in the campaign envelope): fixtures and the campaign test call read it from here.
 */
export function campaignDeliveryExample(event: CampaignEventName, spec: ApiSpec = loadSpec()): Record<string, any> {
  const example = spec.document.webhooks?.[webhookEntryKey("campaign", event)]?.post?.requestBody?.content?.["application/json"]?.example;
  if (example === undefined) throw new Error(`openapi.yaml: no campaign delivery example for ${event}`);
  return example;
}
