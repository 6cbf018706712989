// The worker process of the memory benchmark: the production DeliveryWorker and sender over a database with a
// backlog, for `--seconds`, sampling this process's memory every second.
//
//   node --conditions=talkover-source --import tsx bench/delivery/memory-worker.ts --db FILE [--seconds 20] [--concurrency 64]   → RESULT {…}
import { sql } from "kysely";
import { createSender } from "../../server/delivery/send.js";
import { DeliveryWorker } from "../../server/delivery/worker.js";
import { createLogger } from "../../server/logger.js";
import { openDatabase } from "../../server/storage/db.js";
import { USER_AGENT } from "../../server/version.js";
import { announceResult, parseArgs, sleep } from "../lib/proc.js";
import { round } from "../lib/stats.js";

export interface MemoryRun {
  seconds: number;
  concurrency: number;
  /** One sample per second, the first just before the worker starts. */
  samples: Array<{ t: number; rssMB: number; heapUsedMB: number }>;
  /** first: after 1 s of work; max and last over the run; idle: before the worker started. */
  rssMB: { idle: number; first: number; max: number; last: number };
  heapUsedMB: { idle: number; first: number; max: number; last: number };
  /** Attempts whose (failed) outcome was recorded during the run. */
  attemptsRecorded: number;
  pendingAfter: number;
}

const args = parseArgs();
const seconds = Number(args.seconds ?? 20);
const concurrency = Number(args.concurrency ?? 64);
const database = await openDatabase(args.db!);
const sender = createSender({ allowPrivateTargets: true });
const worker = new DeliveryWorker({ database, sender, logger: createLogger("silent"), userAgent: USER_AGENT, concurrency });
const mb = (bytes: number) => round(bytes / 1e6, 1);
const closedAttempts = async () =>
  Number((await sql<{ n: number }>`select count(*) as n from logs where status <> 'pending'`.execute(database.db)).rows[0]!.n);
try {
  const before = await closedAttempts();
  const samples: MemoryRun["samples"] = [];
  const sample = (t: number) => {
    const m = process.memoryUsage();
    samples.push({ t, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed) });
  };
  sample(0);
  const started = performance.now();
  worker.start();
  for (let t = 1; t <= seconds; t++) {
    await sleep(Math.max(0, started + t * 1000 - performance.now()));
    sample(t);
  }
  await worker.stop();
  await sender.close();
  const rss = samples.slice(1).map((s) => s.rssMB);
  const heap = samples.slice(1).map((s) => s.heapUsedMB);
  const pendingAfter = Number(
    (await sql<{ n: number }>`select count(*) as n from deliveries where status = 'pending'`.execute(database.db)).rows[0]!.n,
  );
  const result: MemoryRun = {
    seconds,
    concurrency,
    samples,
    rssMB: { idle: samples[0]!.rssMB, first: rss[0]!, max: Math.max(...rss), last: rss[rss.length - 1]! },
    heapUsedMB: { idle: samples[0]!.heapUsedMB, first: heap[0]!, max: Math.max(...heap), last: heap[heap.length - 1]! },
    attemptsRecorded: (await closedAttempts()) - before,
    pendingAfter,
  };
  announceResult(result);
} finally {
  await database.close();
}
