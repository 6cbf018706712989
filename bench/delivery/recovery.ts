// 9. Recovering 100,000 failed deliveries under API load: our server (SQLite, production mode, worker in the
// same process at concurrency 64) whose webhook has N failed deliveries (bench/api/fill-logs.ts), pointed at
// the loopback receiver. One client makes API calls back to back on one keep-alive connection, a logs page
// (GET …/logs?per_page=25) and a small write (PUT …/webhooks/{id} with a new name) in turn: first for a
// while with the worker idle (the baseline), then from POST …/recover (every failed delivery of the range)
// until the receiver has had all N. openapi.yaml promises that the recovery "never holds up the API or the
// worker": the figures are the calls' latency during the recovery ÷ the baseline's, and the recovery's own
// pace (deliveries/s, recover's 202 → the receiver's last delivery).
//
//   node --conditions=talkover-source --import tsx bench/delivery/recovery.ts [--deliveries 100000] [--baseline-seconds 5]   → RESULT {…}
import { Pool } from "undici";
import type { ServerReady } from "../api/server.js";
import { announceResult, cleanupAll, envFlags, isMain, parseArgs, spawnTs } from "../lib/proc.js";
import { round, summarize, wallClockMs, type LatencySummary } from "../lib/stats.js";
import { send } from "../load.js";
import { receiverStats } from "../receiver.js";

export interface RecoveryOptions {
  deliveries: number;
  baselineMs: number;
  log?: (line: string) => void;
}

export interface RecoveryResult {
  deliveries: number;
  /** POST …/recover → 202. */
  recoverAnswerMs: number;
  /** 202 → the receiver's last delivery. */
  seconds: number;
  perSecond: number;
  logsPageMs: { baseline: LatencySummary; during: LatencySummary };
  updateMs: { baseline: LatencySummary; during: LatencySummary };
  /** p99 during the recovery ÷ p99 at baseline, logs page and update. */
  p99Ratio: { logsPage: number; update: number };
}

const DEADLINE_MS = 600_000;

export async function runRecovery(options: RecoveryOptions): Promise<RecoveryResult> {
  const log = options.log ?? (() => {});
  const receiver = await spawnTs<{ url: string }>("receiver.ts");
  try {
    const server = await spawnTs<ServerReady>("api/server.ts", {
      nodeFlags: envFlags("BENCH_SERVER_NODE_FLAGS"),
      args: ["--webhook-url", `${receiver.ready.url}/hook`, "--failed-deliveries", String(options.deliveries), "--concurrency", "64"],
      readyTimeoutMs: 300_000,
    });
    log(`${options.deliveries.toLocaleString("en")} failed deliveries filled in ${server.ready.fill?.seconds} s (setup, not timed)`);
    const pool = new Pool(server.ready.url, { connections: 1, pipelining: 1 });
    try {
      const webhookPath = `/api/v1/agents/${server.ready.agentId}/webhooks/${server.ready.webhookId}`;
      const headers = { authorization: `Bearer ${server.ready.token}`, "content-type": "application/json" };
      let n = 0;
      const call = async (into: { logs: number[]; update: number[] }) => {
        const update = n++ % 2 === 1;
        const started = performance.now();
        const answer = update
          ? await send(pool, { path: webhookPath, method: "PUT", headers, body: JSON.stringify({ name: `Bench receiver ${n}` }) }, false)
          : await send(pool, { path: `${webhookPath}/logs?per_page=25`, method: "GET", headers }, false);
        if (answer.status !== 200) throw new Error(`${update ? "PUT" : "GET logs"} answered ${answer.status}: ${answer.body}`);
        (update ? into.update : into.logs).push(performance.now() - started);
      };

      const baseline = { logs: [] as number[], update: [] as number[] };
      const baselineEnd = performance.now() + options.baselineMs;
      while (performance.now() < baselineEnd) await call(baseline);

      // The whole log is in the range: since = one minute before the fill's first row.
      const since = new Date(Date.now() - options.deliveries * 250 - 60_000).toISOString();
      const recoverStarted = performance.now();
      const answer = await send(pool, { path: `${webhookPath}/recover`, method: "POST", headers, body: JSON.stringify({ since }) }, true);
      const answered = performance.now();
      const answeredAt = wallClockMs();
      if (answer.status !== 202) throw new Error(`recover answered ${answer.status}: ${answer.body}`);
      const queued = (JSON.parse(answer.body) as { data?: { deliveries_queued?: number } }).data?.deliveries_queued;
      if (queued !== options.deliveries) throw new Error(`recover queued ${queued}, expected ${options.deliveries}`);

      const during = { logs: [] as number[], update: [] as number[] };
      let received = 0;
      while (received < options.deliveries) {
        if (performance.now() - answered > DEADLINE_MS) throw new Error(`only ${received} of ${options.deliveries} recovered deliveries arrived`);
        await call(during);
        if (n % 20 === 0) received = (await receiverStats(receiver.ready.url)).count;
      }
      const receiverEnd = await receiverStats(receiver.ready.url);
      const seconds = (receiverEnd.lastAt! - answeredAt) / 1000;
      const logsPageMs = { baseline: summarize(baseline.logs), during: summarize(during.logs) };
      const updateMs = { baseline: summarize(baseline.update), during: summarize(during.update) };
      const result: RecoveryResult = {
        deliveries: options.deliveries,
        recoverAnswerMs: round(answered - recoverStarted),
        seconds: round(seconds),
        perSecond: round(options.deliveries / seconds, 0),
        logsPageMs,
        updateMs,
        p99Ratio: { logsPage: round(logsPageMs.during.p99 / logsPageMs.baseline.p99), update: round(updateMs.during.p99 / updateMs.baseline.p99) },
      };
      log(
        `recover → 202 in ${result.recoverAnswerMs} ms; ${options.deliveries.toLocaleString("en")} delivered in ${result.seconds} s (${result.perSecond}/s); ` +
          `logs page p50/p99 ${result.logsPageMs.baseline.p50}/${result.logsPageMs.baseline.p99} → ${result.logsPageMs.during.p50}/${result.logsPageMs.during.p99} ms, ` +
          `update ${result.updateMs.baseline.p50}/${result.updateMs.baseline.p99} → ${result.updateMs.during.p50}/${result.updateMs.during.p99} ms`,
      );
      return result;
    } finally {
      await pool.close();
      await server.stop();
    }
  } finally {
    await receiver.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  try {
    announceResult(
      await runRecovery({
        deliveries: Number(args.deliveries ?? 100_000),
        baselineMs: Number(args["baseline-seconds"] ?? 5) * 1000,
        log: (line) => console.log(line),
      }),
    );
  } finally {
    await cleanupAll();
  }
}
