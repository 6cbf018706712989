// 3. Delivery throughput: signed, logged deliveries/s to a loopback receiver (its own process), on SQLite and on
// PostgreSQL. N events are recorded through recordEvent before the worker starts, so what is timed is the
// drain of N due deliveries: claim in batches, sign, POST, record outcomes in batches. Each run is a fresh
// worker process on a fresh copy of the recorded database; concurrencies alternate within each round.
//
//   node --conditions=talkover-source --import tsx bench/delivery/drain.ts [--events 20000] [--rounds 3] [--dialects sqlite,postgres]
//        [--concurrency 64,128]   → RESULT {…}
// Diagnostics: BENCH_DRAIN_WORKER_FLAGS="--sql-stats" (statement counts and times of each run, on stderr) and
// BENCH_DRAIN_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" are handed to every worker process.
import { announceResult, cleanupAll, isMain, parseArgs, runTs, spawnTs } from "../lib/proc.js";
import { median, round } from "../lib/stats.js";
import { resetReceiver } from "../receiver.js";
import type { DrainResult } from "./drain-worker.js";
import { postgresHost, prepareFixture, sqliteHost, type Host } from "./fixture.js";
import type { Dialect } from "../../server/storage/db.js";

export interface DrainOptions {
  events: number;
  rounds: number;
  dialects: Dialect[];
  concurrencies: number[];
  /** Stop starting new rounds (keep at least one) once the next would end past this many seconds. */
  budgetSeconds?: number;
  log?: (line: string) => void;
}

export interface DrainSummary {
  events: number;
  rounds: number;
  /** Rounds actually run per dialect (fewer than `rounds` when the time budget ran out). */
  roundsRun: Record<string, number>;
  /** Per dialect: time to record the N events (setup, not timed in the figure) and per concurrency the runs. */
  dialects: Record<
    string,
    {
      recordSeconds: number;
      concurrency: Record<string, { medianPerSecond: number; runs: Array<Pick<DrainResult, "perSecond" | "seconds" | "workerCpuMs" | "maxRssMB" | "received" | "signed">> }>;
    }
  >;
}

export async function runDrain(options: DrainOptions): Promise<DrainSummary> {
  const log = options.log ?? (() => {});
  const receiver = await spawnTs<{ url: string }>("receiver.ts");
  const summary: DrainSummary = { events: options.events, rounds: options.rounds, roundsRun: {}, dialects: {} };
  const sectionStarted = performance.now();
  const elapsed = () => (performance.now() - sectionStarted) / 1000;
  try {
    for (const dialect of options.dialects) {
      const host: Host = dialect === "postgres" ? await postgresHost() : await sqliteHost();
      try {
        const fixture = await prepareFixture(host, options.events);
        log(`${dialect}: recorded ${options.events.toLocaleString("en")} events in ${fixture.recordSeconds} s (setup, not timed)`);
        const entry: DrainSummary["dialects"][string] = { recordSeconds: fixture.recordSeconds, concurrency: {} };
        // Dialects left after this one each need at least one round (≈ as long as one of this one's).
        const dialectsLeft = options.dialects.length - options.dialects.indexOf(dialect) - 1;
        let roundSeconds = 0;
        for (let round = 0; round < options.rounds; round++) {
          if (round > 0 && options.budgetSeconds !== undefined && elapsed() + roundSeconds * (1 + dialectsLeft) > options.budgetSeconds) {
            log(`${dialect}: time budget reached, ${round} round(s) run`);
            break;
          }
          const roundStarted = performance.now();
          summary.roundsRun[dialect] = round + 1;
          const order = round % 2 === 0 ? options.concurrencies : [...options.concurrencies].reverse();
          for (const concurrency of order) {
            const url = await host.clone(fixture.url);
            try {
              await resetReceiver(receiver.ready.url);
              const r = await runTs<DrainResult>("delivery/drain-worker.ts", {
                args: [
                  ...["--db", url, "--webhook", fixture.webhookId, "--receiver", receiver.ready.url],
                  ...["--events", String(options.events), "--concurrency", String(concurrency)],
                  ...flags("BENCH_DRAIN_WORKER_FLAGS"),
                ],
                nodeFlags: flags("BENCH_DRAIN_NODE_FLAGS"),
                echoStderr: process.env.BENCH_DRAIN_WORKER_FLAGS ? `  [worker ${dialect} ${concurrency}] ` : undefined,
              });
              const runs = (entry.concurrency[concurrency] ??= { medianPerSecond: 0, runs: [] }).runs;
              runs.push({ perSecond: r.perSecond, seconds: r.seconds, workerCpuMs: r.workerCpuMs, maxRssMB: r.maxRssMB, received: r.received, signed: r.signed });
              log(
                `${dialect} round ${round + 1} concurrency ${String(concurrency).padStart(3)}: ${String(r.perSecond).padStart(6)} deliveries/s` +
                  ` (${r.seconds} s, worker CPU ${r.workerCpuMs} ms, received ${r.received}, signed ${r.signed})`,
              );
            } finally {
              await host.drop(url);
            }
          }
          roundSeconds = (performance.now() - roundStarted) / 1000;
        }
        for (const c of Object.values(entry.concurrency)) c.medianPerSecond = round(median(c.runs.map((r) => r.perSecond)), 0);
        summary.dialects[dialect] = entry;
      } finally {
        await host.stop();
      }
    }
    return summary;
  } finally {
    await receiver.stop();
  }
}

function flags(name: string): string[] {
  return (process.env[name] ?? "").split(" ").filter((f) => f !== "");
}

export function drainOptions(quick: boolean): DrainOptions {
  return quick
    ? { events: 5_000, rounds: 1, dialects: ["sqlite", "postgres"], concurrencies: [64, 128] }
    : { events: 20_000, rounds: 3, dialects: ["sqlite", "postgres"], concurrencies: [64, 128] };
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  const defaults = drainOptions(args.quick === "true" || process.env.BENCH_QUICK === "1");
  try {
    const result = await runDrain({
      events: Number(args.events ?? defaults.events),
      rounds: Number(args.rounds ?? defaults.rounds),
      dialects: (args.dialects?.split(",") as Dialect[] | undefined) ?? defaults.dialects,
      concurrencies: args.concurrency?.split(",").map(Number) ?? defaults.concurrencies,
      log: (l) => console.error(l),
    });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
