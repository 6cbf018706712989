// The delivery attempt log the API publishes: one row per attempt, newest first. The row count per
// webhook lives in webhooks.logs_total, changed in the same transactions that insert or delete rows,
// so that pagination's `total` is one index lookup instead of a count over a million rows (kept by
// queue/webhook-counters.ts). Retention's purge is in queue/purge.ts.
import { sql } from "kysely";
import type { Database } from "./db.js";
import { inTransaction } from "./db.js";
import { fromNullableJsonText, toJsonText } from "./dialect.js";
import { newId } from "./ids.js";
import { prepare } from "./prepared.js";
import { addToLogTotals } from "./queue/webhook-counters.js";
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
 * counter. Filtered: logs_by_webhook_status or logs_by_webhook_event (migration 0004) serve the page and
 * an exact COUNT over the same index range, whose cost grows with the rows that match (see the spec).
 */
export async function listLogs<Row = Log>(
  database: Database,
  webhookId: string,
  { page, perPage }: Page,
  filter: LogFilter = {},
  /** How a stored row is handed out (the API's page writer takes them as stored: present.ts). */
  map: (row: LogTable) => Row = toLog as (row: LogTable) => Row,
): Promise<{ rows: Row[]; total: number }> {
  const filtered = isFiltered(filter);
  let query = database.db.selectFrom("logs").where("webhook_id", "=", webhookId);
  if (filter.status !== undefined) {
    // With an event too, logs_by_webhook_event answers both from the index (status is its last column).
    // SQLite's planner, without statistics, may take logs_by_webhook_status and read the table for the
    // event of every row; `+status` (SQLite's idiom) keeps the status term off the index choice.
    const byEvent = filter.event !== undefined && database.dialect === "sqlite";
    query = query.where(byEvent ? sql<string>`+status` : "status", "=", filter.status);
  }
  if (filter.event !== undefined) query = query.where("event", "=", filter.event);
  if (filter.since !== undefined) query = query.where("created_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("created_at", "<", filter.until);
  const total = filtered
    ? Number((await query.select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirstOrThrow()).n)
    : await countLogs(database, webhookId);
  const offset = (page - 1) * perPage;
  if (offset >= total) return { rows: [], total }; // past the last page: no scan
  const rows = filtered
    ? await query.selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(perPage).offset(offset).execute()
    : (await pageOfAll(database, { webhookId, perPage, offset })).rows;
  return { rows: rows.map(map), total };
}

/** The unfiltered page, the one every listing asks first: compiled once (prepared.ts). */
const pageOfAll = prepare((db, v: { webhookId: string; perPage: number; offset: number }) =>
  db.selectFrom("logs").selectAll().where("webhook_id", "=", v.webhookId).orderBy("created_at", "desc").orderBy("id", "desc").limit(v.perPage).offset(v.offset),
);

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
    await addToLogTotals(tx, new Map([[input.webhookId, 1]]));
  });
  return toLog(row);
}
