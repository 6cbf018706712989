// The intake of an event that fans out to many webhooks: our server (SQLite, production mode, worker in the
// same process at concurrency 64) with one agent of N webhooks (default 1,000), all subscribed and pointed at
// the loopback receiver; events POSTed to /internal/v1/agents/{a}/events one at a time on one keep-alive
// connection, timed from the POST to the 202. Two phases, after a few untimed events:
//   quiet         the next event is sent once the receiver has had every delivery of the previous one: the
//                 intake alone (event row, N deliveries, N log rows, N webhook counters in one transaction);
//   back-to-back  (a third as many events) the next event is sent as soon as the previous is accepted: the
//                 intake while the worker drains the earlier events' deliveries in the same process.
//
//   node --conditions=talkover-source --import tsx bench/delivery/fanout-intake.ts [--webhooks 1000] [--events 30]   → RESULT {…}
import { Pool } from "undici";
import type { ServerReady } from "../api/server.js";
import { CALL_ENDED_DATA } from "../lib/fixtures.js";
import { announceResult, cleanupAll, envFlags, isMain, parseArgs, sleep, spawnTs } from "../lib/proc.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { send } from "../load.js";
import { receiverStats } from "../receiver.js";

export interface FanoutIntakeOptions {
  webhooks: number;
  /** Events timed in the quiet phase. */
  events: number;
  /** Events timed back to back (fewer: each brings N deliveries for the worker to make meanwhile). Default events / 3. */
  backToBackEvents?: number;
  log?: (line: string) => void;
}

export interface FanoutIntakeResult {
  webhooks: number;
  /** POST → 202, the worker idle (every earlier delivery made). */
  quietMs: LatencySummary;
  /** POST → 202, events back to back while the worker drains. */
  backToBackMs: LatencySummary;
  /** Deliveries/s of the back-to-back phase, first POST to the receiver's last delivery. */
  backToBackDeliveriesPerSecond: number;
}

const WARMUP_EVENTS = 3;
const STALL_MS = 30_000;

export async function runFanoutIntake(options: FanoutIntakeOptions): Promise<FanoutIntakeResult> {
  const log = options.log ?? (() => {});
  const receiver = await spawnTs<{ url: string }>("receiver.ts");
  try {
    const server = await spawnTs<ServerReady>("api/server.ts", {
      nodeFlags: envFlags("BENCH_SERVER_NODE_FLAGS"),
      args: ["--webhook-url", `${receiver.ready.url}/hook`, "--webhooks", String(options.webhooks), "--concurrency", "64"],
      readyTimeoutMs: 300_000,
    });
    const pool = new Pool(server.ready.url, { connections: 1, pipelining: 1 });
    try {
      const body = JSON.stringify({ event: "event_phone_call_ended", data: CALL_ENDED_DATA });
      const request = {
        path: `/internal/v1/agents/${server.ready.agentId}/events`,
        method: "POST" as const,
        headers: { authorization: `Bearer ${server.ready.serviceToken}`, "content-type": "application/json" },
        body,
      };
      let sent = 0;
      const post = async () => {
        const t0 = performance.now();
        const answer = await send(pool, request, true);
        const ms = performance.now() - t0;
        if (answer.status !== 202) throw new Error(`intake answered ${answer.status}: ${answer.body.slice(0, 300)}`);
        const queued = (JSON.parse(answer.body) as { data?: { deliveries_queued?: number } }).data?.deliveries_queued;
        if (queued !== undefined && queued !== options.webhooks) throw new Error(`intake queued ${queued} deliveries, expected ${options.webhooks}`);
        sent++;
        return ms;
      };
      // Waits for every delivery of the events sent so far; fails only when the receiver stops getting any
      // for STALL_MS (a busy machine makes the drain slow, not wrong).
      const drained = async () => {
        const expected = sent * options.webhooks;
        let count = -1;
        let progressAt = Date.now();
        for (;;) {
          const stats = await receiverStats(receiver.ready.url);
          if (stats.count >= expected) return stats;
          if (stats.count > count) [count, progressAt] = [stats.count, Date.now()];
          else if (Date.now() - progressAt > STALL_MS) throw new Error(`receiver stuck at ${stats.count} of ${expected} deliveries for ${STALL_MS / 1000} s`);
          await sleep(10);
        }
      };

      for (let i = 0; i < WARMUP_EVENTS; i++) {
        await post();
        await drained();
      }
      const quiet: number[] = [];
      for (let i = 0; i < options.events; i++) {
        quiet.push(await post());
        await drained();
      }
      const quietMs = summarize(quiet);
      log(`${options.webhooks} webhooks, quiet: intake p50 ${quietMs.p50} ms, p90 ${quietMs.p90} ms, max ${quietMs.max} ms (${options.events} events)`);

      const before = (await receiverStats(receiver.ready.url)).count;
      const started = Date.now();
      const busy: number[] = [];
      for (let i = 0; i < (options.backToBackEvents ?? Math.ceil(options.events / 3)); i++) busy.push(await post());
      const stats = await drained();
      const backToBackMs = summarize(busy);
      const backToBackDeliveriesPerSecond = Math.round((stats.count - before) / ((stats.lastAt! - started) / 1000));
      log(
        `${options.webhooks} webhooks, back to back: intake p50 ${backToBackMs.p50} ms, p90 ${backToBackMs.p90} ms, max ${backToBackMs.max} ms; ` +
          `${backToBackDeliveriesPerSecond} deliveries/s`,
      );
      return { webhooks: options.webhooks, quietMs, backToBackMs, backToBackDeliveriesPerSecond };
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
    const result = await runFanoutIntake({ webhooks: Number(args.webhooks ?? 1000), events: Number(args.events ?? 30), log: (l) => console.error(l) });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
