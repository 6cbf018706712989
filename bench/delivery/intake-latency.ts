// 4. Intake → receiver latency: our server (SQLite, production mode, the worker in the same process) takes
// POST /internal/v1/agents/{a}/events at a fixed rate from the load process; each event's data carries its
// send time, and the receiver (its own process) records arrival − send. One second of the same load first,
// untimed, warms the path.
//
//   node --conditions=talkover-source --import tsx bench/delivery/intake-latency.ts [--rate 1000] [--seconds 10]   → RESULT {…}
import type { ServerReady } from "../api/server.js";
import { CALL_ENDED_DATA } from "../lib/fixtures.js";
import { announceResult, cleanupAll, cpuTimeMs, envFlags, isMain, parseArgs, runTs, sleep, spawnTs } from "../lib/proc.js";
import type { LatencySummary } from "../lib/stats.js";
import type { LoadResult, LoadSpec } from "../load.js";
import { receiverStats, resetReceiver } from "../receiver.js";

export interface IntakeOptions {
  ratePerSec: number;
  durationMs: number;
  log?: (line: string) => void;
}

export interface IntakeResult {
  ratePerSec: number;
  seconds: number;
  sent: number;
  delivered: number;
  /** Send time (in the load process) → arrival at the receiver. */
  endToEndMs: LatencySummary;
  /** The intake call alone: POST → 202, seen by the load process. */
  intakeResponseMs: LatencySummary;
  /** How far the generator fell behind its schedule at worst (timer granularity, CPU contention). */
  generatorLateMsMax: number;
  /**
   * The server process's CPU time (user + system) over the timed run until its last delivery arrived, per
   * event: intake, send and outcome together. Less sensitive than the latencies to other work on a shared machine.
   */
  serverCpuUsPerEvent?: number;
  /** Closed loop, 50 connections, 3 s: the most events/s the intake takes while its worker delivers them. */
  intakeCapacityPerSec: number;
  /**
   * When the capacity is under 1.2 × the target rate, the same measure at half the capacity (5 s): the path's
   * own latency without the queueing of an overloaded intake.
   */
  belowCapacity?: { ratePerSec: number; sent: number; endToEndMs: LatencySummary; intakeResponseMs: LatencySummary };
}

export async function runIntakeLatency(options: IntakeOptions): Promise<IntakeResult> {
  const log = options.log ?? (() => {});
  const receiver = await spawnTs<{ url: string }>("receiver.ts", { args: ["--latency"] });
  try {
    const server = await spawnTs<ServerReady>("api/server.ts", {
      args: ["--webhook-url", `${receiver.ready.url}/hook`],
      nodeFlags: envFlags("BENCH_SERVER_NODE_FLAGS"),
    });
    try {
      const ready = server.ready;
      const spec = (durationMs: number): LoadSpec => ({
        mode: "rate",
        url: ready.url,
        path: `/internal/v1/agents/${ready.agentId}/events`,
        method: "POST",
        headers: { authorization: `Bearer ${ready.serviceToken}` },
        expectStatus: 202,
        ratePerSec: options.ratePerSec,
        durationMs,
        event: { event: "event_phone_call_ended", data: CALL_ENDED_DATA },
      });
      const drained = async (expected: number) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const stats = await receiverStats(receiver.ready.url);
          if (stats.count >= expected) return stats;
          if (Date.now() > deadline) throw new Error(`receiver got ${stats.count} of ${expected} deliveries within 60 s`);
          await sleep(100);
        }
      };

      // How much the intake takes at most (worker delivering in the same process), for reading the latency.
      const base = spec(0) as LoadSpec & { mode: "rate" };
      const capacity = await runTs<LoadResult>("load.ts", {
        args: [JSON.stringify({ ...base, mode: "throughput", body: JSON.stringify(base.event), connections: 50, durationMs: 3_000, warmupMs: 300 })],
      });
      if (capacity.errors > 0) throw new Error(`intake: ${capacity.errors} unexpected answers, e.g. ${capacity.firstError}`);
      log(`intake capacity (closed loop, 50 connections): ${capacity.rps} events/s`);
      await drained(capacity.completed);
      await resetReceiver(receiver.ready.url);

      const warm = await runTs<LoadResult & { sent: number }>("load.ts", { args: [JSON.stringify(spec(1_000))] });
      await drained(warm.sent);
      await resetReceiver(receiver.ready.url);

      let belowCapacity: IntakeResult["belowCapacity"];
      if (capacity.rps < options.ratePerSec * 1.2) {
        const rate = Math.max(10, Math.floor(capacity.rps / 2 / 10) * 10);
        const low = await runTs<LoadResult & { sent: number }>("load.ts", { args: [JSON.stringify({ ...spec(5_000), ratePerSec: rate })] });
        const lowStats = await drained(low.sent);
        belowCapacity = { ratePerSec: rate, sent: low.sent, endToEndMs: lowStats.latencyMs!, intakeResponseMs: low.latencyMs };
        log(`at ${rate} events/s (half the capacity): intake → receiver p50 ${lowStats.latencyMs!.p50} ms, p99 ${lowStats.latencyMs!.p99} ms`);
        await resetReceiver(receiver.ready.url);
      }

      const cpuBefore = cpuTimeMs(server.pid);
      const r = await runTs<LoadResult & { sent: number; lateMsMax: number }>("load.ts", { args: [JSON.stringify(spec(options.durationMs))] });
      if (r.errors > 0) throw new Error(`intake: ${r.errors} unexpected answers, e.g. ${r.firstError}`);
      const stats = await drained(r.sent);
      const cpuAfter = cpuTimeMs(server.pid);
      // drained() polls every 100 ms: up to that much idle time is counted, which costs next to no CPU.
      const serverCpuUsPerEvent =
        cpuBefore === undefined || cpuAfter === undefined ? undefined : Math.round(((cpuAfter - cpuBefore) * 1000) / r.sent);
      const result: IntakeResult = {
        ratePerSec: options.ratePerSec,
        seconds: options.durationMs / 1000,
        sent: r.sent,
        delivered: stats.count,
        endToEndMs: stats.latencyMs!,
        intakeResponseMs: r.latencyMs,
        generatorLateMsMax: r.lateMsMax,
        intakeCapacityPerSec: capacity.rps,
        ...(serverCpuUsPerEvent === undefined ? {} : { serverCpuUsPerEvent }),
        ...(belowCapacity ? { belowCapacity } : {}),
      };
      log(
        `${r.sent} events at ${options.ratePerSec}/s: intake → receiver p50 ${result.endToEndMs.p50} ms, p99 ${result.endToEndMs.p99} ms, max ${result.endToEndMs.max} ms` +
          ` (intake answer p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms); server CPU ${serverCpuUsPerEvent ?? "?"} µs per event`,
      );
      return result;
    } finally {
      await server.stop();
    }
  } finally {
    await receiver.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  try {
    const result = await runIntakeLatency({
      ratePerSec: Number(args.rate ?? 1000),
      durationMs: Number(args.seconds ?? 10) * 1000,
      log: (l) => console.error(l),
    });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
