// The request bodies and stored rows the benchmarks use, built once so that every server sees the same bytes.
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase, type Database, type OpenOptions } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { agentOwner } from "../../server/storage/owner.js";
import type { RecordEventInput } from "../../server/storage/queue/record-events.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { eventBody } from "../../server/delivery/payload.js";
import { deliveryExample } from "../../server/spec.js";

export const SERVICE_TOKEN = "bench-service-token";
export const WEBHOOK_SECRET = "optional_secret_for_hmac_bench";

/** POST …/webhooks body, ≈ 300 bytes (the spec's create example, grown to a realistic subscription). */
export const CREATE_BODY = JSON.stringify({
  name: "Call summary to CRM (bench)",
  webhook_url: "https://hooks.example.com/talkover/crm-ingest/v2/calls?source=bench",
  webhook_secret: "optional_secret_for_hmac_bench_0001",
  events: ["event_phone_call_started", "event_phone_call_ended", "event_phone_call_did_not_connect", "event_recording"],
  timeout: 30,
  max_retries: 3,
});

/** A valid `event_phone_call_ended` data object: the example of its delivery in openapi.yaml. */
export const CALL_ENDED_DATA = deliveryExample("event_phone_call_ended").data;

/** A delivery body as the engine builds it (≈ 500 bytes). */
export function samplePayload(ids: { deliveryId: string; eventId: string; agentId: string; occurredAt: number }): string {
  return eventBody({ ...ids, event: "event_phone_call_ended", data: CALL_ENDED_DATA });
}

export const RECEIVER_RESPONSE_BODY = '{"ok":true}';
export const RECEIVER_RESPONSE_HEADERS = JSON.stringify({
  "content-type": "application/json",
  "content-length": "11",
  date: "Mon, 03 Nov 2025 12:00:00 GMT",
  connection: "keep-alive",
  "keep-alive": "timeout=5",
});

/** The body our server answers to POST create, for the bare-Express ceiling to answer too (same size). */
export function createAnswer(agentId: string): unknown {
  return {
    success: true,
    message: "Webhook created successfully",
    data: {
      id: "01994a2b-7c3d-7e4f-8a5b-6c7d8e9f0a1b",
      agent_id: agentId,
      name: "Call summary to CRM (bench)",
      webhook_url: "https://hooks.example.com/talkover/crm-ingest/v2/calls?source=bench",
      events: ["event_phone_call_started", "event_phone_call_ended", "event_phone_call_did_not_connect", "event_recording"],
      timeout: 30,
      max_retries: 3,
      enabled: true,
      created_at: "2025-11-03T12:00:00.123000Z",
      updated_at: "2025-11-03T12:00:00.123000Z",
      events_count: 4,
      status: "active",
    },
  };
}

/** Page 1 of the logs listing as our server answers it (25 delivered attempts), for the bare ceiling. */
export function logsPageAnswer(agentId: string, webhookId: string, perPage = 25, total = 1000): unknown {
  const at = Date.parse("2025-11-03T12:00:00.000Z");
  const data = Array.from({ length: perPage }, (_, i) => {
    const id = `01994a2b-7c3d-7e4f-8a5b-${String(i).padStart(12, "0")}`;
    return {
      id,
      webhook_id: webhookId,
      event: "event_phone_call_ended",
      attempt: 1,
      status: "success",
      created_at: "2025-11-03T12:00:00.123000Z",
      http_status: 200,
      request_payload: JSON.parse(samplePayload({ deliveryId: id, eventId: id, agentId, occurredAt: at })),
      response_body: RECEIVER_RESPONSE_BODY,
      response_headers: JSON.parse(RECEIVER_RESPONSE_HEADERS),
      duration_ms: 3,
      delivered_at: "2025-11-03T12:00:00.126000Z",
    };
  });
  return { success: true, data, pagination: { current_page: 1, per_page: perPage, total, last_page: Math.ceil(total / perPage) } };
}

/** An environment, agent and one webhook (event_phone_call_ended, no secret) in `database`, for storage benchmarks. */
export async function createBenchWebhook(database: Database): Promise<{ agentId: string; webhookId: string }> {
  const environment = await createEnvironment(database, { name: "bench" });
  const agent = await createAgent(database, { environmentId: environment.id, name: "bench" });
  const webhook = await createWebhook(database, agentOwner(agent.id), {
    name: "bench",
    webhookUrl: "https://hooks.example.com/bench",
    webhookSecret: null,
    events: ["event_phone_call_ended"],
    timeout: 30,
    maxRetries: 3,
    enabled: true,
  });
  return { agentId: agent.id, webhookId: webhook.id };
}

/** A SQLite file of its own with createBenchWebhook's rows, for the storage benchmarks. */
export interface BenchSubject {
  database: Database;
  agentId: string;
  webhookId: string;
}

export async function openBenchSubject(file: string, options: OpenOptions): Promise<BenchSubject> {
  const database = await openDatabase(`sqlite:${file}`, options);
  return { database, ...(await createBenchWebhook(database)) };
}

/** A call-ended event of the subject's agent to its webhook, as the intake hands it to recordEvents. */
export function callEndedEvent({ agentId, webhookId }: BenchSubject, now = Date.now()): RecordEventInput {
  return {
    source: agentOwner(agentId),
    event: "event_phone_call_ended",
    data: CALL_ENDED_DATA,
    occurredAt: now,
    webhookIds: [webhookId],
    buildPayload: (ids) => eventBody({ ...ids, agentId, event: "event_phone_call_ended", data: CALL_ENDED_DATA, occurredAt: now }),
  };
}
