// The delivery queue. A delivery is one event bound for one webhook; each attempt at it is a log row.
// The worker claims due deliveries in batches under a lease, sends them, and records the outcomes in
// one transaction per batch: the throughput target (≥ 5,000 deliveries/s) is met by round trips per
// batch, not per delivery.
//
// Locks on PostgreSQL: the webhook rows are hot (every batch bumps their counters), so writers here lock
// them last, in id order, just before commit: deliveries → logs → webhooks. Disabling a webhook locks it
// first but then touches only deliveries nobody has leased, which none of these writers waits on.
import type { Insertable } from "kysely";
import { executeWithValues } from "./bulk.js";
import type { Database } from "./db.js";
import { inTransaction } from "./db.js";
import { forUpdate, forUpdateSkipLocked, fromDbBoolean, preferOrderedIndexScans, toDbBoolean, toJsonText } from "./dialect.js";
import { firstIdAt, newId } from "./ids.js";
import { addToLogTotals, lockWebhooksInOrder } from "./logs.js";
import type { DeliveryStatus, DeliveryTable, LogTable } from "./schema.js";

export const CANCELLED_WEBHOOK_INACTIVE = "Delivery cancelled: the webhook is disabled or deleted.";

// ---------------------------------------------------------------------------------------------------
// Intake

export interface DeliveryIds {
  eventId: string;
  deliveryId: string;
  webhookId: string;
  /** The log row of the first attempt. */
  logId: string;
}

export interface RecordEventInput {
  agentId: string;
  event: string;
  data: unknown;
  occurredAt: number;
  idempotencyKey?: string | null;
  /**
   * The webhooks to fan out to, as chosen by the caller (subscribed to `event`). Any that is disabled,
   * deleted or not the agent's when the transaction runs is skipped.
   */
  webhookIds: readonly string[];
  /**
   * The exact body for one delivery. The ids are made before the rows are written so that the body
   * can carry them (e.g. the delivery id as the Standard Webhooks `webhook-id`).
   */
  buildPayload: (ids: DeliveryIds) => string;
  now?: number;
}

export interface RecordedEvent {
  eventId: string;
  deliveriesQueued: number;
  /** True when the idempotency key had been seen: nothing was written and eventId is the first event's. */
  replayed: boolean;
  deliveries: DeliveryIds[];
}

/**
 * In one transaction, for each input in order: the event, then for each active target webhook a pending
 * delivery due now and the log row of its first attempt. A repeated (agentId, idempotencyKey) writes
 * nothing and answers with the first event's id (also when the first is earlier in the same batch); the
 * unique index decides, so two concurrent calls cannot both insert. Batching events into one transaction
 * is how the intake keeps up under load (group commit): the webhook check and the delivery, log and counter
 * writes are a few statements for the whole batch.
 */
