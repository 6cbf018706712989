// Webhook configurations of an agent. Deletion is soft (deleted_at) so that delivery and log rows keep
// their parent; a deleted webhook is invisible to every read here.
import type { Selectable, Updateable } from "kysely";
import type { Database } from "./db.js";
import { inTransaction } from "./db.js";
import { cancelQueuedDeliveries } from "./queue/cancel.js";
import { fromDbBoolean, fromJsonText, toDbBoolean, toJsonText } from "./dialect.js";
import { newId } from "./ids.js";
import type { WebhookTable } from "./schema.js";

/** What create takes. Defaults (timeout 30, max_retries 3, enabled true) are the spec's and are applied by the API layer. */
export interface WebhookInput {
  name: string;
  webhookUrl: string;
  /** Signing secret; never log it. */
  webhookSecret: string | null;
  events: string[];
  /** Seconds. */
  timeout: number;
  maxRetries: number;
  enabled: boolean;
}

export interface Webhook extends WebhookInput {
  id: string;
  agentId: string;
  /** Failed attempts since the last success; drives the derived "error" status. */
  consecutiveFailures: number;
  createdAt: number;
  updatedAt: number;
}

export type WebhookStatus = "active" | "disabled" | "error";

export const CANCELLED_BY_DISABLE = "Delivery cancelled: the webhook was disabled.";
export const CANCELLED_BY_DELETE = "Delivery cancelled: the webhook was deleted.";

/** The published `status`: derived, never stored, so it cannot disagree with `enabled`. */
export function webhookStatus(webhook: Pick<Webhook, "enabled" | "consecutiveFailures">, errorThreshold: number): WebhookStatus {
  if (!webhook.enabled) return "disabled";
  if (webhook.consecutiveFailures >= errorThreshold) return "error";
  return "active";
}

type WebhookRow = Selectable<WebhookTable>;

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    agentId: row.agent_id,
    name: row.name,
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
    events: fromJsonText<string[]>(row.events),
    timeout: row.timeout,
    maxRetries: row.max_retries,
    enabled: fromDbBoolean(row.enabled),
    consecutiveFailures: row.consecutive_failures,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function visibleWebhooks(database: Database, agentId: string) {
  return database.db.selectFrom("webhooks").selectAll().where("agent_id", "=", agentId).where("deleted_at", "is", null);
}

export async function createWebhook(
  database: Database,
  agentId: string,
  input: WebhookInput,
  options: { now?: number } = {},
): Promise<Webhook> {
  const now = options.now ?? Date.now();
  const row = await database.db
    .insertInto("webhooks")
    .values({
      id: newId(now),
      agent_id: agentId,
      name: input.name,
      webhook_url: input.webhookUrl,
      webhook_secret: input.webhookSecret,
      events: toJsonText(input.events),
      timeout: input.timeout,
      max_retries: input.maxRetries,
      enabled: toDbBoolean(database, input.enabled),
      created_at: now,
      updated_at: now,
      deleted_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toWebhook(row);
}

/** Oldest first. */
export async function listWebhooks(database: Database, agentId: string): Promise<Webhook[]> {
  const rows = await visibleWebhooks(database, agentId).orderBy("created_at").orderBy("id").execute();
  return rows.map(toWebhook);
}

/** The agent's enabled webhooks, oldest first: the candidates an incoming event fans out to. */
export async function listEnabledWebhooksForAgent(database: Database, agentId: string): Promise<Webhook[]> {
  const rows = await visibleWebhooks(database, agentId)
    .where("enabled", "=", toDbBoolean(database, true))
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map(toWebhook);
}

export async function findWebhook(database: Database, agentId: string, webhookId: string): Promise<Webhook | undefined> {
  const row = await visibleWebhooks(database, agentId).where("id", "=", webhookId).executeTakeFirst();
  return row === undefined ? undefined : toWebhook(row);
}

/**
 * Changes only the fields present in `changes` (`webhookSecret: null` clears the secret) and bumps
 * updated_at. Disabling cancels the queued deliveries in the same transaction. Undefined when not found.
 */
export async function updateWebhook(
  database: Database,
  agentId: string,
  webhookId: string,
  changes: Partial<WebhookInput>,
  options: { now?: number } = {},
): Promise<Webhook | undefined> {
  const now = options.now ?? Date.now();
  const set: Updateable<WebhookTable> = { updated_at: now };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.webhookUrl !== undefined) set.webhook_url = changes.webhookUrl;
  if (changes.webhookSecret !== undefined) set.webhook_secret = changes.webhookSecret;
  if (changes.events !== undefined) set.events = toJsonText(changes.events);
  if (changes.timeout !== undefined) set.timeout = changes.timeout;
  if (changes.maxRetries !== undefined) set.max_retries = changes.maxRetries;
  if (changes.enabled !== undefined) set.enabled = toDbBoolean(database, changes.enabled);

  return inTransaction(database, async (tx) => {
    const row = await tx.db
      .updateTable("webhooks")
      .set(set)
      .where("id", "=", webhookId)
      .where("agent_id", "=", agentId)
      .where("deleted_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) return undefined;
    if (changes.enabled === false) await cancelQueuedDeliveries(tx, webhookId, CANCELLED_BY_DISABLE, now);
    return toWebhook(row);
  });
}

/** The toggle: disabling cancels the queued deliveries in the same transaction. */
export function setWebhookEnabled(
  database: Database,
  agentId: string,
  webhookId: string,
  enabled: boolean,
  options: { now?: number } = {},
): Promise<Webhook | undefined> {
  return updateWebhook(database, agentId, webhookId, { enabled }, options);
}

/** Soft delete; cancels the queued deliveries in the same transaction. False when not found. */
export async function deleteWebhook(
  database: Database,
  agentId: string,
  webhookId: string,
  options: { now?: number } = {},
): Promise<boolean> {
  const now = options.now ?? Date.now();
  return inTransaction(database, async (tx) => {
    const result = await tx.db
      .updateTable("webhooks")
      .set({ deleted_at: now, updated_at: now })
      .where("id", "=", webhookId)
      .where("agent_id", "=", agentId)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await cancelQueuedDeliveries(tx, webhookId, CANCELLED_BY_DELETE, now);
    return true;
  });
}
