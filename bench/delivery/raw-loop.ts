// The drain's ceiling: the same signed bodies to the same receiver with no database. The bodies a drain's
// fixture recorded are read first (untimed); then `concurrency` loops each take the next body, sign it as the
// worker does (Standard Webhooks headers, a fresh timestamp: sign.ts) and POST it through an undici Pool of
// as many connections as the production sender keeps per origin (32), pipelining 1, until all are sent.
// What the drain adds to this is the database (claim, outcomes, logs) and the worker's machinery.
//
//   node --conditions=talkover-source --import tsx bench/delivery/raw-loop.ts --db URL --receiver URL --events N --concurrency C
//        [--connections 32]   → RESULT {…}
import { Pool } from "undici";
import { deliveryHeaders } from "../../server/delivery/sign.js";
import { USER_AGENT } from "../../server/version.js";
import { WEBHOOK_SECRET } from "../lib/fixtures.js";
import { announceResult, parseArgs } from "../lib/proc.js";
import { round } from "../lib/stats.js";
import { send } from "../load.js";
import { receiverStats } from "../receiver.js";
import { readDeliveries } from "./fixture.js";

export interface RawLoopResult {
  concurrency: number;
  events: number;
  seconds: number;
  perSecond: number;
  received: number;
  signed: number;
  cpuMs: number;
}

const args = parseArgs();
const events = Number(args.events);
const concurrency = Number(args.concurrency);
const deliveries = await readDeliveries(args.db!);
if (deliveries.length !== events) throw new Error(`expected ${events} pending deliveries, found ${deliveries.length}`);

const pool = new Pool(args.receiver!, { connections: Number(args.connections ?? 32), pipelining: 1 });
const secrets = [WEBHOOK_SECRET];
let next = 0;
let failures = 0;
const cpuBefore = process.cpuUsage();
const started = performance.now();
const loop = async () => {
  while (next < deliveries.length) {
    const { deliveryId, body } = deliveries[next++]!;
    const headers = deliveryHeaders({ deliveryId, timestamp: Math.floor(Date.now() / 1000), body, secrets, userAgent: USER_AGENT });
    const answer = await send(pool, { path: "/hook", method: "POST", headers, body }, false);
    if (answer.status !== 200) failures++;
  }
};
await Promise.all(Array.from({ length: concurrency }, loop));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await pool.close();
if (failures > 0) throw new Error(`${failures} of ${events} POSTs were not answered 200`);
const receiver = await receiverStats(args.receiver!);
const result: RawLoopResult = {
  concurrency,
  events,
  seconds: round(seconds),
  perSecond: round(events / seconds, 0),
  received: receiver.count,
  signed: receiver.signed,
  cpuMs: round((cpu.user + cpu.system) / 1000, 0),
};
if (result.received !== events || result.signed !== events) throw new Error(`raw loop: the receiver counted ${JSON.stringify(receiver)}`);
announceResult(result);
