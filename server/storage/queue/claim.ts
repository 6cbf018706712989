// Claim: the worker leases a batch of due deliveries, with what sending them needs, in one transaction.
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { forUpdateSkipLocked, fromDbBoolean, fromJsonText, fromNullableJsonText, preferOrderedIndexScans } from "../dialect.js";
import { idIn, named } from "../named-statements.js";
import { ownerOfRow } from "../owner.js";
import type { Owner } from "../owner.js";
import { signingSecrets } from "../webhooks.js";
import { LogCountDeltas, writeLogCounts } from "./log-counts.js";
import type { AuthorizationCredentials, AuthorizationScheme, CustomHeader, HttpMethod } from "../webhooks.js";

export const CANCELLED_WEBHOOK_INACTIVE = "Delivery cancelled: the webhook is disabled or deleted.";

export interface ClaimOptions {
  /** Unique per worker process (e.g. a newId()): outcomes are recorded only under the same owner. */
  owner: string;
  limit: number;
  /** How long the claim holds; after that another worker may take the delivery again. */
  leaseMs: number;
  now: number;
}

/** A claimed delivery with what sending it needs: the webhook's configuration as it is now. */
export interface ClaimedDelivery {
  deliveryId: string;
  eventId: string;
  webhookId: string;
  /** Whose webhook it is, an agent or a campaign (not the worker holding the lease: that is ClaimOptions.owner). */
  webhookOwner: Owner;
  event: string;
  /** The log row this attempt will be recorded in, and its attempt number (1 = first try). */
  logId: string;
  attempt: number;
  payload: string;
  webhookUrl: string;
  /** What to sign with at this claim's `now`: the current secret, and the previous one during a rotation's overlap. Never log them. */
  webhookSecrets: string[];
  /** Seconds. */
  timeout: number;
  maxRetries: number;
  leaseExpiresAt: number;
  /** The webhook's delivery options as they are now (the body's template was applied when it was queued). */
  httpMethod: HttpMethod;
  authorizationScheme: AuthorizationScheme;
  /** Secret: never log it. */
  authorizationCredentials: AuthorizationCredentials | null;
  customHeaders: CustomHeader[];
}

/**
 * Leases up to `limit` due deliveries (pending, next_attempt_at ≤ now), longest due first, until
 * now + leaseMs; a delivery whose lease has run out (now ≥ lease_expires_at) is due again. The
 * returned batch is in no particular order.
 * On PostgreSQL concurrent claimers skip each other's rows (FOR UPDATE SKIP LOCKED), so no delivery is
 * handed to two of them. Deliveries whose webhook has since been disabled or deleted are cancelled and
 * not returned.
 */
export async function claimDueDeliveries(database: Database, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  const { owner, limit, leaseMs, now } = options;
  const leaseExpiresAt = now + leaseMs;
  return inTransaction(database, async (tx) => {
    await preferOrderedIndexScans(tx);
    const due = forUpdateSkipLocked(
      tx,
      tx.db
        .selectFrom("deliveries")
        .select("id")
        .where("status", "=", "pending")
        .where("next_attempt_at", "<=", now)
        .orderBy("next_attempt_at")
        .limit(limit),
    );
    // The lease moves next_attempt_at to its expiry: a leased delivery is simply not due until the lease
    // runs out, so "due" stays one index range (no filter on lease columns that the planner could
    // misjudge) and an expired lease needs no sweeper.
    const { rows: claimed } = await tx.db.executeQuery(
      named(
        tx,
        tx.db
          .updateTable("deliveries")
          .set({ lease_owner: owner, lease_expires_at: leaseExpiresAt, next_attempt_at: leaseExpiresAt })
          .where("id", "in", due)
          .returning("id")
          .compile(),
      ),
    );
    if (claimed.length === 0) return [];

    const query = tx.db
      .selectFrom("deliveries as d")
      .innerJoin("webhooks as w", "w.id", "d.webhook_id")
      .innerJoin("logs as l", "l.id", "d.current_log_id")
      .select([
        "d.id as deliveryId",
        "d.event_id as eventId",
        "d.webhook_id as webhookId",
        ...WEBHOOK_SEND_COLUMNS,
        "w.enabled as enabled",
        "w.deleted_at as deletedAt",
        "l.id as logId",
        "l.event as event",
        "l.attempt as attempt",
        "l.request_payload as payload",
      ])
      .where(idIn(tx, "d.id", claimed.map((c) => c.id)));
    const { rows } = await tx.db.executeQuery(named(tx, query.compile()));

    const inactive = rows.filter((r) => !fromDbBoolean(r.enabled) || r.deletedAt !== null);
    if (inactive.length > 0) {
      // Normally cancelled by the disable/delete itself; this covers an event recorded in the same instant.
      await closeAsCancelled(tx, inactive, CANCELLED_WEBHOOK_INACTIVE, now);
    }
    return rows.filter((r) => fromDbBoolean(r.enabled) && r.deletedAt === null).map((r) => toClaimedDelivery(r, r, now, leaseExpiresAt));
  });
}

