// npm run bench: every benchmark in turn, then bench/results/latest.json and latest.md.
//
//   npm run bench                  the full run (≈ 12 min on 2 cores)
//   BENCH_QUICK=1 npm run bench    a smoke run (≈ 1 min): shorter runs, one round, 100k log rows, no memory test
//   BENCH_ONLY=api,logs,delivery,many,intake,memory,sqlite,checkpoint,filters,recovery   run only some sections (the results then say so)
//
// Each section runs its servers, receivers, workers and load generators as child processes (see bench/lib/proc.ts);
// all of them and every temp directory are removed at the end, also after a failure or Ctrl-C.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runLogsLatency, type LogsLatencyResult } from "./api/logs-latency.js";
import { runThroughput, throughputOptions, type ThroughputResult } from "./api/throughput.js";
import { drainOptions, manyDrainOptions, runDrain, type DrainSummary } from "./delivery/drain.js";
import { runFanoutIntake, type FanoutIntakeResult } from "./delivery/fanout-intake.js";
import { runIntakeLatency, type IntakeResult } from "./delivery/intake-latency.js";
import { runMemory, type MemoryResult } from "./delivery/memory.js";
import { runRecovery, type RecoveryResult } from "./delivery/recovery.js";
import { logFiltersOptions, runLogFilters, type LogFiltersResult } from "./storage/log-filters.js";
import { runSqliteCheckpoint, sqliteCheckpointOptions, type SqliteCheckpointResult } from "./storage/sqlite-checkpoint.js";
import { runSqliteLockWait, sqliteLockWaitOptions, type SqliteLockWaitResult } from "./storage/sqlite-lock-wait.js";
import { describeMachine, loadAverage, type Machine } from "./lib/machine.js";
import { BENCH_DIR, cleanupAll } from "./lib/proc.js";
import { renderMarkdown } from "./lib/report.js";

export interface Section<T> {
  seconds: number;
  /** 1-minute load average before and after: other work on the machine skews absolute figures. */
  loadAverage: { before: number; after: number };
  result?: T;
  error?: string;
}

export interface BenchResults {
  machine: Machine;
  quick: boolean;
  totalSeconds: number;
  sections: {
    api?: Section<ThroughputResult>;
    logs?: Section<LogsLatencyResult>;
    delivery?: Section<DrainSummary>;
    many?: Section<{ drain: DrainSummary; intake: FanoutIntakeResult }>;
    intake?: Section<IntakeResult>;
    memory?: Section<MemoryResult>;
    sqlite?: Section<SqliteLockWaitResult>;
    filters?: Section<LogFiltersResult>;
    checkpoint?: Section<SqliteCheckpointResult>;
    recovery?: Section<RecoveryResult>;
  };
}

const quick = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
const wanted = (name: string) => only === undefined || only.includes(name);
const log = (line: string) => console.log(`  ${line}`);

async function section<T>(name: string, title: string, run: () => Promise<T>): Promise<Section<T>> {
  console.log(`\n▶ ${title}`);
  const before = loadAverage();
  const started = performance.now();
  try {
    const result = await run();
    return { seconds: Math.round((performance.now() - started) / 100) / 10, loadAverage: { before, after: loadAverage() }, result };
  } catch (err) {
    console.error(`  ✗ ${name} failed: ${(err as Error).stack ?? err}`);
    await cleanupAll(); // whatever the failed section left running
    return { seconds: Math.round((performance.now() - started) / 100) / 10, loadAverage: { before, after: loadAverage() }, error: (err as Error).message };
  }
}

async function main(): Promise<number> {
  const machine = describeMachine();
  console.log(`talkover-webhooks benchmarks (${quick ? "quick" : "full"}) — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
  if (machine.loadAverageAtStart[0]! > machine.cores * 0.5) {
    console.log(`  note: load average ${machine.loadAverageAtStart[0]} at start: other work on this machine will lower the absolute figures`);
  }
  const started = performance.now();
  const results: BenchResults = { machine, quick, totalSeconds: 0, sections: {} };
  const s = results.sections;

  if (wanted("api")) {
    s.api = await section("api", "1. API throughput vs bare Express (POST create, GET logs; 50 connections)", () =>
      runThroughput({ ...throughputOptions(quick), log }),
    );
  }
  if (wanted("logs")) {
    const rows = quick ? 100_000 : 1_000_000;
    s.logs = await section("logs", `2. Logs listing with ${rows.toLocaleString("en")} attempts`, () =>
      runLogsLatency({ rows, requests: quick ? 200 : 500, log }),
    );
  }
  if (wanted("delivery")) {
    s.delivery = await section("delivery", "3. Delivery throughput (signed, logged, loopback receiver)", () =>
      runDrain({ ...drainOptions(quick), budgetSeconds: quick ? 60 : 180, log }),
    );
  }
  if (wanted("many")) {
    s.many = await section("many", "3b. Many webhooks: the drain over 1,000 webhooks of 100 agents; the intake of an event to 1,000 webhooks", async () => ({
      drain: await runDrain({ ...manyDrainOptions(quick), budgetSeconds: quick ? 60 : 120, log }),
      intake: await runFanoutIntake({ webhooks: 1000, events: quick ? 10 : 30, log }),
    }));
  }
  if (wanted("intake")) {
    s.intake = await section("intake", "4. Intake → receiver latency at 1,000 events/s", () =>
      runIntakeLatency({ ratePerSec: 1000, durationMs: quick ? 5_000 : 10_000, log }),
    );
  }
  if (wanted("memory") && !quick) {
    s.memory = await section("memory", "5. Worker memory with a backlog (receiver down)", () =>
      runMemory({ backlog: 200_000, seconds: 20, concurrency: 64, log }),
    );
  }
  if (wanted("sqlite")) {
    s.sqlite = await section("sqlite", "6. SQLite: the asynchronous lock wait against a synchronous busy_timeout (nothing locked)", () =>
      runSqliteLockWait({ ...sqliteLockWaitOptions(quick), log }),
    );
  }
  if (wanted("filters")) {
    const options = logFiltersOptions(quick);
    s.filters = await section("filters", `7. Logs page 1 with filters at ${options.rows.toLocaleString("en")} attempts (SQLite, storage only)`, () =>
      runLogFilters({ ...options, log }),
    );
  }
  if (wanted("checkpoint")) {
    s.checkpoint = await section("checkpoint", "8. SQLite: WAL checkpoints on their own thread against inside the commits", () =>
      runSqliteCheckpoint({ ...sqliteCheckpointOptions(quick), log }),
    );
  }
  if (wanted("recovery")) {
    const deliveries = quick ? 20_000 : 100_000;
    s.recovery = await section("recovery", `9. Recovery of ${deliveries.toLocaleString("en")} failed deliveries under API load (SQLite)`, () =>
      runRecovery({ deliveries, baselineMs: quick ? 2_000 : 5_000, log }),
    );
  }
  results.totalSeconds = Math.round((performance.now() - started) / 1000);

  const dir = join(BENCH_DIR, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  const markdown = renderMarkdown(results);
  writeFileSync(join(dir, "latest.md"), markdown);
  console.log(`\n${markdown.split("\n## ")[0]!.split("\n").slice(0).join("\n")}`);
  console.log(`wrote bench/results/latest.json and bench/results/latest.md (${results.totalSeconds} s)`);
  return Object.values(s).some((x) => x?.error !== undefined) ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await cleanupAll();
}
process.exit(code);
