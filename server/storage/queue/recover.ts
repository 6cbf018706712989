// Recovery: a webhook's failed deliveries of a time range are queued again, as manual retries are
// (reopenDeliveries), once the receiver is back. There may be 100,000 of them, so they go in batches: each
// batch is one short transaction that walks the deliveries_recoverable index (migration 0006) from where the
// previous one stopped, and the caller yields between batches, so the worker and the API keep their turns.
import { sql } from "kysely";
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { forUpdate } from "../dialect.js";
import { firstIdAt } from "../ids.js";
import { RECOVERABLE_STATUSES } from "../migrations.js";
import { reopenDeliveries } from "./manual-retry.js";

/**
 * What is recovered: the webhook's deliveries created in [sinceMs, untilMs) whose last attempt failed
 * (retries over, or cancelled by a disable) and that were already so at `asOf`, the time the recovery
 * was asked for: one that fails later, or was retried by hand and failed again since, is not included.
 */
export interface RecoveryRange {
  webhookId: string;
  sinceMs: number;
  untilMs: number;
  asOf: number;
}

/** The deliveries of the range, as a query to count or to walk. Ids are UUIDv7: the id range is the time range. */
function recoverable(database: Database, range: RecoveryRange, afterId?: string) {
  return database.db
    .selectFrom("deliveries")
    .where("webhook_id", "=", range.webhookId)
    .where(RECOVERABLE_STATUSES) // the index's predicate, written the same way so that SQLite uses it
    .where("id", afterId === undefined ? ">=" : ">", afterId ?? firstIdAt(range.sinceMs))
    .where("id", "<", firstIdAt(range.untilMs))
    .where("created_at", ">=", range.sinceMs)
    .where("created_at", "<", range.untilMs)
    .where("updated_at", "<=", range.asOf);
}

/** How many deliveries the recovery of `range` will queue, as of now. */
export async function countRecoverable(database: Database, range: RecoveryRange): Promise<number> {
  const row = await recoverable(database, range).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface RecoveryBatch {
  /** Deliveries queued again by this batch. */
  queued: number;
  /** Where the next batch starts (exclusive); undefined when this one found none. */
  lastId: string | undefined;
  /** False once the range is exhausted, or the webhook was disabled or deleted: stop. */
  more: boolean;
}

/**
 * Queues again, in one transaction, at most `batchSize` deliveries of the range after `afterId`, in id
 * order. On PostgreSQL they are locked first (deliveries → logs → webhooks, as every queue writer does).
 * The webhook is checked after its row is locked by the logs_total update: if it was disabled or deleted
 * meanwhile the batch is rolled back and `more` is false, so no delivery is queued for a disabled webhook.
 */
export async function queueRecoveryBatch(
  database: Database,
  range: RecoveryRange,
  options: { afterId?: string; batchSize: number; now?: number },
): Promise<RecoveryBatch> {
  const now = options.now ?? Date.now();
  try {
    return await inTransaction(database, async (tx) => {
      const batch = await forUpdate(
        tx,
        recoverable(tx, range, options.afterId).select(["id", "current_log_id"]).orderBy("id").limit(options.batchSize),
      ).execute();
      if (batch.length === 0) return { queued: 0, lastId: undefined, more: false };
      await reopenDeliveries(tx, range.webhookId, batch.map((d) => ({ id: d.id, currentLogId: d.current_log_id })), now);
      const webhook = await tx.db.selectFrom("webhooks").select(["enabled", "deleted_at"]).where("id", "=", range.webhookId).executeTakeFirst();
      if (webhook === undefined || !webhook.enabled || webhook.deleted_at !== null) throw new WebhookGone();
      return { queued: batch.length, lastId: batch.at(-1)!.id, more: batch.length === options.batchSize };
    });
  } catch (error) {
    if (error instanceof WebhookGone) return { queued: 0, lastId: options.afterId, more: false };
    throw error;
  }
}

/** Rolls a batch back: its webhook is no longer enabled. */
class WebhookGone extends Error {}