/**
 * The webhook's columns that sending needs (table alias `w`): the claim reads them with its deliveries, and
 * the intake reads them when it hands the deliveries it records over to its worker (record-events.ts).
 */
export const WEBHOOK_SEND_COLUMNS = [
  "w.agent_id as agent_id",
  "w.campaign_id as campaign_id",
  "w.webhook_url as webhookUrl",
  "w.webhook_secret as webhookSecret",
  "w.previous_secret as previousSecret",
  "w.previous_secret_expires_at as previousSecretExpiresAt",
  "w.timeout as timeout",
  "w.max_retries as maxRetries",
  "w.http_method as httpMethod",
  "w.authorization_scheme as authorizationScheme",
  "w.authorization_credentials as authorizationCredentials",
  "w.custom_headers as customHeaders",
] as const;

/** A webhook row as WEBHOOK_SEND_COLUMNS reads it. */
export interface WebhookSendRow {
  agent_id: string | null;
  campaign_id: string | null;
  webhookUrl: string;
  webhookSecret: string | null;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  timeout: number;
  maxRetries: number;
  httpMethod: string;
  authorizationScheme: string;
  authorizationCredentials: string | null;
  customHeaders: string;
}

/** The attempt's own part of a ClaimedDelivery: its delivery, log row and body. */
export type AttemptOf = Pick<ClaimedDelivery, "deliveryId" | "eventId" | "webhookId" | "event" | "logId" | "attempt" | "payload">;

/** A leased delivery, ready to send: the attempt and its webhook as read under the lease at `now`. */
export function toClaimedDelivery(attempt: AttemptOf, w: WebhookSendRow, now: number, leaseExpiresAt: number): ClaimedDelivery {
  return {
    deliveryId: attempt.deliveryId,
    eventId: attempt.eventId,
    webhookId: attempt.webhookId,
    webhookOwner: ownerOfRow(w),
    event: attempt.event,
    logId: attempt.logId,
    attempt: attempt.attempt,
    payload: attempt.payload,
    webhookUrl: w.webhookUrl,
    webhookSecrets: signingSecrets(w, now),
    timeout: w.timeout,
    maxRetries: w.maxRetries,
    leaseExpiresAt,
    httpMethod: w.httpMethod as HttpMethod,
    authorizationScheme: w.authorizationScheme as AuthorizationScheme,
    authorizationCredentials: fromNullableJsonText<AuthorizationCredentials>(w.authorizationCredentials),
    customHeaders: fromJsonText<CustomHeader[]>(w.customHeaders),
  };
}

async function closeAsCancelled(
  tx: Database,
  deliveries: ReadonlyArray<{ deliveryId: string; logId: string }>,
  reason: string,
  now: number,
): Promise<void> {
  const closed = await tx.db
    .updateTable("logs")
    .set({ status: "failed", error: reason })
    .where(idIn(tx, "id", deliveries.map((d) => d.logId)))
    .where("status", "=", "pending")
    .returning(["webhook_id", "event", "created_at"])
    .execute();
  await tx.db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_owner: null, lease_expires_at: null, updated_at: now })
    .where(idIn(tx, "id", deliveries.map((d) => d.deliveryId)))
    .execute();
  // Last in the claim, without the webhook's lock (see log-counts.ts: a disable holding it may be waiting
  // on these very deliveries).
  const counts = new LogCountDeltas();
  for (const row of closed) counts.move(row, "pending", "failed");
  await writeLogCounts(tx, counts);
}
