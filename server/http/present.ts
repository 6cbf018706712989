// Storage records → the API's JSON, exactly the schemas of openapi.yaml. The webhook secret has no way out.
import type { components } from "talkover-webhooks/types";
import { toLog, type Log } from "../storage/logs.js";
import type { LogTable } from "../storage/schema.js";
import { toApiTimestamp } from "../storage/time.js";
import type { Owner } from "../storage/owner.js";
import { webhookStatus, type Webhook } from "../storage/webhooks.js";
import { maskHeaderValue } from "./delivery-options.js";

type ApiWebhook = components["schemas"]["Webhook"];
type ApiCampaignWebhook = components["schemas"]["CampaignWebhook"];
type ApiLog = components["schemas"]["WebhookLog"];

/** What both resources show of a webhook, in the schemas' order after the owner's id. */
function webhookFields<Event extends string>(webhook: Webhook, errorThreshold: number) {
  return {
    name: webhook.name,
    webhook_url: webhook.webhookUrl,
    events: webhook.events as Event[],
    timeout: webhook.timeout,
    max_retries: webhook.maxRetries,
    enabled: webhook.enabled,
    created_at: toApiTimestamp(webhook.createdAt),
    updated_at: toApiTimestamp(webhook.updatedAt),
    events_count: webhook.events.length,
    status: webhookStatus(webhook, errorThreshold),
    // The delivery options; authorization_credentials has no way out, header values only masked.
    http_method: webhook.httpMethod,
    authorization_scheme: webhook.authorizationScheme,
    custom_headers: webhook.customHeaders.map(({ key, value }) => ({ key, value: maskHeaderValue(value) })),
    payload_templates: webhook.payloadTemplates as ApiWebhook["payload_templates"],
  };
}

export function presentWebhook(webhook: Webhook, errorThreshold: number): ApiWebhook {
  return { id: webhook.id, agent_id: ownerId(webhook, "agent"), ...webhookFields<ApiWebhook["events"][number]>(webhook, errorThreshold) };
}

export function presentCampaignWebhook(webhook: Webhook, errorThreshold: number): ApiCampaignWebhook {
  const { name, webhook_url, events, ...rest } = webhookFields<ApiCampaignWebhook["events"][number]>(webhook, errorThreshold);
  // include_call_events right after events, as Talkover's pages show it.
  return { id: webhook.id, campaign_id: ownerId(webhook, "campaign"), name, webhook_url, events, include_call_events: webhook.includeCallEvents, ...rest };
}

/** The owner's id; a webhook shown by the other resource is a bug in the path binding, not a user error. */
function ownerId(webhook: Webhook, kind: Owner["kind"]): string {
  if (webhook.owner.kind !== kind) throw new Error(`webhook ${webhook.id} is not a ${kind} webhook`);
  return webhook.owner.id;
}

/** Fields without a value are left out, as in the published example; the order is the schema's. */
export function presentLog(log: Log): ApiLog {
  return {
    id: log.id,
    webhook_id: log.webhookId,
    event: log.event,
    attempt: log.attempt,
    status: log.status,
    ...(log.httpStatus !== null && { http_status: log.httpStatus }),
    request_payload: parsePayload(log.requestPayload),
    ...(log.responseBody !== null && { response_body: log.responseBody }),
    ...(log.responseHeaders !== null && { response_headers: log.responseHeaders }),
    ...(log.error !== null && { error: log.error }),
    ...(log.durationMs !== null && { duration_ms: log.durationMs }),
    ...(log.deliveredAt !== null && { delivered_at: toApiTimestamp(log.deliveredAt) }),
    created_at: toApiTimestamp(log.createdAt),
  };
}

function parsePayload(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : { body: value };
  } catch {
    return { body: text };
  }
}

/**
 * JSON.stringify(presentLog(toLog(row))), byte for byte, written from the stored row without parsing its
 * JSON columns: request_payload and response_headers are only ever written as JSON.stringify's text of the
 * value the answer carries (engine.ts, record-attempts.ts, logs.ts), so an object's text goes in as it is.
 * A payload that is not an object (a template that rendered a string, say) takes presentLog's way.
 */
export function logJson(row: LogTable): string {
  const payload = row.request_payload;
  const headers = row.response_headers;
  if (!isObjectText(payload) || (headers !== null && !isObjectText(headers))) return JSON.stringify(presentLog(toLog(row)));
  let out = `{"id":${JSON.stringify(row.id)},"webhook_id":${JSON.stringify(row.webhook_id)},"event":${JSON.stringify(row.event)}`;
  out += `,"attempt":${JSON.stringify(row.attempt)},"status":${JSON.stringify(row.status)}`;
  if (row.http_status !== null) out += `,"http_status":${JSON.stringify(row.http_status)}`;
  out += `,"request_payload":${payload}`;
  if (row.response_body !== null) out += `,"response_body":${JSON.stringify(row.response_body)}`;
  if (headers !== null) out += `,"response_headers":${headers}`;
  if (row.error !== null) out += `,"error":${JSON.stringify(row.error)}`;
  if (row.duration_ms !== null) out += `,"duration_ms":${JSON.stringify(row.duration_ms)}`;
  if (row.delivered_at !== null) out += `,"delivered_at":"${toApiTimestamp(row.delivered_at)}"`;
  return `${out},"created_at":"${toApiTimestamp(row.created_at)}"}`;
}

/** JSON.stringify's text of an object starts with `{`; of anything else, it does not. */
function isObjectText(text: string): boolean {
  return text.charCodeAt(0) === 0x7b;
}
