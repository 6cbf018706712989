// The webhooks' counters, kept by the queue operations that change what they count: logs_total (the row
// count that pagination's `total` reads in one lookup) and, in record-attempts, consecutive_failures. The
// filtered counts (log_counts) are written right after, under the same locks: log-counts.ts.
//
// Locks on PostgreSQL: the webhook rows are hot (every batch bumps their counters), so writers lock them
// last, in id order, just before commit: deliveries → logs → webhooks.
import { executeWithValues } from "../bulk.js";
import type { Database } from "../db.js";
import { forNoKeyUpdate } from "../dialect.js";
import { idIn, named } from "../named-statements.js";

/**
 * Takes the webhooks' row locks in id order (PostgreSQL only) so that two transactions touching the same
 * webhooks cannot deadlock on them, whatever order their later UPDATEs visit the rows in.
 */
export async function lockWebhooksInOrder(tx: Database, webhookIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(webhookIds)].sort();
  // One row cannot be locked in two orders: the UPDATE that follows takes its lock.
  if (tx.dialect !== "postgres" || ids.length < 2) return;
  await tx.db.executeQuery(named(tx, forNoKeyUpdate(tx, tx.db.selectFrom("webhooks").select("id").where(idIn(tx, "id", ids)).orderBy("id")).compile()));
}

/** Adds per-webhook deltas to logs_total. Call inside the transaction that inserts or deletes the rows. */
export async function addToLogTotals(tx: Database, deltas: ReadonlyMap<string, number>): Promise<void> {
  const rows = [...deltas].filter(([, delta]) => delta !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (rows.length === 0) return;
  await lockWebhooksInOrder(tx, rows.map(([id]) => id));
  await executeWithValues(
    tx,
    { name: "d", columns: [["webhook_id", "text"], ["delta", "integer"]], rows },
    "UPDATE webhooks SET logs_total = webhooks.logs_total + d.delta FROM d WHERE webhooks.id = d.webhook_id",
  );
}
