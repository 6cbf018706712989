// Retention: what is older than the cutoff goes, in small batches, so that no purge holds a long
// transaction. Attempt logs, finished deliveries and events (their idempotency keys expire with them).
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { forUpdateSkipLocked, preferOrderedIndexScans } from "../dialect.js";
import { firstIdAt } from "../ids.js";
import type { LogStatus } from "../schema.js";
import { LogCountDeltas, recordLogChanges, type CountedLogRow } from "./log-counts.js";

export interface Purged {
  logs: number;
  deliveries: number;
  events: number;
}

/**
 * Deletes, in one transaction, at most `batchSize` each of: finished log rows created before `cutoffMs`
 * (rows of attempts still queued stay: their delivery points at them), finished deliveries created and
 * last changed before it, and events created before it. Call again until every count is below batchSize.
 *
 * Each walks its primary key (UUIDv7, in creation order) from the start up to the first id of the cutoff
 * millisecond, so no index on created_at is needed. SKIP LOCKED: two purgers share the work instead of
 * queueing behind each other. A log row may outlive its delivery for a batch or two (logs have no foreign
 * key); it can no longer be retried.
 */
export async function purgeBefore(database: Database, cutoffMs: number, batchSize: number): Promise<Purged> {
  return inTransaction(database, async (tx) => {
    await preferOrderedIndexScans(tx);
    const beforeCutoff = firstIdAt(cutoffMs);
    const finished = forUpdateSkipLocked(
      tx,
      tx.db
        .selectFrom("deliveries")
        .select("id")
        .where("id", "<", beforeCutoff)
        .where("status", "<>", "pending")
        .where("updated_at", "<", cutoffMs)
        .orderBy("id")
        .limit(batchSize),
    );
    const deliveries = await tx.db.deleteFrom("deliveries").where("id", "in", finished).executeTakeFirst();
    const oldEvents = forUpdateSkipLocked(
      tx,
      tx.db.selectFrom("events").select("id").where("id", "<", beforeCutoff).where("created_at", "<", cutoffMs).orderBy("id").limit(batchSize),
    );
    const events = await tx.db.deleteFrom("events").where("id", "in", oldEvents).executeTakeFirst();
    const oldLogs = forUpdateSkipLocked(
      tx,
      tx.db
        .selectFrom("logs")
        .select("id")
        .where("id", "<", beforeCutoff)
        .where("created_at", "<", cutoffMs)
        .where("status", "<>", "pending")
        .orderBy("id")
        .limit(batchSize),
    );
    const logs = await tx.db.deleteFrom("logs").where("id", "in", oldLogs).returning(["webhook_id", "event", "created_at", "status"]).execute();
    // The webhook rows last (see webhook-counters.ts), then the counts, dropping the buckets emptied.
    const counts = new LogCountDeltas();
    for (const row of logs as Array<CountedLogRow & { status: LogStatus }>) counts.add(row, row.status, -1);
    await recordLogChanges(tx, counts, { dropEmpty: true });
    return { logs: logs.length, deliveries: Number(deliveries.numDeletedRows), events: Number(events.numDeletedRows) };
  });
}
