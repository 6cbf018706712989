// Cancel: a webhook that is disabled or deleted takes its queued deliveries with it.
import type { Database } from "../db.js";
import { forUpdate } from "../dialect.js";
import { LogCountDeltas, writeLogCounts } from "./log-counts.js";

/**
 * Cancels a webhook's queued deliveries and closes their queued log rows as failed with `reason`. Ones
 * under a lease are left to finish their attempt: recordAttempts then ends them instead of retrying.
 * Call inside the transaction that disables or deletes the webhook. Returns how many were cancelled.
 */
export async function cancelQueuedDeliveries(tx: Database, webhookId: string, reason: string, now: number): Promise<number> {
  const queued = () =>
    tx.db
      .selectFrom("deliveries")
      .where("webhook_id", "=", webhookId)
      .where("status", "=", "pending")
      .where("lease_owner", "is", null);
  // The logs go first, and on PostgreSQL the FOR UPDATE keeps claimers off these deliveries until the
  // second statement has cancelled them.
  const closed = await tx.db
    .updateTable("logs")
    .set({ status: "failed", error: reason })
    .where("id", "in", forUpdate(tx, queued().select("current_log_id")))
    .where("status", "=", "pending")
    .returning(["webhook_id", "event", "created_at"])
    .execute();
  const result = await tx.db
    .updateTable("deliveries")
    .set({ status: "cancelled", updated_at: now })
    .where("webhook_id", "=", webhookId)
    .where("status", "=", "pending")
    .where("lease_owner", "is", null)
    .executeTakeFirst();
  // The caller's transaction locked the webhook row first: the counts are written under it.
  const counts = new LogCountDeltas();
  for (const row of closed) counts.move(row, "pending", "failed");
  await writeLogCounts(tx, counts);
  return Number(result.numUpdatedRows);
}
