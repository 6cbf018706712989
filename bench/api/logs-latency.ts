// 2. The logs listing at 1 M attempts: one webhook's log filled with N rows straight into SQLite (one
// transaction, one prepared statement), then GET …/logs?per_page=25 page 1 (sequential requests, p50/p99),
// page 1000, and (for the record) the last page, against our server in production mode. Also the query plan
// and the bare SQL time of page 1, to tell the database's share from the HTTP stack's.
//
//   node --conditions=talkover-source --import tsx bench/api/logs-latency.ts [--rows 1000000] [--requests 500]   → RESULT {…}
import BetterSqlite3 from "better-sqlite3";
import { announceResult, cleanupAll, isMain, parseArgs, runTs, spawnTs } from "../lib/proc.js";
import { round, summarize, type LatencySummary } from "../lib/stats.js";
import type { LoadResult, LoadSpec } from "../load.js";
import type { ServerReady } from "./server.js";

export interface LogsLatencyOptions {
  rows: number;
  /** Sequential requests timed for page 1 (page 1000 gets a fifth of them, the last page a few). */
  requests: number;
  log?: (line: string) => void;
}

export interface PageFigure {
  page: number;
  requests: number;
  latencyMs: LatencySummary;
}

export interface LogsLatencyResult {
  rows: number;
  fillSeconds: number;
  dbMegabytes: number;
  pages: PageFigure[];
  /** EXPLAIN QUERY PLAN of the listing's SELECT. */
  queryPlan: string[];
  /** The listing's two statements run directly on the file (no HTTP, no Kysely), page 1. */
  sqlOnlyMs: { countP50: number; page1P50: number; page1P99: number };
}

const LISTING_SQL = `select * from "logs" where "webhook_id" = ? order by "created_at" desc, "id" desc limit ? offset ?`;
const COUNT_SQL = `select "logs_total" from "webhooks" where "id" = ?`;

export async function runLogsLatency(options: LogsLatencyOptions): Promise<LogsLatencyResult> {
  const log = options.log ?? (() => {});
  const server = await spawnTs<ServerReady>("api/server.ts", { args: ["--fill-logs", String(options.rows)], readyTimeoutMs: 600_000 });
  try {
    const ready = server.ready;
    log(`filled ${options.rows.toLocaleString("en")} log rows in ${ready.fill!.seconds} s`);
    const perPage = 25;
    const lastPage = Math.ceil(options.rows / perPage);
    const pageSpec = (page: number, count: number, warmup: number): LoadSpec => ({
      mode: "sequential",
      url: ready.url,
      path: `/api/v1/agents/${ready.agentId}/webhooks/${ready.webhookId}/logs?per_page=${perPage}&page=${page}`,
      headers: { authorization: `Bearer ${ready.token}` },
      expectStatus: 200,
      count,
      warmup,
    });
    const pages: PageFigure[] = [];
    for (const [page, count, warmup] of [
      [1, options.requests, 50],
      [1000, Math.max(20, Math.round(options.requests / 5)), 10],
      [lastPage, 10, 1],
    ] as const) {
      const r = await runTs<LoadResult>("load.ts", { args: [JSON.stringify(pageSpec(page, count, warmup))] });
      if (r.errors > 0) throw new Error(`logs page ${page}: ${r.errors} unexpected answers, e.g. ${r.firstError}`);
      pages.push({ page, requests: r.requests, latencyMs: r.latencyMs });
      log(`page ${String(page).padStart(6)}: p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  (${r.requests} sequential requests)`);
    }

    // The database's share, on the same file (read-only, while the server is idle).
    const db = new BetterSqlite3(ready.db, { readonly: true });
    try {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${LISTING_SQL}`).all(ready.webhookId, perPage, 0) as Array<{ detail: string }>;
      const listing = db.prepare(LISTING_SQL);
      const count = db.prepare(COUNT_SQL);
      const time = (fn: () => unknown, n: number) => {
        const samples: number[] = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          fn();
          samples.push(performance.now() - t0);
        }
        return summarize(samples);
      };
      time(() => listing.all(ready.webhookId, perPage, 0), 20);
      const page1 = time(() => listing.all(ready.webhookId, perPage, 0), 200);
      const counts = time(() => count.get(ready.webhookId), 200);
      const { page_count, page_size } = {
        page_count: db.pragma("page_count", { simple: true }) as number,
        page_size: db.pragma("page_size", { simple: true }) as number,
      };
      return {
        rows: options.rows,
        fillSeconds: ready.fill!.seconds,
        dbMegabytes: round((page_count * page_size) / 1e6, 1),
        pages,
        queryPlan: plan.map((p) => p.detail),
        sqlOnlyMs: { countP50: counts.p50, page1P50: page1.p50, page1P99: page1.p99 },
      };
    } finally {
      db.close();
    }
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  try {
    const result = await runLogsLatency({
      rows: Number(args.rows ?? 1_000_000),
      requests: Number(args.requests ?? 500),
      log: (l) => console.error(l),
    });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