export async function recordEvents(database: Database, inputs: readonly RecordEventInput[]): Promise<RecordedEvent[]> {
  if (inputs.length === 0) return [];
  return inTransaction(database, async (tx) => {
    const results: RecordedEvent[] = [];
    const accepted: Array<{ input: RecordEventInput; eventId: string; now: number; result: RecordedEvent }> = [];
    for (const input of inputs) {
      const now = input.now ?? Date.now();
      const key = input.idempotencyKey ?? null;
      const eventId = newId(now);
      const inserted = await tx.db
        .insertInto("events")
        .values({
          id: eventId,
          agent_id: input.agentId,
          event: input.event,
          data: toJsonText(input.data),
          occurred_at: input.occurredAt,
          idempotency_key: key,
          created_at: now,
        })
        // On PostgreSQL this waits for a concurrent insert of the same key and then does nothing if that
        // one committed; the SELECT below (a new snapshot under READ COMMITTED) then sees its row.
        .onConflict((oc) => oc.columns(["agent_id", "idempotency_key"]).doNothing())
        .returning("id")
        .executeTakeFirst();
      if (inserted === undefined) {
        const existing = await tx.db
          .selectFrom("events")
          .select("id")
          .where("agent_id", "=", input.agentId)
          .where("idempotency_key", "=", key)
          .executeTakeFirstOrThrow();
        results.push({ eventId: existing.id, deliveriesQueued: 0, replayed: true, deliveries: [] });
        continue;
      }
      const result: RecordedEvent = { eventId, deliveriesQueued: 0, replayed: false, deliveries: [] };
      results.push(result);
      accepted.push({ input, eventId, now, result });
    }

    const requested = [...new Set(accepted.flatMap(({ input }) => input.webhookIds))];
    if (requested.length === 0) return results;
    // Read without a lock: the webhook rows are locked only by the counter update at the very end, to
    // keep that hot lock short. A webhook disabled in between gets a delivery that the claim cancels.
    const active = new Map<string, string>();
    for (let i = 0; i < requested.length; i += IN_LIST_CHUNK) {
      const rows = await tx.db
        .selectFrom("webhooks")
        .select(["id", "agent_id"])
        .where("id", "in", requested.slice(i, i + IN_LIST_CHUNK))
        .where("enabled", "=", toDbBoolean(tx, true))
        .where("deleted_at", "is", null)
        .execute();
      for (const row of rows) active.set(row.id, row.agent_id);
    }

    const deliveryRows: Insertable<DeliveryTable>[] = [];
    const logRows: LogTable[] = [];
    const totals = new Map<string, number>();
    for (const { input, eventId, now, result } of accepted) {
      for (const webhookId of new Set(input.webhookIds)) {
        if (active.get(webhookId) !== input.agentId) continue;
        const ids: DeliveryIds = { eventId, deliveryId: newId(now), webhookId, logId: newId(now) };
        result.deliveries.push(ids);
        deliveryRows.push({
          id: ids.deliveryId,
          event_id: eventId,
          webhook_id: webhookId,
          status: "pending",
          attempts: 0,
          next_attempt_at: now,
          lease_owner: null,
          lease_expires_at: null,
          current_log_id: ids.logId,
          created_at: now,
          updated_at: now,
        });
        logRows.push(pendingLogRow(ids, input.event, 1, input.buildPayload(ids), now));
        totals.set(webhookId, (totals.get(webhookId) ?? 0) + 1);
      }
      result.deliveriesQueued = result.deliveries.length;
    }
    if (deliveryRows.length === 0) return results;
    for (let i = 0; i < deliveryRows.length; i += INSERT_CHUNK) {
      await tx.db.insertInto("deliveries").values(deliveryRows.slice(i, i + INSERT_CHUNK)).execute();
      await tx.db.insertInto("logs").values(logRows.slice(i, i + INSERT_CHUNK)).execute();
    }
    await addToLogTotals(tx, totals);
    return results;
  });
}

/** One event: recordEvents of one. */
export async function recordEvent(database: Database, input: RecordEventInput): Promise<RecordedEvent> {
  const [result] = await recordEvents(database, [input]);
  return result!;
}

/** Rows per multi-row INSERT: 14 columns × 500 stays far below both databases' parameter limits. */
const INSERT_CHUNK = 500;
const IN_LIST_CHUNK = 500;

function pendingLogRow(
  ids: { logId: string; webhookId: string; deliveryId: string },
  event: string,
  attempt: number,
  requestPayload: string,
  now: number,
): LogTable {
  return {
    id: ids.logId,
    webhook_id: ids.webhookId,
    delivery_id: ids.deliveryId,
    event,
    attempt,
    status: "pending",
    http_status: null,
    request_payload: requestPayload,
    response_body: null,
    response_headers: null,
    error: null,
    duration_ms: null,
    delivered_at: null,
    created_at: now,
  };
}

