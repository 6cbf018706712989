// The rules of the delivery options that openapi.yaml's schemas cannot express (they depend on other
// fields, on the stored webhook or on the event schemas): credentials by scheme, reserved and duplicate
// header names, template keys and variables. Each failure is a 422 on its field, worded with the
// document's `x-validation-messages`. Also the masking of custom header values in responses.
import type { components } from "talkover-webhooks/types";
import { authorizationHeaderName } from "../delivery/options.js";
import { MAX_TEMPLATE_BYTES, templateBytes, unknownPlaceholders } from "../delivery/templates.js";
import { webhookEntryKey, type ApiSpec } from "../spec.js";
import type { Owner } from "../storage/owner.js";
import type { AuthorizationCredentials, AuthorizationScheme, CustomHeader, DeliveryOptions, Webhook } from "../storage/webhooks.js";
import { fieldErrorCollector, type FieldErrors } from "./errors.js";

type Body = components["schemas"]["WebhookUpdate"] | components["schemas"]["CampaignWebhookUpdate"];

/** Headers Talkover sets on every delivery: a custom header may not set them (compared lower-cased). */
export const RESERVED_HEADERS = [
  "Host",
  "Content-Length",
  "Content-Type",
  "Transfer-Encoding",
  "Connection",
  "Content-Encoding",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "User-Agent",
] as const;

/** The credential fields each scheme takes, and which of them are required. */
const CREDENTIAL_FIELDS: Record<Exclude<AuthorizationScheme, "none">, { required: string[]; optional: string[] }> = {
  bearer: { required: ["token"], optional: [] },
  basic: { required: ["username", "password"], optional: [] },
  api_key: { required: ["value"], optional: ["header_name"] },
  custom: { required: ["value"], optional: [] },
};

const MASK = "********";

/** A custom header value as responses show it: never the whole value. */
export function maskHeaderValue(value: string): string {
  return value.length >= 16 ? MASK + value.slice(-4) : MASK;
}

export interface CheckedOptions {
  errors: FieldErrors;
  /** The options to store: only those that change (an update), with masked values resolved to the stored ones. */
  changes: Partial<DeliveryOptions>;
}

/**
 * Checks the delivery options of a create (`stored` undefined) or update body against each other, the
 * events, and the stored webhook. The schema has already checked each field on its own.
 */
export function checkDeliveryOptions(spec: ApiSpec, body: Body, stored?: Webhook, kind: Owner["kind"] = "agent"): CheckedOptions {
  const { errors, add } = fieldErrorCollector(spec.validationMessages);
  const changes: Partial<DeliveryOptions> = {};

  if (body.http_method !== undefined) changes.httpMethod = body.http_method;

  // Authorization: the scheme sent, else the stored one; credentials sent, else the stored ones of that scheme.
  const scheme: AuthorizationScheme = body.authorization_scheme ?? stored?.authorizationScheme ?? "none";
  const schemeChanged = stored === undefined || scheme !== stored.authorizationScheme;
  const sent = body.authorization_credentials as AuthorizationCredentials | undefined;
  let credentials: AuthorizationCredentials | null = null;
  if (body.authorization_scheme !== undefined) changes.authorizationScheme = scheme;
  if (scheme === "none") {
    if (sent !== undefined) add("authorization_credentials", "prohibited_if", { other: "authorization scheme", value: "none" });
    if (stored?.authorizationCredentials) changes.authorizationCredentials = null; // none clears them
  } else if (sent !== undefined) {
    const fields = CREDENTIAL_FIELDS[scheme];
    for (const key of Object.keys(sent)) {
      if (!fields.required.includes(key) && !fields.optional.includes(key)) {
        add(`authorization_credentials.${key}`, "prohibited_if", { other: "authorization scheme", value: scheme });
      }
    }
    for (const key of fields.required) {
      if ((sent as Record<string, unknown>)[key] === undefined) {
        add(`authorization_credentials.${key}`, "required_if", { other: "authorization scheme", value: scheme });
      }
    }
    if (sent.header_name !== undefined && isReserved(sent.header_name)) {
      add("authorization_credentials.header_name", "reserved_header", { value: sent.header_name });
    }
    credentials = sent;
    changes.authorizationCredentials = sent;
  } else if (!schemeChanged && stored?.authorizationCredentials) {
    credentials = stored.authorizationCredentials;
  } else {
    add("authorization_credentials", "required_if", { other: "authorization scheme", value: scheme });
  }

  // Custom headers: checked when sent, or when a new scheme may now set one of their names.
  const customHeaders = body.custom_headers ?? stored?.customHeaders ?? [];
  if (body.custom_headers !== undefined || body.authorization_scheme !== undefined || sent !== undefined) {
    const authHeader = authorizationHeaderName(scheme, credentials)?.toLowerCase();
    const seen = new Set<string>();
    customHeaders.forEach(({ key }, i) => {
      const lower = key.toLowerCase();
      if (isReserved(key) || lower === authHeader) add(`custom_headers.${i}.key`, "reserved_header", { value: key });
      else if (seen.has(lower)) add(`custom_headers.${i}.key`, "distinct");
      seen.add(lower);
    });
  }
  if (body.custom_headers !== undefined) {
    changes.customHeaders = body.custom_headers.map((header) => unmask(header, stored?.customHeaders ?? []));
  }

  // Templates: keys must be subscribed events (also when `events` drops one); variables must exist.
  const events = new Set<string>(body.events ?? stored?.events ?? []);
  const templates = (body.payload_templates ?? stored?.payloadTemplates ?? {}) as Record<string, unknown>;
  if (body.payload_templates !== undefined || body.events !== undefined) {
    for (const event of Object.keys(templates)) {
      if (!events.has(event)) add(`payload_templates.${event}`, "subscribed_event");
    }
  }
  if (body.payload_templates !== undefined) {
    for (const [event, template] of Object.entries(templates)) {
      const unknown = unknownPlaceholders(spec, webhookEntryKey(kind, event), template);
      if (unknown.length > 0) add(`payload_templates.${event}`, "unknown_variables", { variables: unknown.join(", ") });
      if (templateBytes(template) > MAX_TEMPLATE_BYTES) add(`payload_templates.${event}`, "template_size", { max: MAX_TEMPLATE_BYTES });
    }
    changes.payloadTemplates = templates;
  }

  return { errors, changes };
}

function isReserved(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.some((reserved) => reserved.toLowerCase() === lower);
}

/** A value sent back exactly as a response masked it keeps the stored value of that key. */
function unmask(header: CustomHeader, stored: readonly CustomHeader[]): CustomHeader {
  const previous = stored.find((s) => s.key.toLowerCase() === header.key.toLowerCase());
  if (previous && header.value === maskHeaderValue(previous.value)) return { key: header.key, value: previous.value };
  return { key: header.key, value: header.value };
}
