// The log row of an attempt not yet made: written by the intake (attempt 1), and as the next attempt of a
// delivery (copied from its previous row) by the worker's retries, a manual retry and a recovery.
import { executeWithValues } from "../bulk.js";
import type { Database } from "../db.js";
import type { LogTable } from "../schema.js";
import type { CountedLogRow, LogCountDeltas } from "./log-counts.js";

const QUEUE_NEXT_ATTEMPTS =
  "INSERT INTO logs (id, webhook_id, delivery_id, event, attempt, status, request_payload, created_at) " +
  "SELECT n.id, p.webhook_id, p.delivery_id, p.event, p.attempt + 1, 'pending', p.request_payload, n.created_at " +
  "FROM n JOIN logs p ON p.id = n.previous_id RETURNING webhook_id, event, created_at";

/**
 * Inserts, for each (id, previousId), the pending row `id` of the attempt after `previousId`: same webhook,
 * delivery, event and request_payload, `attempt` + 1. One statement; the payloads never leave the database.
 * The rows inserted are added to `counts` (the caller writes them, with logs_total).
 */
export async function queueNextAttempts(
  tx: Database,
  rows: ReadonlyArray<{ id: string; previousId: string }>,
  now: number,
  counts: LogCountDeltas,
): Promise<void> {
  if (rows.length === 0) return;
  const inserted = await executeWithValues(
    tx,
    {
      name: "n",
      columns: [
        ["id", "text"],
        ["previous_id", "text"],
        ["created_at", "bigint"],
      ],
      rows: rows.map((r) => [r.id, r.previousId, now]),
    },
    QUEUE_NEXT_ATTEMPTS,
  );
  for (const row of inserted.rows as CountedLogRow[]) counts.add(row, "pending");
}

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