// ---------------------------------------------------------------------------------------------------
// Claim

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
  agentId: string;
  event: string;
  /** The log row this attempt will be recorded in, and its attempt number (1 = first try). */
  logId: string;
  attempt: number;
  payload: string;
  webhookUrl: string;
  webhookSecret: string | null;
  /** Seconds. */
  timeout: number;
  maxRetries: number;
  leaseExpiresAt: number;
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
    const claimed = await tx.db
      .updateTable("deliveries")
      .set({ lease_owner: owner, lease_expires_at: leaseExpiresAt, next_attempt_at: leaseExpiresAt })
      .where("id", "in", due)
      .returning("id")
      .execute();
    if (claimed.length === 0) return [];

    const rows = await tx.db
      .selectFrom("deliveries as d")
      .innerJoin("webhooks as w", "w.id", "d.webhook_id")
      .innerJoin("logs as l", "l.id", "d.current_log_id")
      .select([
        "d.id as deliveryId",
        "d.event_id as eventId",
        "d.webhook_id as webhookId",
        "w.agent_id as agentId",
        "w.webhook_url as webhookUrl",
        "w.webhook_secret as webhookSecret",
        "w.timeout as timeout",
        "w.max_retries as maxRetries",
        "w.enabled as enabled",
        "w.deleted_at as deletedAt",
        "l.id as logId",
        "l.event as event",
        "l.attempt as attempt",
        "l.request_payload as payload",
      ])
      .where("d.id", "in", claimed.map((c) => c.id))
      .execute();

    const inactive = rows.filter((r) => !fromDbBoolean(r.enabled) || r.deletedAt !== null);
    if (inactive.length > 0) {
      // Normally cancelled by the disable/delete itself; this covers an event recorded in the same instant.
      await closeAsCancelled(tx, inactive, CANCELLED_WEBHOOK_INACTIVE, now);
    }
    return rows
      .filter((r) => fromDbBoolean(r.enabled) && r.deletedAt === null)
      .map(
        (r): ClaimedDelivery => ({
          deliveryId: r.deliveryId,
          eventId: r.eventId,
          webhookId: r.webhookId,
          agentId: r.agentId,
          event: r.event,
          logId: r.logId,
          attempt: r.attempt,
          payload: r.payload,
          webhookUrl: r.webhookUrl,
          webhookSecret: r.webhookSecret,
          timeout: r.timeout,
          maxRetries: r.maxRetries,
          leaseExpiresAt,
        }),
      );
  });
}

async function closeAsCancelled(
  tx: Database,
  deliveries: ReadonlyArray<{ deliveryId: string; logId: string }>,
  reason: string,
  now: number,
): Promise<void> {
  await tx.db
    .updateTable("logs")
    .set({ status: "failed", error: reason })
    .where("id", "in", deliveries.map((d) => d.logId))
    .where("status", "=", "pending")
    .execute();
  await tx.db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_owner: null, lease_expires_at: null, updated_at: now })
    .where("id", "in", deliveries.map((d) => d.deliveryId))
    .execute();
}

/**
 * Cancels a webhook's queued deliveries and closes their queued log rows as failed with `reason`. Ones
 * under a lease are left to finish their attempt: recordAttempts then ends them instead of retrying.
 * Call inside the transaction that disables or deletes the webhook. Returns how many were cancelled.
 */
