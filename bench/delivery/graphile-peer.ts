// The drain's peer on PostgreSQL: graphile-worker doing the same POST per job. The bodies a drain's fixture
// recorded are read from its copy of the database and added as graphile-worker jobs on the same embedded
// PostgreSQL (its own schema, installed by runMigrations; setup, untimed); then a graphile-worker runner
// (concurrency C, tuned as its performance guide says: a local queue of 100 jobs — our claim batch — and
// completions batched over 5 ms — our outcome flush delay) runs a task that signs the body as our worker does
// and POSTs it through our production sender (undici Agent, 32 connections per origin). Timed from the
// runner's start until no job is left, polled every 25 ms once the receiver has every job's POST, as the drain
// polls its pending deliveries.
// graphile-worker keeps no attempt log: a job is deleted when done; our drain also writes a log row per attempt.
//
//   node --conditions=talkover-source --import tsx bench/delivery/graphile-peer.ts --db URL --receiver URL --events N --concurrency C
//        → RESULT {…}
import { makeWorkerUtils, run, runMigrations, type Logger, type Task } from "graphile-worker";
import { Logger as GraphileLogger } from "graphile-worker";
import pg from "pg";
import { createSender } from "../../server/delivery/send.js";
import { deliveryHeaders } from "../../server/delivery/sign.js";
import { USER_AGENT } from "../../server/version.js";
import { WEBHOOK_SECRET } from "../lib/fixtures.js";
import { announceResult, parseArgs, sleep } from "../lib/proc.js";
import { round } from "../lib/stats.js";
import { receiverStats, waitForReceived } from "../receiver.js";
import { readDeliveries } from "./fixture.js";

export interface GraphilePeerResult {
  concurrency: number;
  events: number;
  /** Adding the jobs (setup, untimed). */
  addSeconds: number;
  seconds: number;
  perSecond: number;
  received: number;
  signed: number;
  workerCpuMs: number;
}

const POLL_MS = 25;
const LOCAL_QUEUE = 100;
const COMPLETE_BATCH_DELAY_MS = 5;

const args = parseArgs();
const connectionString = args.db!;
const events = Number(args.events);
const concurrency = Number(args.concurrency);
const deliveries = await readDeliveries(connectionString);
if (deliveries.length !== events) throw new Error(`expected ${events} pending deliveries, found ${deliveries.length}`);
const quiet: Logger = new GraphileLogger(() => (level, message) => {
  if (level === "error") console.error(`[graphile-worker] ${message}`);
});

await runMigrations({ connectionString, logger: quiet });
const addStarted = performance.now();
const utils = await makeWorkerUtils({ connectionString, logger: quiet });
try {
  for (let i = 0; i < deliveries.length; i += 1000) {
    await utils.addJobs(deliveries.slice(i, i + 1000).map((d) => ({ identifier: "deliver", payload: d, maxAttempts: 1 })));
  }
} finally {
  await utils.release();
}
const addSeconds = (performance.now() - addStarted) / 1000;

const sender = createSender({ allowPrivateTargets: true });
const url = `${args.receiver}/hook`;
let failures = 0;
const deliver: Task = async (payload) => {
  const { deliveryId, body } = payload as { deliveryId: string; body: string };
  const headers = deliveryHeaders({ deliveryId, timestamp: Math.floor(Date.now() / 1000), body, secrets: [WEBHOOK_SECRET], userAgent: USER_AGENT });
  const result = await sender.send({ url, body, headers, timeoutMs: 30_000 });
  if (!result.ok) {
    failures++;
    throw new Error(result.error ?? "delivery failed");
  }
};

const probe = new pg.Client({ connectionString });
await probe.connect();
const anyLeft = async () => (await probe.query("select 1 from graphile_worker.jobs limit 1")).rows.length > 0;

const cpuBefore = process.cpuUsage();
const started = performance.now();
const runner = await run({
  connectionString,
  logger: quiet,
  concurrency,
  maxPoolSize: Math.max(10, Math.min(concurrency + 2, 20)),
  noHandleSignals: true,
  pollInterval: 1_000,
  taskList: { deliver },
  crontab: "",
  preset: { worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: COMPLETE_BATCH_DELAY_MS } },
});
const deadline = started + 300_000;
await waitForReceived(args.receiver!, events, { deadline, pollMs: POLL_MS });
while (await anyLeft()) {
  if (performance.now() > deadline) throw new Error("graphile-worker jobs still queued after 300 s");
  await sleep(POLL_MS);
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await runner.stop();
await probe.end();
await sender.close();

const receiver = await receiverStats(args.receiver!);
const result: GraphilePeerResult = {
  concurrency,
  events,
  addSeconds: round(addSeconds),
  seconds: round(seconds),
  perSecond: round(events / seconds, 0),
  received: receiver.count,
  signed: receiver.signed,
  workerCpuMs: round((cpu.user + cpu.system) / 1000, 0),
};
if (failures > 0 || result.received !== events || result.signed !== events) {
  throw new Error(`graphile-worker peer ended inconsistent (${failures} failed jobs): ${JSON.stringify(result)}`);
}
announceResult(result);
