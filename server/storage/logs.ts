// The delivery attempt log the API publishes: one row per attempt, newest first. The row count per
// webhook lives in webhooks.logs_total, changed in the same transactions that insert or delete rows,
// so that pagination's `total` is one index lookup instead of a count over a million rows (kept by
// queue/webhook-counters.ts). Retention's purge is in queue/purge.ts.
//
// A filtered `total` is exact too, and as cheap: log_counts (migration 0007, kept in the same transactions by
// queue/log-counts.ts) holds each webhook's rows by status and event per minute, hour, day and all time.
// A filter without since/until sums the all-time rows (at most statuses × events); a time window sums whole
// buckets (log-buckets.ts: the days inside, ≤ 46 hours and ≤ 118 minutes at its ends) and counts, in the
// log's index, only the rows of at most two minutes at its edges. One statement, so one snapshot. Bounds: the
// buckets summed grow with the window's days (30 at the default retention) and the (status, event) pairs
// present, never with the rows; the exact part with the rows of two minutes of one webhook.
import { sql } from "kysely";
import type { RawBuilder } from "kysely";
import type { Database } from "./db.js";
import { inTransaction } from "./db.js";
import { fromNullableJsonText, toJsonText } from "./dialect.js";
import { newId } from "./ids.js";
import { LEVEL_ALL, planWindow } from "./log-buckets.js";
import { prepare } from "./prepared.js";
import { LogCountDeltas, recordLogChanges } from "./queue/log-counts.js";
import type { LogStatus, LogTable } from "./schema.js";

export interface Log {
  id: string;
  webhookId: string;
  /** Null for test-endpoint rows and once retention removed the delivery. */
  deliveryId: string | null;
  event: string;
  attempt: number;
  status: LogStatus;
  httpStatus: number | null;
  /** The exact body sent to the receiver (JSON text). */
  requestPayload: string;
  responseBody: string | null;
  responseHeaders: Record<string, string> | null;
  error: string | null;
  durationMs: number | null;
  deliveredAt: number | null;
  createdAt: number;
}

export function toLog(row: LogTable): Log {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    deliveryId: row.delivery_id,
    event: row.event,
    attempt: row.attempt,
    status: row.status,
    httpStatus: row.http_status,
    requestPayload: row.request_payload,
    responseBody: row.response_body,
    responseHeaders: fromNullableJsonText<Record<string, string>>(row.response_headers),
    error: row.error,
    durationMs: row.duration_ms,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  };
}

export interface Page {
  /** 1-based. */
  page: number;
  perPage: number;
}

/** The listing's optional filters (all must hold); times are epoch ms on created_at, `since` ≤ t < `until`. */
export interface LogFilter {
  status?: LogStatus;
  event?: string;
  since?: number;
  until?: number;
}

const isFiltered = (f: LogFilter) => f.status !== undefined || f.event !== undefined || f.since !== undefined || f.until !== undefined;

/**
 * Newest first (`created_at DESC, id DESC`). Unfiltered: the logs_by_webhook index and the logs_total
 * counter. Filtered: logs_by_webhook_status or logs_by_webhook_event (migration 0004) serve the page, and
 * the total is countFilteredLogs' (log_counts, see the header).
 */
