// What the metrics scrape reads from the database (server/metrics/registry.ts): the queue's backlog and the
// webhooks by published status. Two single-row aggregate queries, the same on SQLite and PostgreSQL, so a
// scrape every 15 s costs nothing worth counting and every process on one database reports the same values.
import { sql } from "kysely";
import type { Database } from "./db.js";

export interface QueueBacklog {
  /** Pending deliveries whose next attempt is at or before `now` and that no worker holds (a lease moves next_attempt_at to its expiry). */
  due: number;
  /** The earliest next_attempt_at among them (ms), or null when none is due. */
  oldestDueAt: number | null;
}

/** One range of the `deliveries_due` partial index (status = 'pending', by next_attempt_at): the claim's own range. */
export async function queueBacklog(database: Database, now: number): Promise<QueueBacklog> {
  const row = await database.db
    .selectFrom("deliveries")
    .select([sql<number | string>`COUNT(*)`.as("due"), sql<number | string | null>`MIN(next_attempt_at)`.as("oldest")])
    .where("status", "=", "pending")
    .where("next_attempt_at", "<=", now)
    .executeTakeFirstOrThrow();
  return { due: Number(row.due), oldestDueAt: row.oldest === null ? null : Number(row.oldest) };
}

export interface WebhookStatusCounts {
  active: number;
  disabled: number;
  error: number;
}

/**
 * Live (not deleted) webhooks by their published status, derived as webhookStatus() does: disabled when
 * not enabled, else error at `errorThreshold` consecutive failures, else active.
 */
export async function webhookStatusCounts(database: Database, errorThreshold: number): Promise<WebhookStatusCounts> {
  // `enabled` is a boolean on PostgreSQL and 0/1 on SQLite: a bare `enabled` is a condition in both.
  const row = await database.db
    .selectFrom("webhooks")
    .select([
      sql<number | string>`COUNT(*) FILTER (WHERE NOT enabled)`.as("disabled"),
      sql<number | string>`COUNT(*) FILTER (WHERE enabled AND consecutive_failures >= ${errorThreshold})`.as("error"),
      sql<number | string>`COUNT(*) FILTER (WHERE enabled AND consecutive_failures < ${errorThreshold})`.as("active"),
    ])
    .where("deleted_at", "is", null)
    .executeTakeFirstOrThrow();
  return { active: Number(row.active), disabled: Number(row.disabled), error: Number(row.error) };
}
