// The package's bin, `talkover-webhooks`: serve | migrate | env | agent | token | emit.
// Output with --json is one JSON document on stdout, for scripts; without it, lines for people.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { WebhookCache } from "./delivery/webhook-cache.js";
import { createDeliveryEngine } from "./delivery/engine.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { loadSpec } from "./spec.js";
import { createAgent, getAgent, listAgents } from "./storage/agents.js";
import { openDatabase, type Database, type OpenOptions } from "./storage/db.js";
import { createEnvironment, getEnvironment, listEnvironments, rotateToken } from "./storage/environments.js";
import { migrate } from "./storage/migrations.js";
import { toApiTimestamp } from "./storage/time.js";
import { VERSION } from "./version.js";

const USAGE = `talkover-webhooks ${VERSION}

Usage:
  talkover-webhooks serve                                   run the API and the delivery worker (default)
  talkover-webhooks migrate                                 apply database migrations
  talkover-webhooks env create --name NAME [--json]         create an environment; prints its token once
  talkover-webhooks env list [--json]
  talkover-webhooks agent create --environment ENV_ID --name NAME [--json]
  talkover-webhooks agent list [--environment ENV_ID] [--json]
  talkover-webhooks token rotate --environment ENV_ID [--json]   new token; the old one stops working
  talkover-webhooks emit --agent AGENT_ID --event EVENT --data JSON [--idempotency-key KEY] [--occurred-at ISO] [--json]

Configuration comes from environment variables (DATABASE_URL, PORT, HOST, …): see the README.`;

export class UsageError extends Error {
  override name = "UsageError";
}

