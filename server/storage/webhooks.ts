// Webhook configurations of an owner: an agent or a campaign (owner.ts), on one table. Deletion is soft (deleted_at) so that delivery and log rows keep
// their parent; a deleted webhook is invisible to every read here.
import { sql } from "kysely";
import type { Kysely, Selectable, Updateable } from "kysely";
import type { Database } from "./db.js";
import { inTransaction } from "./db.js";
import { cancelQueuedDeliveries } from "./queue/cancel.js";
import { fromDbBoolean, fromJsonText, fromNullableJsonText, toDbBoolean, toJsonText } from "./dialect.js";
import { newId } from "./ids.js";
import { agentOwner, campaignOwner, ownerColumn, ownerOfRow } from "./owner.js";
import type { Owner } from "./owner.js";
import { prepare } from "./prepared.js";
import type { Schema, WebhookTable } from "./schema.js";

export type HttpMethod = "POST" | "PUT" | "PATCH";
export type AuthorizationScheme = "none" | "bearer" | "basic" | "api_key" | "custom";

/** The fields of the scheme (bearer: token; basic: username, password; api_key: value, header_name?; custom: value). Secret. */
export interface AuthorizationCredentials {
  token?: string;
  username?: string;
  password?: string;
  value?: string;
  header_name?: string;
}

export interface CustomHeader {
  key: string;
  /** May hold a credential: masked in responses, never logged. */
  value: string;
}

/** How deliveries are made: read by the worker at every attempt, and by the intake for the templates. */
export interface DeliveryOptions {
  httpMethod: HttpMethod;
  authorizationScheme: AuthorizationScheme;
  /** Null when the scheme is none. Never returned, never logged. */
  authorizationCredentials: AuthorizationCredentials | null;
  customHeaders: CustomHeader[];
  /** Event name → template (any JSON value). */
  payloadTemplates: Record<string, unknown>;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  httpMethod: "POST",
  authorizationScheme: "none",
  authorizationCredentials: null,
  customHeaders: [],
  payloadTemplates: {},
};

/** What create takes. Defaults (timeout 30, max_retries 3, enabled true) are the spec's and are applied by the API layer. */
export interface WebhookInput extends Partial<DeliveryOptions> {
  name: string;
  webhookUrl: string;
  /** Signing secret; never log it. */
  webhookSecret: string | null;
  events: string[];
  /** Seconds. */
  timeout: number;
  maxRetries: number;
  enabled: boolean;
  /** A campaign's webhook that also receives its calls' agent events; stored false when absent. */
  includeCallEvents?: boolean;
}

export interface Webhook extends Omit<WebhookInput, keyof DeliveryOptions | "includeCallEvents">, DeliveryOptions {
  id: string;
  owner: Owner;
  includeCallEvents: boolean;
  /** Failed attempts since the last success; drives the derived "error" status. */
  consecutiveFailures: number;
  /** The secret the last rotation replaced, signing beside webhookSecret until previousSecretExpiresAt. Never log it. */
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export type WebhookStatus = "active" | "disabled" | "error";

export const CANCELLED_BY_DISABLE = "Delivery cancelled: the webhook was disabled.";
export const CANCELLED_BY_DELETE = "Delivery cancelled: the webhook was deleted.";

/**
 * The secrets a delivery made at `now` is signed with: the current one, then the previous one while its
 * overlap lasts (expired at previousSecretExpiresAt). Empty for an unsigned webhook.
 */
export function signingSecrets(
  webhook: Pick<Webhook, "webhookSecret" | "previousSecret" | "previousSecretExpiresAt">,
  now: number,
): string[] {
  const secrets = webhook.webhookSecret ? [webhook.webhookSecret] : [];
  const { previousSecret, previousSecretExpiresAt } = webhook;
  if (previousSecret && previousSecretExpiresAt !== null && now < previousSecretExpiresAt) secrets.push(previousSecret);
  return secrets;
}

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
    owner: ownerOfRow(row),
    name: row.name,
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
    events: fromJsonText<string[]>(row.events),
    timeout: row.timeout,
    maxRetries: row.max_retries,
    enabled: fromDbBoolean(row.enabled),
    includeCallEvents: fromDbBoolean(row.include_call_events),
    consecutiveFailures: row.consecutive_failures,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    httpMethod: row.http_method as HttpMethod,
    authorizationScheme: row.authorization_scheme as AuthorizationScheme,
    authorizationCredentials: fromNullableJsonText<AuthorizationCredentials>(row.authorization_credentials),
    customHeaders: fromJsonText<CustomHeader[]>(row.custom_headers),
    payloadTemplates: fromJsonText<Record<string, unknown>>(row.payload_templates),
  };
}

