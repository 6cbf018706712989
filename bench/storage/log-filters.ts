// Page 1 of a webhook's attempt log with the filters of issue 11 (status, event, since/until), against the
// unfiltered page 1 it must keep up with (< 5 ms p50 at 1,000,000 attempts, on SQLite). storage's listLogs is
// called directly on a file filled by fill-logs.ts with a realistic mix of statuses and events, so the figures
// are the two statements the API runs (the filtered total from log_counts and the page) without HTTP; every case runs in the
// same interleaved rounds, and each is reported as a ratio to the unfiltered p50 of this run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openDatabase, type Database } from "../../server/storage/db.js";
import { filteredCountQuery, listLogs, type LogFilter } from "../../server/storage/logs.js";
import { FILL_STEP_MS, fillLogs } from "../api/fill-logs.js";
import { createBenchWebhook } from "../lib/fixtures.js";
import { summarize, type LatencySummary } from "../lib/stats.js";

export interface LogFiltersOptions {
  rows: number;
  /** Calls per case per round, each case cut at `caseBudgetMs` per round. */
  calls: number;
  rounds: number;
  caseBudgetMs: number;
  log: (line: string) => void;
}

export interface LogFilterCase {
  name: string;
  query: string;
  /** Rows the filter matches (pagination.total). */
  total: number;
  latencyMs: LatencySummary;
  /** p50 ÷ the unfiltered p50 of the same run. */
  ratio: number;
  plan: string[];
}

export interface LogFiltersResult {
  rows: number;
  fillSeconds: number;
  cases: LogFilterCase[];
}

export const logFiltersOptions = (quick: boolean) => ({
  rows: quick ? 100_000 : 1_000_000,
  calls: quick ? 50 : 200,
  rounds: quick ? 1 : 3,
  caseBudgetMs: quick ? 1_000 : 3_000,
});

/** A deterministic mix: 90 % success, 5 % retrying, 4 % failed, 1 % pending; 70 / 20 / 9 / 1 % over four events. */
function shape(i: number): { status: string; event: string } {
  const h = Math.imul(i + 1, 2654435761) >>> 0;
  const s = h % 100;
  const e = (h >>> 8) % 100;
  return {
    status: s < 90 ? "success" : s < 95 ? "retrying" : s < 99 ? "failed" : "pending",
    event: e < 70 ? "event_phone_call_ended" : e < 90 ? "event_phone_call_started" : e < 99 ? "event_recording" : "webhook.test",
  };
}

function cases(now: number, rows: number): Array<{ name: string; filter: LogFilter }> {
  const hour = 3_600_000;
  const first = now - rows * FILL_STEP_MS;
  const middle = first + (rows * FILL_STEP_MS) / 2;
  return [
    { name: "unfiltered", filter: {} },
    { name: "status=success (90 %)", filter: { status: "success" } },
    { name: "status=failed (4 %)", filter: { status: "failed" } },
    { name: "status=pending (1 %)", filter: { status: "pending" } },
    { name: "event=event_phone_call_ended (70 %)", filter: { event: "event_phone_call_ended" } },
    { name: "event=webhook.test (1 %)", filter: { event: "webhook.test" } },
    { name: "since=1 h ago", filter: { since: now - hour } },
    { name: "until=middle (50 %)", filter: { until: middle } },
    { name: "since=first row (100 %)", filter: { since: first } },
    { name: "status=failed & event=event_phone_call_ended", filter: { status: "failed", event: "event_phone_call_ended" } },
    { name: "status=success & event=event_phone_call_ended (63 %)", filter: { status: "success", event: "event_phone_call_ended" } },
    { name: "status=failed & since/until a 1-day window", filter: { status: "failed", since: now - 25 * hour, until: now - hour } },
    { name: "all four (failed, call ended, 1-day window)", filter: { status: "failed", event: "event_phone_call_ended", since: now - 25 * hour, until: now - hour } },
  ];
}

/** SQLite's plan of the filtered total (log_counts and the window's edges) and of the page (the two statements listLogs runs). */
async function plans(database: Database, webhookId: string, filter: LogFilter): Promise<string[]> {
  const where = [sql`webhook_id = ${webhookId}`];
  if (filter.status !== undefined) where.push(sql`status = ${filter.status}`);
  if (filter.event !== undefined) where.push(sql`event = ${filter.event}`);
  if (filter.since !== undefined) where.push(sql`created_at >= ${filter.since}`);
  if (filter.until !== undefined) where.push(sql`created_at < ${filter.until}`);
  const clause = sql.join(where, sql` AND `);
  const detail = async (statement: ReturnType<typeof sql>) =>
    (await sql<{ detail: string }>`EXPLAIN QUERY PLAN ${statement}`.execute(database.db)).rows.map((r) => r.detail).join("; ");
  const page = await detail(sql`SELECT * FROM logs WHERE ${clause} ORDER BY created_at DESC, id DESC LIMIT 25`);
  if (Object.keys(filter).length === 0) return [`page: ${page}`];
  const total = filteredCountQuery(database, webhookId, filter);
  return [`total: ${total === undefined ? "(empty window)" : await detail(total)}`, `page: ${page}`];
}

const describeFilter = (f: LogFilter) =>
  Object.entries(f)
    .map(([k, v]) => `${k}=${typeof v === "number" ? new Date(v).toISOString() : v}`)
    .join("&") || "(none)";

export async function runLogFilters({ rows, calls, rounds, caseBudgetMs, log }: LogFiltersOptions): Promise<LogFiltersResult> {
  const dir = mkdtempSync(join(tmpdir(), "talkover-bench-filters-"));
  const file = join(dir, "logs.sqlite");
  try {
    let database = await openDatabase(`sqlite:${file}`);
    const webhook = await createBenchWebhook(database);
    await database.close();
    const now = Date.now();
    const fill = fillLogs(file, { ...webhook, rows, now, shape });
    log(`filled ${rows.toLocaleString("en")} rows in ${fill.seconds} s`);
    database = await openDatabase(`sqlite:${file}`);
    try {
      const list = cases(now, rows);
      const samples = list.map(() => [] as number[]);
      const totals = list.map(() => 0);
      for (const [i, c] of list.entries()) totals[i] = (await listLogs(database, webhook.webhookId, { page: 1, perPage: 25 }, c.filter)).total; // warm
      for (let round = 0; round < rounds; round++) {
        // The cases' order rotates each round, so none always runs on a cold cache after another's scan.
        for (let k = 0; k < list.length; k++) {
          const i = (k + round) % list.length;
          const started = performance.now();
          for (let n = 0; n < calls && performance.now() - started < caseBudgetMs; n++) {
            const t = performance.now();
            await listLogs(database, webhook.webhookId, { page: 1, perPage: 25 }, list[i]!.filter);
            samples[i]!.push(performance.now() - t);
          }
        }
      }
      const base = summarize(samples[0]!).p50;
      const result: LogFilterCase[] = [];
      for (const [i, c] of list.entries()) {
        const latencyMs = summarize(samples[i]!);
        const entry = { name: c.name, query: describeFilter(c.filter), total: totals[i]!, latencyMs, ratio: latencyMs.p50 / base, plan: await plans(database, webhook.webhookId, c.filter) };
        result.push(entry);
        log(`${c.name}: total ${entry.total.toLocaleString("en")}, p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms (${latencyMs.n} calls), ×${entry.ratio.toFixed(1)} unfiltered`);
      }
      return { rows, fillSeconds: fill.seconds, cases: result };
    } finally {
      await database.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
