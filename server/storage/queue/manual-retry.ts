// Manual retry: an integrator asks for another attempt of a delivery, through one of its log rows; and its
// batch form, reopenDeliveries, which recovery (recover.ts) uses for many finished deliveries at once.
import { executeWithValues } from "../bulk.js";
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { forUpdate } from "../dialect.js";
import { newId } from "../ids.js";
import type { DeliveryStatus } from "../schema.js";
import { queueNextAttempts } from "./pending-log-row.js";
import { LogCountDeltas, recordLogChanges } from "./log-counts.js";

const REOPEN_DELIVERIES =
  "UPDATE deliveries SET status = 'pending', next_attempt_at = r.now, current_log_id = r.log_id, " +
  "lease_owner = NULL, lease_expires_at = NULL, updated_at = r.now FROM r WHERE deliveries.id = r.id";

/**
 * Re-opens finished deliveries of one webhook (locked by the caller's transaction): for each, a new pending
 * log row after its current one (attempt + 1, same event and request_payload), made its current row, and
 * the delivery pending and due now, unleased. Returns the new log row ids, in the order given.
 */
export async function reopenDeliveries(
  tx: Database,
  webhookId: string,
  deliveries: ReadonlyArray<{ id: string; currentLogId: string }>,
  now: number,
): Promise<string[]> {
  if (deliveries.length === 0) return [];
  const reopened = deliveries.map((d) => ({ ...d, logId: newId(now) }));
  const counts = new LogCountDeltas();
  await queueNextAttempts(tx, reopened.map((d) => ({ id: d.logId, previousId: d.currentLogId })), now, counts);
  await executeWithValues(
    tx,
    {
      name: "r",
      columns: [
        ["id", "text"],
        ["log_id", "text"],
        ["now", "bigint"],
      ],
      rows: reopened.map((d) => [d.id, d.logId, now]),
    },
    REOPEN_DELIVERIES,
  );
  // The webhook row last (see webhook-counters.ts), then the counts under its lock.
  await recordLogChanges(tx, counts);
  return reopened.map((d) => d.logId);
}


/** The delivery's status now (a log row's status is that attempt's), or undefined once it is purged. */
export async function getDeliveryStatus(database: Database, deliveryId: string): Promise<DeliveryStatus | undefined> {
  const row = await database.db.selectFrom("deliveries").select("status").where("id", "=", deliveryId).executeTakeFirst();
  return row?.status;
}

export type ManualRetryResult =
  | {
      queued: true;
      /** The log row of the queued attempt. */
      logId: string;
      originalLogId: string;
      queuedAt: number;
      /**
       * True when the delivery was still queued (automatic retries not yet over, or an attempt under
       * way): no row was added, an unleased delivery was just made due now, and logId is its queued row.
       */
      alreadyQueued: boolean;
    }
  | { queued: false; reason: "log_not_found" | "no_delivery" };

/**
 * Re-opens the delivery of a log row: a new pending row with attempt = (highest attempt of the
 * delivery) + 1 and the same request_payload, due now; the original row is left as it was. It is sent
 * with the webhook's configuration at claim time. Whether the log may be retried (not a success, not
 * too old, webhook enabled) is the caller's rule: findLog and findWebhook give it what it needs.
 */
export async function queueManualRetry(
  database: Database,
  input: { webhookId: string; logId: string; now?: number },
): Promise<ManualRetryResult> {
  const now = input.now ?? Date.now();
  return inTransaction(database, async (tx) => {
    const original = await tx.db
      .selectFrom("logs")
      .select(["id", "delivery_id"])
      .where("id", "=", input.logId)
      .where("webhook_id", "=", input.webhookId)
      .executeTakeFirst();
    if (original === undefined) return { queued: false, reason: "log_not_found" };
    if (original.delivery_id === null) return { queued: false, reason: "no_delivery" };
    const delivery = await forUpdate(
      tx,
      tx.db.selectFrom("deliveries").select(["id", "status", "lease_owner", "current_log_id"]).where("id", "=", original.delivery_id),
    ).executeTakeFirst();
    if (delivery === undefined) return { queued: false, reason: "no_delivery" };

    if (delivery.status === "pending") {
      if (delivery.lease_owner === null) {
        await tx.db
          .updateTable("deliveries")
          .set({ next_attempt_at: now, updated_at: now })
          .where("id", "=", delivery.id)
          .where("next_attempt_at", ">", now)
          .execute();
      }
      return { queued: true, logId: delivery.current_log_id, originalLogId: original.id, queuedAt: now, alreadyQueued: true };
    }

    // Every new attempt row becomes the delivery's current one, so the current row has the highest attempt.
    const [logId] = await reopenDeliveries(tx, input.webhookId, [{ id: delivery.id, currentLogId: delivery.current_log_id }], now);
    return { queued: true, logId: logId!, originalLogId: original.id, queuedAt: now, alreadyQueued: false };
  });
}
