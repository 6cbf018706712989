// log_counts (migration 0007), kept in code like logs_total: every writer that inserts, deletes or changes the
// status of log rows collects what it changed in a LogCountDeltas (from the rows its own statement returned,
// so the counts follow what was written, never what was meant to be) and writes them with the same
// transaction, in ONE upsert of grouped deltas, in key order (log-buckets.ts has the levels).
//
// Locks on PostgreSQL: the upsert locks count rows of the webhooks it touches. It runs while the transaction
// holds those webhooks' row locks (taken in id order by the logs_total update, or by the disable/delete
// that cancels), as its last statement; so two writers of one webhook's counts are already serialized by the
// webhook row and cannot deadlock on count rows. The claim's rare cancellation (claim.ts) is the one
// writer without the webhook lock: it must not take it (a disable holding the webhook waits on the claimed
// deliveries), and its upsert, last and in key order, waits on nothing that could wait on it. No triggers:
// row triggers would lock count rows mid-statement, in row order.
import { executeWithValues } from "../bulk.js";
import type { Database } from "../db.js";
import { LEVEL_ALL, LEVEL_WIDTHS, MINUTE, floorTo } from "../log-buckets.js";
import type { LogStatus } from "../schema.js";
import { addToLogTotals } from "./webhook-counters.js";

/** What a log row is counted by: the columns a writer's statement returns. */
export interface CountedLogRow {
  webhook_id: string;
  event: string;
  created_at: number | string;
}

const SEP = "\u0000";

const UPSERT =
  "INSERT INTO log_counts (webhook_id, level, bucket, status, event, n) SELECT webhook_id, level, bucket, status, event, n FROM d " +
  // WHERE true: SQLite's parser needs it before ON CONFLICT when the rows come from a SELECT.
  "WHERE true ON CONFLICT (webhook_id, level, bucket, status, event) DO UPDATE SET n = log_counts.n + excluded.n";

const DROP_EMPTY =
  "DELETE FROM log_counts WHERE n = 0 AND (webhook_id, level, bucket) IN (SELECT webhook_id, level, bucket FROM z)";

/** Row-count changes by (webhook, status, event, minute); expanded to every level when written. */
export class LogCountDeltas {
  private readonly byMinute = new Map<string, number>();

  /** `n` rows inserted (n > 0) or deleted (n < 0) with this status. */
  add(row: CountedLogRow, status: LogStatus, n = 1): void {
    const minute = floorTo(Number(row.created_at), MINUTE);
    const key = row.webhook_id + SEP + status + SEP + row.event + SEP + minute;
    this.byMinute.set(key, (this.byMinute.get(key) ?? 0) + n);
  }

  /** A row's status changed. */
  move(row: CountedLogRow, from: LogStatus, to: LogStatus): void {
    if (from === to) return;
    this.add(row, from, -1);
    this.add(row, to, 1);
  }

  /** Per webhook, rows inserted minus rows deleted: logs_total's deltas. */
  totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const [key, n] of this.byMinute) {
      const webhookId = key.slice(0, key.indexOf(SEP));
      totals.set(webhookId, (totals.get(webhookId) ?? 0) + n);
    }
    return totals;
  }

  /** The count rows' deltas at every level, without zeros, in key order (webhook, level, bucket, status, event). */
  rows(): Array<[webhookId: string, level: number, bucket: number, status: string, event: string, n: number]> {
    const cells = new Map<string, number>();
    const bump = (key: string, n: number) => cells.set(key, (cells.get(key) ?? 0) + n);
    for (const [key, n] of this.byMinute) {
      if (n === 0) continue;
      const [webhookId, status, event, minute] = key.split(SEP) as [string, string, string, string];
      const t = Number(minute);
      bump([webhookId, LEVEL_ALL, 0, status, event].join(SEP), n);
      for (const [level, width] of LEVEL_WIDTHS) bump([webhookId, level, floorTo(t, width), status, event].join(SEP), n);
    }
    const rows: Array<[string, number, number, string, string, number]> = [];
    for (const [key, n] of cells) {
      if (n === 0) continue;
      const [webhookId, level, bucket, status, event] = key.split(SEP) as [string, string, string, string, string];
      rows.push([webhookId, Number(level), Number(bucket), status, event, n]);
    }
    return rows.sort(compareKeys);
  }
}

function compareKeys(a: readonly [string, number, number, string, string, number], b: readonly [string, number, number, string, string, number]): number {
  for (let i = 0; i < 5; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Writes the deltas to log_counts in one statement. Call last in the transaction that changed the rows, with
 * the webhooks' rows locked (see the header). `dropEmpty` (retention): then deletes the count rows of the
 * touched buckets that reached zero, so that purged history leaves no rows behind.
 */
export async function writeLogCounts(tx: Database, deltas: LogCountDeltas, options: { dropEmpty?: boolean } = {}): Promise<void> {
  const rows = deltas.rows();
  if (rows.length === 0) return;
  await executeWithValues(
    tx,
    {
      name: "d",
      columns: [
        ["webhook_id", "text"],
        ["level", "integer"],
        ["bucket", "bigint"],
        ["status", "text"],
        ["event", "text"],
        ["n", "bigint"],
      ],
      rows,
    },
    UPSERT,
  );
  if (!options.dropEmpty) return;
  const touched = new Map<string, [string, number, number]>();
  for (const [webhookId, level, bucket] of rows) touched.set(webhookId + SEP + level + SEP + bucket, [webhookId, level, bucket]);
  await executeWithValues(
    tx,
    {
      name: "z",
      columns: [
        ["webhook_id", "text"],
        ["level", "integer"],
        ["bucket", "bigint"],
      ],
      rows: [...touched.values()],
    },
    DROP_EMPTY,
  );
}

/**
 * logs_total and log_counts for rows inserted or deleted (and status changes), in that order: the logs_total
 * update takes the webhook rows' locks in id order, then the count rows are written under them.
 */
export async function recordLogChanges(tx: Database, deltas: LogCountDeltas, options: { dropEmpty?: boolean } = {}): Promise<void> {
  await addToLogTotals(tx, deltas.totals());
  await writeLogCounts(tx, deltas, options);
}
