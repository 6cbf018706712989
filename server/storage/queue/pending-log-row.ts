// The log row of an attempt not yet made: written by the intake (attempt 1) and by a manual retry.
import type { LogTable } from "../schema.js";

export function pendingLogRow(
  ids: { logId: string; webhookId: string; deliveryId: string },
  event: string,
  attempt: number,
  requestPayload: string,
  now: number,
): LogTable {
  return {
    id: ids.logId,
    webhook_id: ids.webhookId,
    delivery_id: ids.deliveryId,
    event,
    attempt,
    status: "pending",
    http_status: null,
    request_payload: requestPayload,
    response_body: null,
    response_headers: null,
    error: null,
    duration_ms: null,
    delivered_at: null,
    created_at: now,
  };
}