const OPTIONS = {
  name: { type: "string" },
  environment: { type: "string" },
  agent: { type: "string" },
  event: { type: "string" },
  data: { type: "string" },
  "idempotency-key": { type: "string" },
  "occurred-at": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function required(flags: Flags, name: keyof Flags): string {
  const value = flags[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function print(flags: Flags, json: unknown, human: string): void {
  console.log(flags.json ? JSON.stringify(json) : human);
}

async function withDatabase<T>(config: Config, ...args: [work: (db: Database) => Promise<T>] | [options: OpenOptions, work: (db: Database) => Promise<T>]): Promise<T> {
  const [options, work] = args.length === 1 ? [{}, args[0]] : args;
  const database = await openDatabase(config.databaseUrl, options);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  const [command = "serve", sub] = positionals;

  switch (`${command} ${sub ?? ""}`.trim()) {
    case "serve":
      return serve(config);

    case "migrate":
      return withDatabase(config, { migrate: false }, async (database) => {
        const result = await migrate(database);
        const applied = (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
        print(flags, { applied }, applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
        return 0;
      });

    case "env create":
      return withDatabase(config, async (database) => {
        const env = await createEnvironment(database, { name: required(flags, "name") });
        print(flags, { id: env.id, name: env.name, token: env.token }, `environment ${env.id} (${env.name})\ntoken: ${env.token}\n(shown once: keep it)`);
        return 0;
      });

    case "env list":
      return withDatabase(config, async (database) => {
        const envs = await listEnvironments(database);
        const rows = envs.map((e) => ({ id: e.id, name: e.name, token_hint: `talq_…${e.tokenHint}`, created_at: toApiTimestamp(e.createdAt) }));
        print(flags, rows, rows.map((r) => `${r.id}  ${r.name}  ${r.token_hint}`).join("\n") || "no environments");
        return 0;
      });

    case "agent create":
      return withDatabase(config, async (database) => {
        const environmentId = required(flags, "environment");
        if (!(await getEnvironment(database, environmentId))) throw new UsageError(`no environment ${environmentId}`);
        const agent = await createAgent(database, { environmentId, name: required(flags, "name") });
        print(flags, { id: agent.id, environment_id: agent.environmentId, name: agent.name }, `agent ${agent.id} (${agent.name})`);
        return 0;
      });

    case "agent list":
      return withDatabase(config, async (database) => {
        const agents = await listAgents(database, flags.environment ? { environmentId: flags.environment } : {});
        const rows = agents.map((a) => ({ id: a.id, environment_id: a.environmentId, name: a.name }));
        print(flags, rows, rows.map((r) => `${r.id}  ${r.environment_id}  ${r.name}`).join("\n") || "no agents");
        return 0;
      });

    case "token rotate":
      return withDatabase(config, async (database) => {
        const environmentId = required(flags, "environment");
        const token = await rotateToken(database, environmentId);
        if (!token) throw new UsageError(`no environment ${environmentId}`);
        print(flags, { id: environmentId, token }, `new token for ${environmentId}: ${token}\n(shown once: the old token no longer works)`);
        return 0;
      });

    case "emit":
      return withDatabase(config, async (database) => emit(config, database, flags));

    default:
      throw new UsageError(`unknown command "${positionals.join(" ")}"`);
  }
}

async function emit(config: Config, database: Database, flags: Flags): Promise<number> {
  const agentId = required(flags, "agent");
  const event = required(flags, "event");
  const spec = loadSpec();
  if (!spec.events.includes(event as never)) throw new UsageError(`unknown event "${event}"; one of: ${spec.events.join(", ")}`);
  let data: unknown;
  try {
    data = JSON.parse(flags.data ?? "{}");
  } catch {
    throw new UsageError("--data must be a JSON object");
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new UsageError("--data must be a JSON object");
  if (!(await getAgent(database, agentId))) throw new UsageError(`no agent ${agentId}`);
  const occurredAt = flags["occurred-at"] ? Date.parse(flags["occurred-at"]) : undefined;
  if (Number.isNaN(occurredAt)) throw new UsageError("--occurred-at must be an ISO 8601 date-time");

  // Intake only: the running server's worker sends the deliveries.
  const logger = createLogger("silent");
  const engine = createDeliveryEngine({ database, cache: new WebhookCache(database), config: { ...config, worker: false }, logger });
  const result = await engine.ingestEvent({
    agentId,
    event,
    data: data as Record<string, unknown>,
    occurredAt,
    idempotencyKey: flags["idempotency-key"],
  });
  await engine.stop();
  print(
    flags,
    { event_id: result.eventId, deliveries_queued: result.deliveriesQueued, replayed: result.replayed },
    `event ${result.eventId}: ${result.deliveriesQueued} ${result.deliveriesQueued === 1 ? "delivery" : "deliveries"} queued${result.replayed ? " (idempotency key seen before: nothing new)" : ""}`,
  );
  return 0;
}

async function serve(config: Config): Promise<number> {
  const running = await startServer(config);
  await printDemoOnFirstStart(running.database, running.url);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      running.logger.info({ signal }, "shutting down");
      running.stop().then(resolve, (err) => {
        running.logger.error({ err: (err as Error).message }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  return 0;
}

/** With an empty database, `npm start` is ready to use: a demo environment, an agent and a curl to paste. */
async function printDemoOnFirstStart(database: Database, url: string): Promise<void> {
  if ((await listEnvironments(database)).length > 0) return;
  const env = await createEnvironment(database, { name: "Demo" });
  const agent = await createAgent(database, { environmentId: env.id, name: "Demo agent" });
  const body = JSON.stringify({
    name: "My Webhook",
    webhook_url: "https://example.com/webhook",
    webhook_secret: "optional_secret_for_hmac",
    events: ["event_phone_call_started", "event_phone_call_ended"],
  });
  console.log(`
First start: created a demo environment and agent.
  environment: ${env.id}
  token:       ${env.token}   (shown once)
  agent:       ${agent.id}

Create a webhook:
  curl -X POST '${url}/api/v1/agents/${agent.id}/webhooks' \\
    -H 'Authorization: Bearer ${env.token}' \\
    -H 'Content-Type: application/json' \\
    -d '${body}'
`);
}
