// Intake: an event and, for each active webhook it goes to, a pending delivery due now and the log row of
// its first attempt. Many events go in one transaction (the intake's group commit calls this with a batch).
// The handoff: when the process that records the events runs a worker with free slots, up to that many of
// the deliveries are written already leased to it, as a claim would lease them, and returned ready to send.
import type { Compilable } from "kysely";
import { insertRows } from "../bulk.js";
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { toDbBoolean, toJsonText } from "../dialect.js";
import { newId } from "../ids.js";
import { ownerOfRow } from "../owner.js";
import { prepare } from "../prepared.js";
import type { Owner } from "../owner.js";
import type { DeliveryTable, LogTable } from "../schema.js";
import { toClaimedDelivery, WEBHOOK_SEND_COLUMNS, type ClaimedDelivery, type WebhookSendRow } from "./claim.js";
import { pendingLogRow } from "./pending-log-row.js";
import { LogCountDeltas, recordLogChanges } from "./log-counts.js";

export interface DeliveryIds {
  eventId: string;
  deliveryId: string;
  webhookId: string;
  /** The log row of the first attempt. */
  logId: string;
}

export interface RecordEventInput {
  /** Who the event belongs to (events.agent_id or events.campaign_id); idempotency keys are per source. */
  source: Owner;
  /** Only for an agent source: the campaign its call belongs to (events.campaign_id). */
  campaignId?: string | null;
  event: string;
  data: unknown;
  occurredAt: number;
  idempotencyKey?: string | null;
  /**
   * The webhooks to fan out to, as chosen by the caller (subscribed to `event`). Any that is disabled,
   * deleted or, when the transaction runs, neither the source's nor (agent source) the campaign's, is skipped.
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
  /** Those of its deliveries written leased to the handoff's worker (none without a HandoffLease). */
  handedOver: ClaimedDelivery[];
}

/**
 * The handoff: deliveries to write already leased to a worker of this process, so that it sends them
 * without a claim. The lease is the one a claim at `now` would take (owner, expiry now + leaseMs, and
 * next_attempt_at moved to the expiry): if the process dies, the lease runs out and any worker claims them.
 */
export interface HandoffLease {
  owner: string;
  /** The worker's clock when the transaction starts. Only deliveries due by then are leased. */
  now: number;
  leaseMs: number;
  /** Deliveries leased at most (the worker's free slots); the others stay unleased, for a claim. */
  limit: number;
}

/**
 * In one transaction, for each input in order: the event, then for each active target webhook a pending
 * delivery due now and the log row of its first attempt. A repeated (source, idempotencyKey) writes
 * nothing and answers with the first event's id (also when the first is earlier in the same batch); the
 * unique index decides, so two concurrent calls cannot both insert. Batching events into one transaction
 * is how the intake keeps up under load (group commit): the webhook check and the delivery, log and counter
 * writes are a few statements for the whole batch.
 */
