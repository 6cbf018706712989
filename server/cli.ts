// The package's bin, `talkover-webhooks`: serve | migrate | env | agent | campaign | token | emit | recover.
// Output with --json is one JSON document on stdout, for scripts; without it, lines for people.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { WebhookCache } from "./delivery/webhook-cache.js";
import { createDeliveryEngine } from "./delivery/engine.js";
import type { IngestResult } from "./delivery/service.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { loadSpec, type ApiSpec } from "./spec.js";
import { createAgent, findAgentInEnvironment, getAgent, listAgents } from "./storage/agents.js";
import { createCampaign, getCampaign, listCampaigns, type Campaign } from "./storage/campaigns.js";
import { openDatabase, type Database, type OpenOptions } from "./storage/db.js";
import { createEnvironment, getEnvironment, listEnvironments, rotateToken } from "./storage/environments.js";
import { migrate } from "./storage/migrations.js";
import { toApiTimestamp } from "./storage/time.js";
import { findWebhook } from "./storage/webhooks.js";
import { ownerOfRow } from "./storage/owner.js";
import { checkRecoveryRange } from "./http/recovery-range.js";
import { VERSION } from "./version.js";

const USAGE = `talkover-webhooks ${VERSION}

Usage:
  talkover-webhooks serve                                   run the API and the delivery worker (default)
  talkover-webhooks migrate                                 apply database migrations
  talkover-webhooks env create --name NAME [--json]         create an environment; prints its token once
  talkover-webhooks env list [--json]
  talkover-webhooks agent create --environment ENV_ID --name NAME [--json]
  talkover-webhooks agent list [--environment ENV_ID] [--json]
  talkover-webhooks campaign create --environment ENV_ID --name NAME [--agent AGENT_ID] [--json]
  talkover-webhooks campaign list [--environment ENV_ID] [--json]
  talkover-webhooks token rotate --environment ENV_ID [--json]   new token; the old one stops working
  talkover-webhooks emit --agent AGENT_ID [--campaign CAMPAIGN_ID] --event EVENT --data JSON [--idempotency-key KEY] [--occurred-at ISO] [--json]
                                                            an agent event (of a call in that campaign, with --campaign)
  talkover-webhooks emit --campaign CAMPAIGN_ID --event EVENT --data JSON [--idempotency-key KEY] [--occurred-at ISO] [--json]
                                                            a campaign event (campaign.started, …)
  talkover-webhooks recover --webhook WEBHOOK_ID --since ISO [--until ISO] [--json]
                                                            queue the webhook's failed deliveries of [since, until) again

Configuration comes from environment variables (DATABASE_URL, PORT, HOST, …): see the README.`;

export class UsageError extends Error {
  override name = "UsageError";
}