export async function cancelQueuedDeliveries(tx: Database, webhookId: string, reason: string, now: number): Promise<number> {
  const queued = () =>
    tx.db
      .selectFrom("deliveries")
      .where("webhook_id", "=", webhookId)
      .where("status", "=", "pending")
      .where("lease_owner", "is", null);
  // The logs go first, and on PostgreSQL the FOR UPDATE keeps claimers off these deliveries until the
  // second statement has cancelled them.
  await tx.db
    .updateTable("logs")
    .set({ status: "failed", error: reason })
    .where("id", "in", forUpdate(tx, queued().select("current_log_id")))
    .where("status", "=", "pending")
    .execute();
  const result = await tx.db
    .updateTable("deliveries")
    .set({ status: "cancelled", updated_at: now })
    .where("webhook_id", "=", webhookId)
    .where("status", "=", "pending")
    .where("lease_owner", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// ---------------------------------------------------------------------------------------------------
// Outcomes

const CLOSE_ATTEMPTS =
  "UPDATE logs SET status = r.status, http_status = r.http_status, response_body = r.response_body, " +
  "response_headers = r.response_headers, error = r.error, duration_ms = r.duration_ms, delivered_at = r.delivered_at " +
  "FROM r WHERE logs.id = r.id";

const QUEUE_NEXT_ATTEMPTS =
  "INSERT INTO logs (id, webhook_id, delivery_id, event, attempt, status, request_payload, created_at) " +
  "SELECT n.id, p.webhook_id, p.delivery_id, p.event, p.attempt + 1, 'pending', p.request_payload, n.created_at " +
  "FROM n JOIN logs p ON p.id = n.previous_id";

const MOVE_DELIVERIES =
  "UPDATE deliveries SET status = t.status, attempts = deliveries.attempts + 1, " +
  "next_attempt_at = COALESCE(t.next_attempt_at, deliveries.next_attempt_at), current_log_id = t.current_log_id, " +
  "lease_owner = NULL, lease_expires_at = NULL, updated_at = t.updated_at " +
  "FROM t WHERE deliveries.id = t.id";

const UPDATE_WEBHOOK_COUNTERS =
  "UPDATE webhooks SET " +
  "consecutive_failures = CASE WHEN c.reset = 1 THEN c.failures ELSE webhooks.consecutive_failures + c.failures END, " +
  "logs_total = webhooks.logs_total + c.new_logs " +
  "FROM c WHERE webhooks.id = c.id";

export interface AttemptOutcome {
  deliveryId: string;
  logId: string;
  webhookId: string;
  /** success: 2xx. retrying: failed, another attempt at `nextAttemptAt`. failed: failed, no more attempts. */
  status: "success" | "retrying" | "failed";
  httpStatus?: number | null;
  responseBody?: string | null;
  responseHeaders?: Record<string, string> | null;
  error?: string | null;
  durationMs: number;
  deliveredAt?: number | null;
  /** Required when status is "retrying". */
  nextAttemptAt?: number;
}

export interface RecordAttemptsInput {
  /** The owner that claimed the deliveries; outcomes of deliveries leased to someone else are skipped. */
  owner: string;
  outcomes: readonly AttemptOutcome[];
  now?: number;
}

export interface RecordAttemptsResult {
  /** Delivery ids whose outcome was written. */
  recorded: string[];
  /** Delivery ids not written: the lease was lost (re-claimed by another worker) or already recorded. */
  skipped: string[];
}

/**
 * Writes a batch of attempt outcomes in one transaction: fills each attempt's log row; for "retrying"
 * adds the next attempt's pending row (same request_payload) and reschedules the delivery; "success" and
 * "failed" finish it. Every delivery's lease is released. consecutive_failures: reset on success, +1 per
 * failed attempt. An outcome counts only while the lease is still `owner`'s, so a delivery re-claimed
 * after its lease expired is never recorded twice. A "retrying" outcome for a webhook that was disabled
 * or deleted meanwhile is recorded as "failed" and the delivery cancelled.
 */
export async function recordAttempts(database: Database, input: RecordAttemptsInput): Promise<RecordAttemptsResult> {
  const now = input.now ?? Date.now();
  const unique = new Map<string, AttemptOutcome>();
  for (const outcome of input.outcomes) {
    if (outcome.status === "retrying" && outcome.nextAttemptAt === undefined) {
      throw new Error(`recordAttempts: retrying outcome for delivery ${outcome.deliveryId} has no nextAttemptAt`);
    }
    if (!unique.has(outcome.deliveryId)) unique.set(outcome.deliveryId, outcome);
  }
  if (unique.size === 0) return { recorded: [], skipped: [] };

  return inTransaction(database, async (tx) => {
    // The webhook rows are not locked here but by the counter update at the end (see step 4), so that
    // concurrent batches for the same webhook hold its row only briefly.
    const leased = await forUpdate(
      tx,
      tx.db
        .selectFrom("deliveries as d")
        .innerJoin("webhooks as w", "w.id", "d.webhook_id")
        .select(["d.id", "d.status", "d.webhook_id", "d.current_log_id", "w.enabled", "w.deleted_at"])
        .where("d.id", "in", [...unique.keys()])
        .where("d.lease_owner", "=", input.owner),
      "d",
    ).execute();
    // status is checked here, not in SQL: `status = 'pending'` matches the deliveries_due predicate and
    // tempts PostgreSQL into AND-ing with a scan of the whole queue index.
    const ours = new Map(leased.filter((d) => d.status === "pending").map((d) => [d.id, d]));
    const activeWebhooks = new Set(
      leased.filter((d) => fromDbBoolean(d.enabled) && d.deleted_at === null).map((d) => d.webhook_id),
    );

    const applied: Array<AttemptOutcome & { final: "success" | "failed" | "cancelled" | null; nextLogId: string | null }> = [];
    const skipped: string[] = [];
    for (const outcome of unique.values()) {
      const delivery = ours.get(outcome.deliveryId);
      if (delivery === undefined || delivery.current_log_id !== outcome.logId || delivery.webhook_id !== outcome.webhookId) {
        skipped.push(outcome.deliveryId);
        continue;
      }
      if (outcome.status === "retrying" && !activeWebhooks.has(outcome.webhookId)) {
        applied.push({ ...outcome, status: "failed", final: "cancelled", nextLogId: null });
      } else if (outcome.status === "retrying") {
        applied.push({ ...outcome, final: null, nextLogId: newId(now) });
      } else {
        applied.push({ ...outcome, final: outcome.status, nextLogId: null });
      }
    }
    if (applied.length === 0) return { recorded: [], skipped };

    // 1. The attempts' own log rows.
    await executeWithValues(
      tx,
      {
        name: "r",
        columns: [
          ["id", "text"],
          ["status", "text"],
          ["http_status", "integer"],
          ["response_body", "text"],
          ["response_headers", "text"],
          ["error", "text"],
          ["duration_ms", "integer"],
          ["delivered_at", "bigint"],
        ],
        rows: applied.map((o) => [
          o.logId,
          o.status,
          o.httpStatus ?? null,
          o.responseBody ?? null,
          o.responseHeaders == null ? null : toJsonText(o.responseHeaders),
          o.error ?? null,
          Math.round(o.durationMs),
          o.deliveredAt ?? null,
        ]),
      },
      CLOSE_ATTEMPTS,
    );

    // 2. The next attempts' pending rows, copying event and request_payload from the row just closed.
    const retries = applied.filter((o) => o.nextLogId !== null);
    if (retries.length > 0) {
      await executeWithValues(
        tx,
        {
          name: "n",
          columns: [
            ["id", "text"],
            ["previous_id", "text"],
            ["created_at", "bigint"],
          ],
          rows: retries.map((o) => [o.nextLogId, o.logId, now]),
        },
        QUEUE_NEXT_ATTEMPTS,
      );
    }

    // 3. The deliveries: rescheduled or finished, lease released either way.
    await executeWithValues(
      tx,
      {
        name: "t",
        columns: [
          ["id", "text"],
          ["status", "text"],
          ["next_attempt_at", "bigint"],
          ["current_log_id", "text"],
          ["updated_at", "bigint"],
        ],
        rows: applied.map((o) => [
          o.deliveryId,
          o.final ?? "pending",
          o.final === null ? o.nextAttemptAt! : null,
          o.nextLogId ?? o.logId,
          now,
        ]),
      },
      MOVE_DELIVERIES,
    );

    // 4. Per webhook: the failure streak (walked in outcome order) and the new log rows.
    const perWebhook = new Map<string, { reset: boolean; failures: number; newLogs: number }>();
    for (const o of applied) {
      const w = perWebhook.get(o.webhookId) ?? { reset: false, failures: 0, newLogs: 0 };
      if (o.status === "success") {
        w.reset = true;
        w.failures = 0;
      } else {
        w.failures += 1;
      }
      if (o.nextLogId !== null) w.newLogs += 1;
      perWebhook.set(o.webhookId, w);
    }
    await lockWebhooksInOrder(tx, perWebhook.keys());
    await executeWithValues(
      tx,
      {
        name: "c",
        columns: [
          ["id", "text"],
          ["reset", "integer"],
          ["failures", "integer"],
          ["new_logs", "integer"],
        ],
        rows: [...perWebhook].map(([id, w]) => [id, w.reset ? 1 : 0, w.failures, w.newLogs]),
      },
      UPDATE_WEBHOOK_COUNTERS,
    );

    return { recorded: applied.map((o) => o.deliveryId), skipped };
  });
}

// ---------------------------------------------------------------------------------------------------
// Manual retry

/** The delivery's status now (a log row's status is that attempt's), or undefined once it is purged. */
export async function getDeliveryStatus(database: Database, deliveryId: string): Promise<DeliveryStatus | undefined> {
  const row = await database.db.selectFrom("deliveries").select("status").where("id", "=", deliveryId).executeTakeFirst();
  return row?.status;
}

export type ManualRetryResult =
  | {
      queued: true;
      /** The log row of the queued attempt. */
      logId: string;
      originalLogId: string;
      queuedAt: number;
      /**
       * True when the delivery was still queued (automatic retries not yet over, or an attempt under
       * way): no row was added, an unleased delivery was just made due now, and logId is its queued row.
       */
      alreadyQueued: boolean;
    }
  | { queued: false; reason: "log_not_found" | "no_delivery" };

/**
 * Re-opens the delivery of a log row: a new pending row with attempt = (highest attempt of the
 * delivery) + 1 and the same request_payload, due now; the original row is left as it was. It is sent
 * with the webhook's configuration at claim time. Whether the log may be retried (not a success, not
 * too old, webhook enabled) is the caller's rule: findLog and findWebhook give it what it needs.
 */
export async function queueManualRetry(
  database: Database,
  input: { webhookId: string; logId: string; now?: number },
): Promise<ManualRetryResult> {
  const now = input.now ?? Date.now();
  return inTransaction(database, async (tx) => {
    const original = await tx.db
      .selectFrom("logs")
      .select(["id", "delivery_id", "event", "attempt", "request_payload"])
      .where("id", "=", input.logId)
      .where("webhook_id", "=", input.webhookId)
      .executeTakeFirst();
    if (original === undefined) return { queued: false, reason: "log_not_found" };
    if (original.delivery_id === null) return { queued: false, reason: "no_delivery" };
    const delivery = await forUpdate(
      tx,
      tx.db.selectFrom("deliveries").select(["id", "status", "lease_owner", "current_log_id"]).where("id", "=", original.delivery_id),
    ).executeTakeFirst();
    if (delivery === undefined) return { queued: false, reason: "no_delivery" };

    if (delivery.status === "pending") {
      if (delivery.lease_owner === null) {
        await tx.db
          .updateTable("deliveries")
          .set({ next_attempt_at: now, updated_at: now })
          .where("id", "=", delivery.id)
          .where("next_attempt_at", ">", now)
          .execute();
      }
      return { queued: true, logId: delivery.current_log_id, originalLogId: original.id, queuedAt: now, alreadyQueued: true };
    }

    // Every new attempt row becomes the delivery's current one, so the current row has the highest attempt.
    const latest = await tx.db.selectFrom("logs").select("attempt").where("id", "=", delivery.current_log_id).executeTakeFirst();
    const highestAttempt = latest?.attempt ?? original.attempt;
    const ids = { logId: newId(now), webhookId: input.webhookId, deliveryId: delivery.id };
    await tx.db
      .insertInto("logs")
      .values(pendingLogRow(ids, original.event, highestAttempt + 1, original.request_payload, now))
      .execute();
    await tx.db
      .updateTable("deliveries")
      .set({
        status: "pending",
        next_attempt_at: now,
        current_log_id: ids.logId,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: now,
      })
      .where("id", "=", delivery.id)
      .execute();
    await addToLogTotals(tx, new Map([[input.webhookId, 1]]));
    return { queued: true, logId: ids.logId, originalLogId: original.id, queuedAt: now, alreadyQueued: false };
  });
}

// ---------------------------------------------------------------------------------------------------
// Retention

/**
 * Deletes at most `batchSize` finished deliveries created before `cutoffMs` and last changed before it,
 * and at most `batchSize` events created before it (their idempotency keys expire with them). Walks the
 * primary keys (UUIDv7, in creation order) like purgeLogsBefore. Logs are purged on their own; a log row
 * outliving its delivery can no longer be retried. Call again until both counts are below batchSize.
 */
export async function purgeFinishedDeliveriesBefore(
  database: Database,
  cutoffMs: number,
  batchSize: number,
): Promise<{ deliveries: number; events: number }> {
  return inTransaction(database, async (tx) => {
    await preferOrderedIndexScans(tx);
    const finished = forUpdateSkipLocked(
      tx,
      tx.db
        .selectFrom("deliveries")
        .select("id")
        .where("id", "<", firstIdAt(cutoffMs))
        .where("status", "<>", "pending")
        .where("updated_at", "<", cutoffMs)
        .orderBy("id")
        .limit(batchSize),
    );
    const deliveries = await tx.db.deleteFrom("deliveries").where("id", "in", finished).executeTakeFirst();
    const old = forUpdateSkipLocked(
      tx,
      tx.db
        .selectFrom("events")
        .select("id")
        .where("id", "<", firstIdAt(cutoffMs))
        .where("created_at", "<", cutoffMs)
        .orderBy("id")
        .limit(batchSize),
    );
    const events = await tx.db.deleteFrom("events").where("id", "in", old).executeTakeFirst();
    return { deliveries: Number(deliveries.numDeletedRows), events: Number(events.numDeletedRows) };
  });
}
