// Our server as a benchmark subject, in its own process: a fresh SQLite file (or the one given), one
// environment, agent and webhook, optionally a filled attempt log, then startServer() in production mode
// (LOG_LEVEL silent, response validation off unless asked, a rate limit too high to matter).
//
//   node --conditions=talkover-source --import tsx bench/api/server.ts [--db FILE] [--validate-responses] [--fill-logs N]
//        [--failed-deliveries N] [--webhook-url URL] [--webhooks N] [--agents N] [--no-worker] [--concurrency N] [--sql-stats]
//   (--webhooks N: the agent has N such webhooks, all subscribed to event_phone_call_ended, written to the
//   database directly; --agents N: N agents in all, their ids in `agentIds`, for a load that creates webhooks
//   over HTTP, where each agent may have 100 at most; --failed-deliveries N: the first webhook has N failed
//   deliveries, for a recovery; --sql-stats: statements by shape, count and time, on
//   stderr when stopped)
//   → READY {"url","token","agentId","agentIds","webhookId","serviceToken","db","fill"}
import { join } from "node:path";
import { DEFAULT_CONFIG, type Config } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { startServer } from "../../server/server.js";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { SERVICE_TOKEN, WEBHOOK_SECRET } from "../lib/fixtures.js";
import { announceReady, makeTempDir, onTerminate, parseArgs } from "../lib/proc.js";
import { sqlStats } from "../lib/sql-stats.js";
import { fillFailedDeliveries, fillLogs } from "./fill-logs.js";
import { agentOwner } from "../../server/storage/owner.js";

export interface ServerReady {
  url: string;
  token: string;
  agentId: string;
  /** `agentId` and the other agents of --agents, when asked for. */
  agentIds?: string[];
  webhookId: string;
  serviceToken: string;
  db: string;
  pid: number;
  fill?: { rows: number; seconds: number };
}

const args = parseArgs();
const dbFile = args.db ?? join(makeTempDir("talkover-bench-api-"), "talkover.db");
let database = await openDatabase(dbFile);
const environment = await createEnvironment(database, { name: "Bench" });
const agent = await createAgent(database, { environmentId: environment.id, name: "Bench agent" });
const agentIds = [agent.id];
for (let n = 1; n < Number(args.agents ?? 1); n++) {
  agentIds.push((await createAgent(database, { environmentId: environment.id, name: `Bench agent ${n}` })).id);
}
const newWebhook = (n: number) =>
  createWebhook(database, agentOwner(agent.id), {
    name: `Bench receiver${n > 0 ? ` ${n}` : ""}`,
    webhookUrl: args["webhook-url"] ?? "https://hooks.example.com/talkover/bench",
    webhookSecret: WEBHOOK_SECRET,
    events: ["event_phone_call_ended"],
    timeout: 30,
    maxRetries: 3,
    enabled: true,
  });
const webhook = await newWebhook(0);
for (let n = 1; n < Number(args.webhooks ?? 1); n++) await newWebhook(n);

let fill: ServerReady["fill"];
const rows = Number(args["fill-logs"] ?? 0);
const failed = Number(args["failed-deliveries"] ?? 0);
const stats = args["sql-stats"] === "true" ? sqlStats() : undefined;
if (rows > 0 || failed > 0 || stats) {
  await database.close(); // the fill wants the file to itself
  if (rows > 0) fill = fillLogs(dbFile, { webhookId: webhook.id, agentId: agent.id, rows });
  if (failed > 0) fill = fillFailedDeliveries(dbFile, { webhookId: webhook.id, agentId: agent.id, rows: failed });
  database = await openDatabase(dbFile, stats ? { log: stats.log } : {});
}

const config: Config = {
  ...DEFAULT_CONFIG,
  port: 0,
  host: "127.0.0.1",
  databaseUrl: dbFile,
  logLevel: "silent",
  rateLimitPerMinute: 1_000_000_000,
  validateResponses: args["validate-responses"] === "true",
  serviceToken: SERVICE_TOKEN,
  allowPrivateTargets: true,
  worker: args["no-worker"] !== "true",
  workerConcurrency: Number(args.concurrency ?? DEFAULT_CONFIG.workerConcurrency),
};
const server = await startServer(config, { database, logger: createLogger("silent") });
onTerminate(async () => {
  await server.stop();
  await database.close();
  if (stats) console.error(stats.report());
});

const ready: ServerReady = {
  url: server.url,
  token: environment.token,
  agentId: agent.id,
  ...(agentIds.length > 1 ? { agentIds } : {}),
  webhookId: webhook.id,
  serviceToken: SERVICE_TOKEN,
  db: dbFile,
  pid: process.pid,
  ...(fill ? { fill } : {}),
};
announceReady(ready);