export async function listLogs<Row = Log>(
  database: Database,
  webhookId: string,
  { page, perPage }: Page,
  filter: LogFilter = {},
  /** How a stored row is handed out (the API's page writer takes them as stored: present.ts). */
  map: (row: LogTable) => Row = toLog as (row: LogTable) => Row,
): Promise<{ rows: Row[]; total: number }> {
  const offset = (page - 1) * perPage;
  if (!isFiltered(filter)) {
    const { rows } = await pageOfAll(database, { webhookId, perPage, offset });
    if (rows.length === 0) return { rows: [], total: await countLogs(database, webhookId) };
    return { rows: rows.map(map), total: Number(rows[0]!.page_total) };
  }
  let query = database.db.selectFrom("logs").where("webhook_id", "=", webhookId);
  if (filter.status !== undefined) query = query.where(statusColumn(database, filter), "=", filter.status);
  if (filter.event !== undefined) query = query.where("event", "=", filter.event);
  if (filter.since !== undefined) query = query.where("created_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("created_at", "<", filter.until);
  const total = await countFilteredLogs(database, webhookId, filter);
  if (offset >= total) return { rows: [], total }; // past the last page: no scan
  const rows = await query.selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(perPage).offset(offset).execute();
  return { rows: rows.map(map), total };
}

/**
 * With an event too, logs_by_webhook_event answers both from the index (status is its last column).
 * SQLite's planner, without statistics, may take logs_by_webhook_status and read the table for the
 * event of every row; `+status` (SQLite's idiom) keeps the status term off the index choice.
 */
function statusColumn(database: Database, filter: LogFilter) {
  return filter.event !== undefined && database.dialect === "sqlite" ? sql<string>`+status` : sql<string>`status`;
}

/**
 * The rows matching a filter, exact, from log_counts and at most two minutes of the log (see the header):
 * one statement that adds up one subquery per bucket range and per edge window.
 */
export async function countFilteredLogs(database: Database, webhookId: string, filter: LogFilter): Promise<number> {
  const query = filteredCountQuery(database, webhookId, filter);
  if (query === undefined) return 0;
  const row = await query.execute(database.db);
  return Number(row.rows[0]!.n);
}

/** countFilteredLogs' statement (also for the benchmark's query plans); undefined for an empty window. */
export function filteredCountQuery(database: Database, webhookId: string, filter: LogFilter): RawBuilder<{ n: number | string }> | undefined {
  const keys: RawBuilder<unknown>[] = [];
  if (filter.status !== undefined) keys.push(sql`${statusColumn(database, filter)} = ${filter.status}`);
  if (filter.event !== undefined) keys.push(sql`event = ${filter.event}`);
  const and = (terms: RawBuilder<unknown>[]) => sql.join([sql`webhook_id = ${webhookId}`, ...terms], sql` AND `);
  const between = (column: string, from: number, to: number) => [
    ...(Number.isFinite(from) ? [sql`${sql.ref(column)} >= ${from}`] : []),
    ...(Number.isFinite(to) ? [sql`${sql.ref(column)} < ${to}`] : []),
  ];
  const sumOf = (level: number, bucketTerms: RawBuilder<unknown>[]) =>
    sql`(SELECT COALESCE(SUM(n), 0) FROM log_counts WHERE ${and([sql`level = ${level}`, ...bucketTerms, ...keys])})`;
  const parts: RawBuilder<unknown>[] = [];
  if (filter.since === undefined && filter.until === undefined) {
    parts.push(sumOf(LEVEL_ALL, [sql`bucket = 0`]));
  } else {
    const plan = planWindow(filter.since, filter.until);
    for (const b of plan.buckets) parts.push(sumOf(b.level, between("bucket", b.from, b.to)));
    for (const [from, to] of plan.edges) parts.push(sql`(SELECT count(*) FROM logs WHERE ${and([...keys, ...between("created_at", from, to)])})`);
  }
  if (parts.length === 0) return undefined;
  return sql<{ n: number | string }>`SELECT ${sql.join(parts, sql` + `)} AS n`;
}

/**
 * The unfiltered page, the one every listing asks first, with its total (logs_total, as page_total on each
 * row): one statement, so one snapshot (the total counts the rows the page was cut from), compiled once
 * (prepared.ts). The subquery does not depend on the row: both databases read it once. Past the last page
 * the offset test fails before any log row is read. An empty page carries no total: countLogs then.
 */
const pageOfAll = prepare((db, v: { webhookId: string; perPage: number; offset: number }) => {
  const total = db.selectFrom("webhooks").select("logs_total").where("id", "=", v.webhookId);
  return db
    .selectFrom("logs")
    .select(total.as("page_total"))
    .selectAll()
    .where("webhook_id", "=", v.webhookId)
    .where((eb) => eb(eb.val(v.offset), "<", total))
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(v.perPage)
    .offset(v.offset);
});

/** The webhook's stored log rows, read from its counter. */
export async function countLogs(database: Database, webhookId: string): Promise<number> {
  const row = await database.db.selectFrom("webhooks").select("logs_total").where("id", "=", webhookId).executeTakeFirst();
  return row === undefined ? 0 : Number(row.logs_total);
}

export async function findLog(database: Database, webhookId: string, logId: string): Promise<Log | undefined> {
  const row = await database.db
    .selectFrom("logs")
    .selectAll()
    .where("id", "=", logId)
    .where("webhook_id", "=", webhookId)
    .executeTakeFirst();
  return row === undefined ? undefined : toLog(row);
}

/** What an attempt got back, as its log row records it: a delivery's (record-attempts) or a test's. */
export interface AttemptResult {
  httpStatus?: number | null;
  responseBody?: string | null;
  responseHeaders?: Record<string, string> | null;
  error?: string | null;
  durationMs: number;
  deliveredAt?: number | null;
}

export interface TestLogInput extends AttemptResult {
  webhookId: string;
  /** The catalogue name for a test, e.g. "webhook.test". */
  event: string;
  requestPayload: string;
  status: "success" | "failed";
  now?: number;
}

/** Records a call of the "test" endpoint: a finished attempt with no delivery behind it. */
export async function insertTestLog(database: Database, input: TestLogInput): Promise<Log> {
  const now = input.now ?? Date.now();
  const row: LogTable = {
    id: newId(now),
    webhook_id: input.webhookId,
    delivery_id: null,
    event: input.event,
    attempt: 1,
    status: input.status,
    http_status: input.httpStatus ?? null,
    request_payload: input.requestPayload,
    response_body: input.responseBody ?? null,
    response_headers: input.responseHeaders == null ? null : toJsonText(input.responseHeaders),
    error: input.error ?? null,
    duration_ms: Math.round(input.durationMs),
    delivered_at: input.deliveredAt ?? null,
    created_at: now,
  };
  await inTransaction(database, async (tx) => {
    await tx.db.insertInto("logs").values(row).execute();
    const counts = new LogCountDeltas();
    counts.add(row, row.status);
    await recordLogChanges(tx, counts);
  });
  return toLog(row);
}