/** The columns of the delivery options present in `options` (an update changes only those). */
function deliveryOptionColumns(options: Partial<DeliveryOptions>): Updateable<WebhookTable> {
  const set: Updateable<WebhookTable> = {};
  if (options.httpMethod !== undefined) set.http_method = options.httpMethod;
  if (options.authorizationScheme !== undefined) set.authorization_scheme = options.authorizationScheme;
  if (options.authorizationCredentials !== undefined) {
    set.authorization_credentials = options.authorizationCredentials === null ? null : toJsonText(options.authorizationCredentials);
  }
  if (options.customHeaders !== undefined) set.custom_headers = toJsonText(options.customHeaders);
  if (options.payloadTemplates !== undefined) set.payload_templates = toJsonText(options.payloadTemplates);
  return set;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The owner's webhooks that are not deleted. */
function visibleWebhooks(db: Kysely<Schema>, owner: Owner) {
  return db.selectFrom("webhooks").selectAll().where(ownerColumn(owner), "=", owner.id).where("deleted_at", "is", null);
}

/** Every column of a new webhook row: one statement whatever the input (defaults are filled in here). */
type NewWebhookRow = Omit<WebhookRow, "consecutive_failures" | "logs_total" | "previous_secret" | "previous_secret_expires_at">;

const NEW_WEBHOOK_COLUMNS = [
  "id", "agent_id", "campaign_id", "name", "webhook_url", "webhook_secret", "events", "timeout", "max_retries", "enabled",
  "include_call_events", "created_at", "updated_at", "deleted_at", "http_method", "authorization_scheme",
  "authorization_credentials", "custom_headers", "payload_templates",
] as const satisfies ReadonlyArray<keyof NewWebhookRow>;

const insertWebhook = prepare((db, v: NewWebhookRow) =>
  db
    .insertInto("webhooks")
    .values(Object.fromEntries(NEW_WEBHOOK_COLUMNS.map((column) => [column, v[column]])) as NewWebhookRow),
);

/** The row a create inserts: every column, defaults filled in here, so that one statement serves any input. */
function newWebhookRow(database: Database, owner: Owner, input: WebhookInput, now: number): WebhookRow {
  const delivery: DeliveryOptions = { ...DEFAULT_DELIVERY_OPTIONS, ...definedOnly(input) };
  return {
    id: newId(now),
    agent_id: owner.kind === "agent" ? owner.id : null,
    campaign_id: owner.kind === "campaign" ? owner.id : null,
    name: input.name,
    webhook_url: input.webhookUrl,
    webhook_secret: input.webhookSecret,
    events: toJsonText(input.events),
    timeout: input.timeout,
    max_retries: input.maxRetries,
    enabled: toDbBoolean(database, input.enabled),
    include_call_events: toDbBoolean(database, input.includeCallEvents ?? false),
    created_at: now,
    updated_at: now,
    deleted_at: null,
    http_method: delivery.httpMethod,
    authorization_scheme: delivery.authorizationScheme,
    authorization_credentials: delivery.authorizationCredentials === null ? null : toJsonText(delivery.authorizationCredentials),
    custom_headers: toJsonText(delivery.customHeaders),
    payload_templates: toJsonText(delivery.payloadTemplates),
    // The columns the INSERT leaves to their defaults.
    consecutive_failures: 0,
    logs_total: 0,
    previous_secret: null,
    previous_secret_expires_at: null,
  };
}

/** A create with no limit (fixtures, benchmarks); the API's creates go through createWebhookBelowLimit. */
export async function createWebhook(
  database: Database,
  owner: Owner,
  input: WebhookInput,
  options: { now?: number } = {},
): Promise<Webhook> {
  const row = newWebhookRow(database, owner, input, options.now ?? Date.now());
  await insertWebhook(database, row);
  // The row as inserted, not read back (toWebhook parses its JSON columns: nothing is shared with the input).
  return toWebhook(row);
}

/**
 * INSERT … SELECT the new row WHERE the owner has fewer than `max` webhooks (deleted ones aside): the count
 * and the insert are one statement, compiled once per owner kind. The values are the SELECT's parameters;
 * PostgreSQL types them from the columns they go into.
 */
function insertBelowLimit(column: "agent_id" | "campaign_id") {
  return prepare((db, v: NewWebhookRow & { max: number }) =>
    db
      .insertInto("webhooks")
      .columns(NEW_WEBHOOK_COLUMNS)
      .expression(
        db
          .selectNoFrom((eb) => NEW_WEBHOOK_COLUMNS.map((c) => eb.val(v[c]).as(c)))
          .where((eb) =>
            eb(eb.selectFrom("webhooks").select(eb.fn.countAll().as("n")).where(column, "=", v[column]).where("deleted_at", "is", null), "<", v.max),
          ),
      ),
  );
}
const insertWebhookBelowLimit = { agent: insertBelowLimit("agent_id"), campaign: insertBelowLimit("campaign_id") };

/**
 * PostgreSQL only: locks the owner's row until the end of the transaction, so that creates of one owner take
 * turns (NO KEY UPDATE: the foreign-key checks of other inserts, KEY SHARE, do not wait for it).
 */
const lockOwner = {
  agent: prepare((db, v: { id: string }) => db.selectFrom("agents").select("id").where("id", "=", v.id).forNoKeyUpdate()),
  campaign: prepare((db, v: { id: string }) => db.selectFrom("campaigns").select("id").where("id", "=", v.id).forNoKeyUpdate()),
};

/**
 * Creates the webhook unless its owner already has `max` (deleted ones aside): undefined then, nothing
 * written. Exact under concurrent creates on both databases: on SQLite the one statement runs under the
 * single write lock; on PostgreSQL (READ COMMITTED, where two statements at once could both count max − 1)
 * the owner's row is locked first, in the same transaction, and the INSERT's count, a later statement,
 * sees every create committed before it got the lock.
 */
export async function createWebhookBelowLimit(
  database: Database,
  owner: Owner,
  input: WebhookInput,
  max: number,
  options: { now?: number } = {},
): Promise<Webhook | undefined> {
  const row = newWebhookRow(database, owner, input, options.now ?? Date.now());
  const insert = async (db: Database) => (await insertWebhookBelowLimit[owner.kind](db, { ...row, max })).numAffectedRows === 1n;
  const inserted =
    database.dialect === "postgres"
      ? await inTransaction(database, async (tx) => {
          await lockOwner[owner.kind](tx, { id: owner.id });
          return insert(tx);
        })
      : await insert(database);
  return inserted ? toWebhook(row) : undefined;
}

/** Oldest first. */
export async function listWebhooks(database: Database, owner: Owner): Promise<Webhook[]> {
  const rows = await visibleWebhooks(database.db, owner).orderBy("created_at").orderBy("id").execute();
  return rows.map(toWebhook);
}

/** The owner's enabled webhooks, oldest first: the candidates an owner's event fans out to. */
export async function listEnabledWebhooks(database: Database, owner: Owner): Promise<Webhook[]> {
  const rows = await enabledWebhooks(database, owner).orderBy("created_at").orderBy("id").execute();
  return rows.map(toWebhook);
}

/**
 * The campaign's enabled webhooks with include_call_events, oldest first: the campaign's candidates for an
 * agent's event of a call in the campaign.
 */
export async function listCallEventWebhooks(database: Database, campaignId: string): Promise<Webhook[]> {
  const rows = await enabledWebhooks(database, campaignOwner(campaignId))
    .where("include_call_events", "=", toDbBoolean(database, true))
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map(toWebhook);
}

function enabledWebhooks(database: Database, owner: Owner) {
  return visibleWebhooks(database.db, owner).where("enabled", "=", toDbBoolean(database, true));
}

// Every request on a webhook's path reads it (resources.ts): compiled once per owner kind.
const findByOwner = {
  agent: prepare((db, v: { ownerId: string; webhookId: string }) => visibleWebhooks(db, agentOwner(v.ownerId)).where("id", "=", v.webhookId)),
  campaign: prepare((db, v: { ownerId: string; webhookId: string }) => visibleWebhooks(db, campaignOwner(v.ownerId)).where("id", "=", v.webhookId)),
};

export async function findWebhook(database: Database, owner: Owner, webhookId: string): Promise<Webhook | undefined> {
  const { rows } = await findByOwner[owner.kind](database, { ownerId: owner.id, webhookId });
  return rows[0] === undefined ? undefined : toWebhook(rows[0]);
}

/**
 * Changes only the fields present in `changes` (`webhookSecret: null` clears the secret) and bumps
 * updated_at. Disabling cancels the queued deliveries in the same transaction. Undefined when not found.
 */
export async function updateWebhook(
  database: Database,
  owner: Owner,
  webhookId: string,
  changes: Partial<WebhookInput>,
  options: { now?: number } = {},
): Promise<Webhook | undefined> {
  const now = options.now ?? Date.now();
  const set: Updateable<WebhookTable> = { updated_at: now };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.webhookUrl !== undefined) set.webhook_url = changes.webhookUrl;
  if (changes.webhookSecret !== undefined) {
    // A plain change of secret switches at once: it ends any rotation's overlap.
    set.webhook_secret = changes.webhookSecret;
    set.previous_secret = null;
    set.previous_secret_expires_at = null;
  }
  if (changes.events !== undefined) set.events = toJsonText(changes.events);
  if (changes.timeout !== undefined) set.timeout = changes.timeout;
  if (changes.maxRetries !== undefined) set.max_retries = changes.maxRetries;
  if (changes.enabled !== undefined) set.enabled = toDbBoolean(database, changes.enabled);
  if (changes.includeCallEvents !== undefined) set.include_call_events = toDbBoolean(database, changes.includeCallEvents);
  Object.assign(set, deliveryOptionColumns(changes));

  return inTransaction(database, async (tx) => {
    const row = await tx.db
      .updateTable("webhooks")
      .set(set)
      .where("id", "=", webhookId)
      .where(ownerColumn(owner), "=", owner.id)
      .where("deleted_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) return undefined;
    if (changes.enabled === false) await cancelQueuedDeliveries(tx, webhookId, CANCELLED_BY_DISABLE, now);
    return toWebhook(row);
  });
}

/**
 * Rotation: `secret` becomes the webhook's secret and the one it replaces keeps signing beside it until
 * now + overlapMs (a secret older than that one is dropped). A webhook without a secret gets no previous
 * one. One statement, so two rotations at once cannot lose a secret between read and write.
 */
export async function rotateWebhookSecret(
  database: Database,
  owner: Owner,
  webhookId: string,
  secret: string,
  options: { now?: number; overlapMs: number },
): Promise<Webhook | undefined> {
  const now = options.now ?? Date.now();
  const expiresAt = now + options.overlapMs;
  const row = await database.db
    .updateTable("webhooks")
    .set({
      webhook_secret: secret,
      // SET reads the row as it was: the secret being replaced, not the new one.
      previous_secret: sql<string | null>`CASE WHEN webhook_secret = '' THEN NULL ELSE webhook_secret END`,
      previous_secret_expires_at: sql<number | null>`CASE WHEN webhook_secret IS NULL OR webhook_secret = '' THEN NULL ELSE CAST(${expiresAt} AS bigint) END`,
      updated_at: now,
    })
    .where("id", "=", webhookId)
    .where(ownerColumn(owner), "=", owner.id)
    .where("deleted_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? undefined : toWebhook(row);
}

/** The toggle: disabling cancels the queued deliveries in the same transaction. */
export function setWebhookEnabled(
  database: Database,
  owner: Owner,
  webhookId: string,
  enabled: boolean,
  options: { now?: number } = {},
): Promise<Webhook | undefined> {
  return updateWebhook(database, owner, webhookId, { enabled }, options);
}

/** Soft delete; cancels the queued deliveries in the same transaction. False when not found. */
export async function deleteWebhook(
  database: Database,
  owner: Owner,
  webhookId: string,
  options: { now?: number } = {},
): Promise<boolean> {
  const now = options.now ?? Date.now();
  return inTransaction(database, async (tx) => {
    const result = await tx.db
      .updateTable("webhooks")
      .set({ deleted_at: now, updated_at: now })
      .where("id", "=", webhookId)
      .where(ownerColumn(owner), "=", owner.id)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await cancelQueuedDeliveries(tx, webhookId, CANCELLED_BY_DELETE, now);
    return true;
  });
}