const OPTIONS = {
  name: { type: "string" },
  environment: { type: "string" },
  agent: { type: "string" },
  campaign: { type: "string" },
  event: { type: "string" },
  data: { type: "string" },
  "idempotency-key": { type: "string" },
  "occurred-at": { type: "string" },
  webhook: { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function required(flags: Flags, name: keyof Flags): string {
  const value = flags[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/**
 * A name given on the command line, as openapi.yaml declares the names it delivers (`agent_name` of a test
 * delivery, `campaign.name` of a template): one line of at most 255 characters.
 */
function requiredName(flags: Flags): string {
  const value = required(flags, "name");
  if (value.length > 255 || /[\r\n\x00]/.test(value)) throw new UsageError("--name must be one line of at most 255 characters");
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
        const env = await createEnvironment(database, { name: requiredName(flags) });
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
        const agent = await createAgent(database, { environmentId, name: requiredName(flags) });
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

    case "campaign create":
      return withDatabase(config, async (database) => {
        const environmentId = required(flags, "environment");
        const name = requiredName(flags);
        if (!(await getEnvironment(database, environmentId))) throw new UsageError(`no environment ${environmentId}`);
        const agentId = flags.agent === undefined ? undefined : required(flags, "agent");
        if (agentId !== undefined && !(await findAgentInEnvironment(database, environmentId, agentId))) {
          throw new UsageError(`no agent ${agentId} in environment ${environmentId}`);
        }
        const campaign = await createCampaign(database, { environmentId, name, agentId: agentId ?? null });
        const row = campaignRow(campaign);
        print(flags, row, `campaign ${row.id} (${row.name})${row.agent_id ? ` of agent ${row.agent_id}` : ""}`);
        return 0;
      });

    case "campaign list":
      return withDatabase(config, async (database) => {
        const campaigns = await listCampaigns(database, flags.environment ? { environmentId: flags.environment } : {});
        const rows = campaigns.map(campaignRow);
        print(flags, rows, rows.map((r) => `${r.id}  ${r.environment_id}  ${r.agent_id ?? "-"}  ${r.name}`).join("\n") || "no campaigns");
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

    case "recover":
      return withDatabase(config, async (database) => recover(config, database, flags));

    default:
      throw new UsageError(`unknown command "${positionals.join(" ")}"`);
  }
}

/** `emit --agent A [--campaign C]` hands over an agent event (of a call in campaign C); `emit --campaign C` a campaign event. */
async function emit(config: Config, database: Database, flags: Flags): Promise<number> {
  const agentId = flags.agent === undefined ? undefined : required(flags, "agent");
  const campaignId = flags.campaign === undefined ? undefined : required(flags, "campaign");
  if (agentId === undefined && campaignId === undefined) throw new UsageError("--agent or --campaign is required");
  const event = required(flags, "event");
  // The intake's own catalogue: an agent event (a call's), or with --campaign alone a campaign event.
  const spec = loadSpec();
  const [catalogue, kind] = agentId === undefined ? [spec.campaignEvents, "campaign event"] : [spec.events, "event"];
  if (!catalogue.includes(event as never)) throw new UsageError(`unknown ${kind} "${event}"; one of: ${catalogue.join(", ")}`);
  let data: unknown;
  try {
    data = JSON.parse(flags.data ?? "{}");
  } catch {
    throw new UsageError("--data must be a JSON object");
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new UsageError("--data must be a JSON object");
  const agent = agentId === undefined ? undefined : await getAgent(database, agentId);
  if (agentId !== undefined && !agent) throw new UsageError(`no agent ${agentId}`);
  const campaign = campaignId === undefined ? undefined : await getCampaign(database, campaignId);
  if (campaignId !== undefined && !campaign) throw new UsageError(`no campaign ${campaignId}`);
  // As the HTTP intake refuses it (422): a call's campaign is of the agent's environment.
  if (agent && campaign && campaign.environmentId !== agent.environmentId) {
    throw new UsageError(`campaign ${campaign.id} is not of agent ${agent.id}'s environment`);
  }
  const occurredAt = flags["occurred-at"] ? Date.parse(flags["occurred-at"]) : undefined;
  if (Number.isNaN(occurredAt)) throw new UsageError("--occurred-at must be an ISO 8601 date-time");

  // Intake only: the running server's worker sends the deliveries.
  const logger = createLogger("silent");
  const engine = createDeliveryEngine({ database, cache: new WebhookCache(database), config: { ...config, worker: false }, logger });
  const input = { event, data: data as Record<string, unknown>, occurredAt, idempotencyKey: flags["idempotency-key"] };
  let result: IngestResult;
  try {
    result =
      agentId === undefined
        ? await engine.ingestCampaignEvent({ campaign: campaign!, ...input })
        : await engine.ingestEvent({ agentId, campaignId, ...input });
  } finally {
    await engine.stop();
  }
  print(
    flags,
    { event_id: result.eventId, deliveries_queued: result.deliveriesQueued, replayed: result.replayed },
    `event ${result.eventId}: ${result.deliveriesQueued} ${result.deliveriesQueued === 1 ? "delivery" : "deliveries"} queued${result.replayed ? " (idempotency key seen before: nothing new)" : ""}`,
  );
  return 0;
}

/**
 * `recover --webhook W --since T [--until T]`: what POST …/recover does, with its rules, for an agent's or a
 * campaign's webhook. It queues every batch before it exits; the running server's worker sends them.
 */
async function recover(config: Config, database: Database, flags: Flags): Promise<number> {
  const webhookId = required(flags, "webhook");
  const since = required(flags, "since");
  const until = flags.until === undefined ? undefined : required(flags, "until");
  const row = await database.db.selectFrom("webhooks").select(["agent_id", "campaign_id"]).where("id", "=", webhookId).where("deleted_at", "is", null).executeTakeFirst();
  const webhook = row === undefined ? undefined : await findWebhook(database, ownerOfRow(row), webhookId);
  if (!webhook) throw new UsageError(`no webhook ${webhookId}`);
  const { errors, range } = checkRecoveryRange(loadSpec().validationMessages, config.logRetentionDays, webhook, { since, until }, Date.now());
  const messages = Object.values(errors).flat();
  if (messages.length > 0) throw new UsageError(messages.join(" "));

  const engine = createDeliveryEngine({ database, cache: new WebhookCache(database), config: { ...config, worker: false }, logger: createLogger("silent") });
  try {
    const { deliveriesQueued } = await engine.recover(webhook, range);
    await engine.recoveries.idle();
    print(flags, { deliveries_queued: deliveriesQueued }, `webhook ${webhookId}: ${deliveriesQueued} failed ${deliveriesQueued === 1 ? "delivery" : "deliveries"} queued again`);
  } finally {
    await engine.stop();
  }
  return 0;
}

/** A campaign as `campaign create` and `campaign list` print it; `agent_id` is null for a campaign without one. */
function campaignRow(campaign: Campaign) {
  return { id: campaign.id, environment_id: campaign.environmentId, name: campaign.name, agent_id: campaign.agentId };
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
