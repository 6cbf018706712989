// Shared set-up for the storage tests: a fixed clock and an environment → agent (→ campaign) → webhook chain.
import { Migrator } from "kysely";
import type { Database } from "../../server/storage/db.js";
import { migrations } from "../../server/storage/migrations.js";
import { createAgent } from "../../server/storage/agents.js";
import { createCampaign } from "../../server/storage/campaigns.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import type { Webhook, WebhookInput } from "../../server/storage/webhooks.js";
import { agentOwner } from "../../server/storage/owner.js";

/** 2025-09-03T23:19:51.123Z: every test passes time explicitly, none sleeps. */
export const T0 = Date.UTC(2025, 8, 3, 23, 19, 51, 123);

export function webhookInput(overrides: Partial<WebhookInput> = {}): WebhookInput {
  return {
    name: "My Webhook",
    webhookUrl: "https://example.com/webhook",
    webhookSecret: "optional_secret_for_hmac",
    events: ["event_phone_call_started", "event_phone_call_ended"],
    timeout: 30,
    maxRetries: 3,
    enabled: true,
    ...overrides,
  };
}

export async function seedAgent(database: Database, now = T0) {
  const environment = await createEnvironment(database, { name: "Production", now });
  const agent = await createAgent(database, { environmentId: environment.id, name: "Support line", now });
  return { environment, agent };
}

/** An environment with an agent and a campaign of that agent. */
export async function seedCampaign(database: Database, now = T0) {
  const { environment, agent } = await seedAgent(database, now);
  const campaign = await createCampaign(database, { environmentId: environment.id, name: "Renewals, March", agentId: agent.id, now });
  return { environment, agent, campaign };
}

export async function seedWebhook(database: Database, overrides: Partial<WebhookInput> = {}, now = T0) {
  const { environment, agent } = await seedAgent(database, now);
  const webhook = await createWebhook(database, agentOwner(agent.id), webhookInput(overrides), { now });
  return { environment, agent, webhook };
}

export async function addWebhooks(database: Database, agentId: string, count: number, now = T0): Promise<Webhook[]> {
  const webhooks: Webhook[] = [];
  for (let i = 0; i < count; i++) {
    webhooks.push(await createWebhook(database, agentOwner(agentId), webhookInput({ name: `Hook ${i}` }), { now: now + i }));
  }
  return webhooks;
}

/** Brings a database opened with `migrate: false` to the schema of migration `name`, to write rows as they were then. */
export async function migrateTo(database: Database, name: string): Promise<void> {
  const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => migrations(database.dialect) } });
  const { error } = await migrator.migrateTo(name);
  if (error !== undefined) throw error;
}

/** A body that carries the delivery id, as the real intake builds it. */
export function payloadFor(ids: { deliveryId: string; eventId: string }): string {
  return JSON.stringify({ id: ids.deliveryId, event_id: ids.eventId, call_id: "call-uuid", duration: 45 });
}
