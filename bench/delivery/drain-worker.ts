// One delivery drain, in a process of its own: a database whose pending deliveries were recorded beforehand
// (fixture.ts), its webhooks (one, or many) pointed at the receiver, then the engine's DeliveryWorker (production sender:
// undici Agent, SSRF guard with private targets allowed, Standard Webhooks signing) started and timed until no
// delivery is pending. Then the outcome is checked: every delivery `success`, every log row `success`, the
// counters right (logs_total summed over the webhooks).
//
//   node --conditions=talkover-source --import tsx bench/delivery/drain-worker.ts --db URL --receiver URL --events N --concurrency C
//        [--batch 100] [--sql-stats]   → RESULT {…} (--sql-stats: statements by shape, count and time, on stderr)
import { sql } from "kysely";
import { createLogger } from "../../server/logger.js";
import { createSender } from "../../server/delivery/send.js";
import { DeliveryWorker } from "../../server/delivery/worker.js";
import { openDatabase } from "../../server/storage/db.js";
import { USER_AGENT } from "../../server/version.js";
import { announceResult, parseArgs, sleep } from "../lib/proc.js";
import { sqlStats } from "../lib/sql-stats.js";
import { round } from "../lib/stats.js";
import { receiverStats, waitForReceived } from "../receiver.js";

export interface DrainResult {
  dialect: string;
  concurrency: number;
  batchSize: number;
  events: number;
  seconds: number;
  perSecond: number;
  /** Deliveries the receiver got, and how many of them were signed. */
  received: number;
  signed: number;
  deliveries: Record<string, number>;
  logs: Record<string, number>;
  logsTotal: number;
  workerCpuMs: number;
  maxRssMB: number;
}

const POLL_MS = 25;

const args = parseArgs();
const events = Number(args.events);
const concurrency = Number(args.concurrency);
const batchSize = Number(args.batch ?? 100);
const stats = args["sql-stats"] === "true" ? sqlStats() : undefined;
const database = await openDatabase(args.db!, stats ? { log: stats.log } : {});
try {
  await database.db.updateTable("webhooks").set({ webhook_url: `${args.receiver}/hook` }).execute();
  const pending = async () =>
    Number(
      (await database.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "pending").executeTakeFirstOrThrow()).n,
    );
  if ((await pending()) !== events) throw new Error(`expected ${events} pending deliveries, found ${await pending()}`);
  // Polled once the receiver has every delivery (waitForReceived): one index probe, not a count (a count of
  // 20,000 pending rows costs milliseconds every poll, which on SQLite block the worker's event loop).
  const anyPending = async () =>
    (await sql<{ one: number }>`select 1 as one from deliveries where status = 'pending' limit 1`.execute(database.db)).rows.length > 0;

  const sender = createSender({ allowPrivateTargets: true });
  const worker = new DeliveryWorker({ database, sender, logger: createLogger("silent"), userAgent: USER_AGENT, concurrency, batchSize });
  let maxRss = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  worker.start();
  const deadline = started + 300_000;
  const sampleRss = () => (maxRss = Math.max(maxRss, process.memoryUsage.rss()));
  await waitForReceived(args.receiver!, events, { deadline, pollMs: POLL_MS, each: sampleRss });
  while (await anyPending()) {
    if (performance.now() > deadline) throw new Error("deliveries still pending after 300 s");
    sampleRss();
    await sleep(POLL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await worker.stop();
  await sender.close();

  const group = async (table: "deliveries" | "logs") =>
    Object.fromEntries(
      (await sql<{ status: string; n: number }>`select status, count(*) as n from ${sql.table(table)} group by status`.execute(database.db)).rows.map(
        (r) => [r.status, Number(r.n)],
      ),
    );
  const receiver = await receiverStats(args.receiver!);
  const logsTotal = Number(
    (await database.db.selectFrom("webhooks").select((eb) => eb.fn.sum<number>("logs_total").as("n")).executeTakeFirstOrThrow()).n,
  );
  const result: DrainResult = {
    dialect: database.dialect,
    concurrency,
    batchSize,
    events,
    seconds: round(seconds),
    perSecond: round(events / seconds, 0),
    received: receiver.count,
    signed: receiver.signed,
    deliveries: await group("deliveries"),
    logs: await group("logs"),
    logsTotal,
    workerCpuMs: round((cpu.user + cpu.system) / 1000, 0),
    maxRssMB: round(maxRss / 1e6, 1),
  };
  if (result.deliveries.success !== events || result.logs.success !== events || logsTotal !== events) {
    throw new Error(`drain ended inconsistent: ${JSON.stringify(result)}`);
  }
  if (stats) console.error(stats.report());
  announceResult(result);
} finally {
  await database.close();
}