export async function recordEvents(database: Database, inputs: readonly RecordEventInput[], handoff?: HandoffLease): Promise<RecordedEvent[]> {
  if (inputs.length === 0) return [];
  return inTransaction(database, async (tx) => {
    const results: RecordedEvent[] = [];
    const accepted: Array<{ input: RecordEventInput; eventId: string; now: number; result: RecordedEvent }> = [];
    for (const input of inputs) {
      const now = input.now ?? Date.now();
      const key = input.idempotencyKey ?? null;
      const eventId = newId(now);
      const { source } = input;
      const values = {
        id: eventId,
        agentId: source.kind === "agent" ? source.id : null,
        campaignId: source.kind === "campaign" ? source.id : (input.campaignId ?? null),
        event: input.event,
        data: toJsonText(input.data),
        occurredAt: input.occurredAt,
        key,
        now,
      };
      const inserted = (await (source.kind === "agent" ? insertAgentEvent : insertCampaignEvent)(tx, values)).rows[0];
      if (inserted === undefined) {
        let first = tx.db.selectFrom("events").select("id").where("idempotency_key", "=", key);
        first = source.kind === "agent" ? first.where("agent_id", "=", source.id) : first.where("campaign_id", "=", source.id).where("agent_id", "is", null);
        const existing = await first.executeTakeFirstOrThrow();
        results.push({ eventId: existing.id, deliveriesQueued: 0, replayed: true, deliveries: [], handedOver: [] });
        continue;
      }
      const result: RecordedEvent = { eventId, deliveriesQueued: 0, replayed: false, deliveries: [], handedOver: [] };
      results.push(result);
      accepted.push({ input, eventId, now, result });
    }

    const requested = [...new Set(accepted.flatMap(({ input }) => input.webhookIds))];
    if (requested.length === 0) return results;
    // Read without a lock: the webhook rows are locked only by the counter update at the very end, to
    // keep that hot lock short. A webhook disabled in between gets a delivery that the claim cancels (or,
    // handed over, one attempt that its outcome ends, as for an attempt in flight when a webhook is disabled).
    // What sending needs is read here too, for the handoff: the webhook as it is in this transaction.
    const active = new Map<string, { owner: Owner; row: WebhookSendRow }>();
    for (let i = 0; i < requested.length; i += IN_LIST_CHUNK) {
      const rows = await tx.db
        .selectFrom("webhooks as w")
        .select(["w.id as id", ...WEBHOOK_SEND_COLUMNS])
        .where("w.id", "in", requested.slice(i, i + IN_LIST_CHUNK))
        .where("w.enabled", "=", toDbBoolean(tx, true))
        .where("w.deleted_at", "is", null)
        .execute();
      for (const row of rows) active.set(row.id, { owner: ownerOfRow(row), row });
    }

    const deliveryRows: unknown[][] = [];
    const logRows: unknown[][] = [];
    const counts = new LogCountDeltas();
    const leaseExpiresAt = handoff === undefined ? null : handoff.now + handoff.leaseMs;
    let leases = handoff?.limit ?? 0;
    for (const { input, eventId, now, result } of accepted) {
      for (const webhookId of new Set(input.webhookIds)) {
        const webhook = active.get(webhookId);
        if (!goesTo(input, webhook?.owner)) continue;
        const ids: DeliveryIds = { eventId, deliveryId: newId(now), webhookId, logId: newId(now) };
        const payload = input.buildPayload(ids);
        // Handed over: due by the handoff's now (never one due later) and within the worker's free slots.
        const leased = leaseExpiresAt !== null && leases > 0 && now <= handoff!.now;
        result.deliveries.push(ids);
        // In DELIVERY_COLUMNS' order: a pending delivery with no attempt made.
        deliveryRows.push([
          ids.deliveryId,
          eventId,
          webhookId,
          "pending",
          0,
          leased ? leaseExpiresAt : now,
          leased ? handoff!.owner : null,
          leased ? leaseExpiresAt : null,
          ids.logId,
          now,
          now,
        ]);
        const row = pendingLogRow(ids, input.event, 1, payload, now);
        logRows.push(LOG_COLUMNS.map((column) => row[column]));
        counts.add(row, "pending");
        if (leased) {
          leases--;
          const attempt = { ...ids, event: input.event, attempt: 1, payload };
          result.handedOver.push(toClaimedDelivery(attempt, webhook!.row, handoff!.now, leaseExpiresAt));
        }
      }
      result.deliveriesQueued = result.deliveries.length;
    }
    if (deliveryRows.length === 0) return results;
    for (let i = 0; i < deliveryRows.length; i += INSERT_CHUNK) {
      await insertRows(tx, "deliveries", DELIVERY_COLUMNS, deliveryRows.slice(i, i + INSERT_CHUNK));
      await insertRows(tx, "logs", LOG_COLUMNS, logRows.slice(i, i + INSERT_CHUNK));
    }
    await recordLogChanges(tx, counts);
    return results;
  });
}

type EventValues = { id: string; agentId: string | null; campaignId: string | null; event: string; data: string; occurredAt: number; key: string | null; now: number };
const eventRow = (v: EventValues) => ({
  id: v.id,
  agent_id: v.agentId,
  campaign_id: v.campaignId,
  event: v.event,
  data: v.data,
  occurred_at: v.occurredAt,
  idempotency_key: v.key,
  created_at: v.now,
});
// On PostgreSQL this waits for a concurrent insert of the same key and then does nothing if that
// one committed; the SELECT after it (a new snapshot under READ COMMITTED) then sees its row.
// A campaign's own events are unique by the partial index (campaign_id, key) WHERE agent_id IS NULL:
// the same WHERE names that index as the conflict target.
const insertAgentEvent = prepare<EventValues, Compilable<{ id: string }>>((db, v) =>
  db.insertInto("events").values(eventRow(v)).onConflict((oc) => oc.columns(["agent_id", "idempotency_key"]).doNothing()).returning("id"),
);
const insertCampaignEvent = prepare<EventValues, Compilable<{ id: string }>>((db, v) =>
  db
    .insertInto("events")
    .values(eventRow(v))
    .onConflict((oc) => oc.columns(["campaign_id", "idempotency_key"]).where("agent_id", "is", null).doNothing())
    .returning("id"),
);

/** Whether an event may fan out to a webhook of this owner: the source's own, or (agent source) its call's campaign's. */
function goesTo(input: RecordEventInput, owner: Owner | undefined): boolean {
  if (owner === undefined) return false;
  if (owner.kind === input.source.kind && owner.id === input.source.id) return true;
  return input.source.kind === "agent" && owner.kind === "campaign" && owner.id === (input.campaignId ?? undefined);
}

/** One event: recordEvents of one. */
export async function recordEvent(database: Database, input: RecordEventInput): Promise<RecordedEvent> {
  const [result] = await recordEvents(database, [input]);
  return result!;
}

/**
 * The columns the intake writes, as SQL text rather than Kysely's builder: building a fan-out's thousand rows
 * of value nodes cost more CPU than the database took to insert them. A log row's other columns stay NULL.
 */
const DELIVERY_COLUMNS = [
  "id", "event_id", "webhook_id", "status", "attempts", "next_attempt_at", "lease_owner", "lease_expires_at", "current_log_id", "created_at", "updated_at",
] as const satisfies ReadonlyArray<keyof DeliveryTable>;
const LOG_COLUMNS = ["id", "webhook_id", "delivery_id", "event", "attempt", "status", "request_payload", "created_at"] as const satisfies ReadonlyArray<keyof LogTable>;
/** Rows per multi-row INSERT: 1,000 × 11 columns stays below SQLite's 32,766 parameters (PostgreSQL's 65,535). */
const INSERT_CHUNK = 1_000;
const IN_LIST_CHUNK = 500;
