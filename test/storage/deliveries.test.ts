import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgent } from "../../server/storage/agents.js";
import type { Database } from "../../server/storage/db.js";
import { CANCELLED_WEBHOOK_INACTIVE, claimDueDeliveries, type ClaimedDelivery } from "../../server/storage/queue/claim.js";
import { queueManualRetry } from "../../server/storage/queue/manual-retry.js";
import { purgeBefore } from "../../server/storage/queue/purge.js";
import { recordAttempts, type AttemptOutcome } from "../../server/storage/queue/record-attempts.js";
import { recordEvent, recordEvents } from "../../server/storage/queue/record-events.js";
import { countLogs, findLog, insertTestLog, listLogs } from "../../server/storage/logs.js";
import { createWebhook, deleteWebhook, findWebhook, setWebhookEnabled, updateWebhook } from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { T0, addWebhooks, payloadFor, seedWebhook, webhookInput } from "./fixtures.js";

const LEASE = 30_000;

/** The purge's delivery and event counts (its log rows are tested in logs.test.ts). */
async function purgeFinishedDeliveriesBefore(database: Database, cutoffMs: number, batchSize: number) {
  const { deliveries, events } = await purgeBefore(database, cutoffMs, batchSize);
  return { deliveries, events };
}

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  function emit(agentId: string, webhookIds: string[], options: { now?: number; idempotencyKey?: string } = {}) {
    const now = options.now ?? T0;
    return recordEvent(database, {
      agentId,
      event: "event_phone_call_ended",
      data: { call_id: "call-uuid", duration: 45 },
      occurredAt: now - 5,
      idempotencyKey: options.idempotencyKey,
      webhookIds,
      buildPayload: payloadFor,
      now,
    });
  }

  function claim(owner: string, now: number, limit = 100) {
    return claimDueDeliveries(database, { owner, limit, leaseMs: LEASE, now });
  }

  function outcome(d: ClaimedDelivery, status: AttemptOutcome["status"], extra: Partial<AttemptOutcome> = {}): AttemptOutcome {
    const failed = status !== "success";
    return {
      deliveryId: d.deliveryId,
      logId: d.logId,
      webhookId: d.webhookId,
      status,
      httpStatus: failed ? 500 : 200,
      responseBody: failed ? "Internal Server Error" : '{"received":true}',
      responseHeaders: { "content-type": "application/json" },
      error: failed ? "HTTP 500 Internal Server Error" : null,
      durationMs: 142,
      deliveredAt: failed ? null : T0 + 142,
      ...extra,
    };
  }

  async function deliveryRow(id: string) {
    return database.db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  }

  describe("recordEvents (the intake's group commit)", () => {
    const input = (agentId: string, webhookIds: string[], idempotencyKey?: string) => ({
      agentId,
      event: "event_phone_call_ended",
      data: { call_id: "call-uuid" },
      occurredAt: T0,
      idempotencyKey,
      webhookIds,
      buildPayload: payloadFor,
      now: T0,
    });

    it("writes many events in one transaction, each with its own deliveries, and keeps the log totals", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const [second] = await addWebhooks(database, agent.id, 1);
      const results = await recordEvents(database, [input(agent.id, [webhook.id]), input(agent.id, [webhook.id, second!.id]), input(agent.id, [])]);
      expect(results.map((r) => r.deliveriesQueued)).toEqual([1, 2, 0]);
      expect(new Set(results.map((r) => r.eventId)).size).toBe(3);
      expect(await countLogs(database, webhook.id)).toBe(2);
      expect(await countLogs(database, second!.id)).toBe(1);
      for (const result of results) {
        for (const ids of result.deliveries) expect((await deliveryRow(ids.deliveryId)).event_id).toBe(result.eventId);
      }
    });

    it("a key repeated inside one batch is a replay of the first event of the batch", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const [first, again] = await recordEvents(database, [input(agent.id, [webhook.id], "k1"), input(agent.id, [webhook.id], "k1")]);
      expect(first).toMatchObject({ replayed: false, deliveriesQueued: 1 });
      expect(again).toMatchObject({ replayed: true, deliveriesQueued: 0, eventId: first!.eventId });
      expect(await countLogs(database, webhook.id)).toBe(1);
    });

    it("never queues a delivery to another agent's webhook named in the batch", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const other = await seedWebhook(database);
      const [mine, theirs] = await recordEvents(database, [input(agent.id, [webhook.id, other.webhook.id]), input(other.agent.id, [webhook.id])]);
      expect(mine!.deliveries.map((d) => d.webhookId)).toEqual([webhook.id]);
      expect(theirs!.deliveriesQueued).toBe(0);
    });
  });

  describe("recordEvent", () => {
    it("queues, per active webhook, a pending delivery due now and the log row of attempt 1", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const result = await emit(agent.id, [webhook.id]);
      expect(result).toMatchObject({ deliveriesQueued: 1, replayed: false });
      const [ids] = result.deliveries;
      expect(await deliveryRow(ids!.deliveryId)).toMatchObject({
        event_id: result.eventId,
        webhook_id: webhook.id,
        status: "pending",
        attempts: 0,
        next_attempt_at: T0,
        lease_owner: null,
        current_log_id: ids!.logId,
      });
      const log = await findLog(database, webhook.id, ids!.logId);
      expect(log).toMatchObject({ attempt: 1, status: "pending", event: "event_phone_call_ended", deliveryId: ids!.deliveryId, createdAt: T0 });
      // The body was built with the ids of its own delivery.
      expect(JSON.parse(log!.requestPayload)).toMatchObject({ id: ids!.deliveryId, event_id: result.eventId });
      const event = await database.db.selectFrom("events").selectAll().executeTakeFirstOrThrow();
      expect(JSON.parse(event.data)).toEqual({ call_id: "call-uuid", duration: 45 });
    });

    it("writes nothing when building a payload fails: event, deliveries and logs are one transaction", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const failing = recordEvent(database, {
        agentId: agent.id,
        event: "event_phone_call_ended",
        data: {},
        occurredAt: T0,
        idempotencyKey: "k",
        webhookIds: [webhook.id],
        buildPayload: () => {
          throw new Error("payload too large");
        },
        now: T0,
      });
      await expect(failing).rejects.toThrow("payload too large");
      expect(await database.db.selectFrom("events").selectAll().execute()).toEqual([]);
      expect(await database.db.selectFrom("deliveries").selectAll().execute()).toEqual([]);
      expect(await countLogs(database, webhook.id)).toBe(0);
      // The key was not burnt.
      expect((await emit(agent.id, [webhook.id], { idempotencyKey: "k" })).replayed).toBe(false);
    });

    it("skips webhooks that are disabled, deleted or another agent's", async () => {
      const { environment, agent, webhook } = await seedWebhook(database);
      const disabled = await createWebhook(database, agent.id, webhookInput({ enabled: false }), { now: T0 });
      const deleted = await createWebhook(database, agent.id, webhookInput(), { now: T0 });
      await deleteWebhook(database, agent.id, deleted.id);
      const stranger = await createAgent(database, { environmentId: environment.id, name: "Stranger", now: T0 });
      const theirs = await createWebhook(database, stranger.id, webhookInput(), { now: T0 });
      const result = await emit(agent.id, [webhook.id, disabled.id, deleted.id, theirs.id]);
      expect(result.deliveries.map((d) => d.webhookId)).toEqual([webhook.id]);
      expect(await countLogs(database, theirs.id)).toBe(0);
    });

    it("a repeated idempotency key answers with the first event and writes nothing", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const first = await emit(agent.id, [webhook.id], { idempotencyKey: "call-uuid:ended" });
      const again = await emit(agent.id, [webhook.id], { idempotencyKey: "call-uuid:ended", now: T0 + 1000 });
      expect(again).toEqual({ eventId: first.eventId, deliveriesQueued: 0, replayed: true, deliveries: [] });
      expect(await database.db.selectFrom("deliveries").selectAll().execute()).toHaveLength(1);
      expect(await countLogs(database, webhook.id)).toBe(1);
    });

    it("the same idempotency key under another agent is another event", async () => {
      const a = await seedWebhook(database);
      const b = await seedWebhook(database);
      const first = await emit(a.agent.id, [a.webhook.id], { idempotencyKey: "k" });
      const second = await emit(b.agent.id, [b.webhook.id], { idempotencyKey: "k" });
      expect(second.replayed).toBe(false);
      expect(second.eventId).not.toBe(first.eventId);
    });

    it("events without an idempotency key never collide", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const second = await emit(agent.id, [webhook.id]);
      expect(second.replayed).toBe(false);
    });

    it("concurrent calls with the same idempotency key: exactly one writes", async () => {
      const { agent } = await seedWebhook(database);
      const webhooks = await addWebhooks(database, agent.id, 3);
      const ids = webhooks.map((w) => w.id);
      const results = await Promise.all(Array.from({ length: 8 }, () => emit(agent.id, ids, { idempotencyKey: "same" })));
      const writers = results.filter((r) => !r.replayed);
      expect(writers).toHaveLength(1);
      expect(new Set(results.map((r) => r.eventId))).toEqual(new Set([writers[0]!.eventId]));
      expect(await database.db.selectFrom("events").selectAll().execute()).toHaveLength(1);
      expect(await database.db.selectFrom("deliveries").selectAll().execute()).toHaveLength(3);
    });
  });

  describe("claimDueDeliveries", () => {
    it("hands out a due delivery with its webhook's current configuration and its queued attempt", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const { deliveries, eventId } = await emit(agent.id, [webhook.id]);
      await updateWebhook(database, agent.id, webhook.id, { webhookUrl: "https://example.com/v2", timeout: 10 }, { now: T0 + 1 });
      const claimed = await claim("worker-1", T0 + 2);
      expect(claimed).toEqual([
        {
          deliveryId: deliveries[0]!.deliveryId,
          eventId,
          webhookId: webhook.id,
          agentId: agent.id,
          event: "event_phone_call_ended",
          logId: deliveries[0]!.logId,
          attempt: 1,
          payload: expect.stringContaining(deliveries[0]!.deliveryId),
          webhookUrl: "https://example.com/v2",
          webhookSecret: "optional_secret_for_hmac",
          timeout: 10,
          maxRetries: 3,
          leaseExpiresAt: T0 + 2 + LEASE,
        },
      ]);
      expect(await deliveryRow(deliveries[0]!.deliveryId)).toMatchObject({ lease_owner: "worker-1", lease_expires_at: T0 + 2 + LEASE });
    });

    it("a delivery is not claimed before its next_attempt_at", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id], { now: T0 + 1000 });
      expect(await claim("w", T0 + 999)).toEqual([]);
      expect(await claim("w", T0 + 1000)).toHaveLength(1);
    });

    it("claims at most `limit`, the longest due first", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const late = await emit(agent.id, [webhook.id], { now: T0 + 20 });
      const early = await emit(agent.id, [webhook.id], { now: T0 + 10 });
      await emit(agent.id, [webhook.id], { now: T0 + 30 });
      const claimed = await claim("w", T0 + 100, 2);
      expect(claimed.map((c) => c.deliveryId).sort()).toEqual([early.deliveries[0]!.deliveryId, late.deliveries[0]!.deliveryId].sort());
    });

    it("a leased delivery is not claimed again until its lease expires, then it is", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [first] = await claim("worker-1", T0);
      expect(await claim("worker-2", T0 + LEASE - 1)).toEqual([]);
      const [again] = await claim("worker-2", T0 + LEASE);
      expect(again).toMatchObject({ deliveryId: first!.deliveryId, logId: first!.logId, attempt: 1 });
      expect(await deliveryRow(first!.deliveryId)).toMatchObject({ lease_owner: "worker-2" });
    });

    it("two claimers running at once never get the same delivery, and together get all 2,000", async () => {
      const { agent } = await seedWebhook(database);
      const webhooks = await addWebhooks(database, agent.id, 20);
      for (let i = 0; i < 100; i++) await emit(agent.id, webhooks.map((w) => w.id), { now: T0 + i });

      async function claimLoop(owner: string): Promise<string[]> {
        const got: string[] = [];
        for (;;) {
          const batch = await claimDueDeliveries(database, { owner, limit: 100, leaseMs: 60_000, now: T0 + 1000 });
          if (batch.length === 0) return got;
          got.push(...batch.map((d) => d.deliveryId));
        }
      }
      const [a, b] = await Promise.all([claimLoop("worker-a"), claimLoop("worker-b")]);
      const all = [...a, ...b];
      expect(new Set(all).size).toBe(all.length);
      expect(all).toHaveLength(2000);
      // Each claimer's rows carry its own lease.
      const owners = await database.db.selectFrom("deliveries").select(["id", "lease_owner"]).execute();
      const byId = new Map(owners.map((o) => [o.id, o.lease_owner]));
      expect(a.every((id) => byId.get(id) === "worker-a")).toBe(true);
      expect(b.every((id) => byId.get(id) === "worker-b")).toBe(true);
    });

    it("a delivery whose webhook was disabled while it was leased is cancelled when claimed again", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [leased] = await claim("crashed-worker", T0);
      await setWebhookEnabled(database, agent.id, webhook.id, false, { now: T0 + 1 });
      expect(await claim("w", T0 + LEASE + 1)).toEqual([]);
      expect(await deliveryRow(leased!.deliveryId)).toMatchObject({ status: "cancelled", lease_owner: null });
      expect(await findLog(database, webhook.id, leased!.logId)).toMatchObject({ status: "failed", error: CANCELLED_WEBHOOK_INACTIVE });
    });
  });

  describe("recordAttempts", () => {
    it("a success fills the log row, finishes the delivery and releases the lease", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      const result = await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "success")], now: T0 + 200 });
      expect(result).toEqual({ recorded: [d!.deliveryId], skipped: [] });
      expect(await findLog(database, webhook.id, d!.logId)).toMatchObject({
        status: "success",
        httpStatus: 200,
        responseBody: '{"received":true}',
        responseHeaders: { "content-type": "application/json" },
        error: null,
        durationMs: 142,
        deliveredAt: T0 + 142,
        attempt: 1,
      });
      expect(await deliveryRow(d!.deliveryId)).toMatchObject({ status: "success", attempts: 1, lease_owner: null, lease_expires_at: null });
      expect(await claim("w", T0 + 10 * LEASE)).toEqual([]);
      expect(await countLogs(database, webhook.id)).toBe(1);
    });

    it("a retry closes the row as retrying and queues attempt 2 with the same payload at nextAttemptAt", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "retrying", { nextAttemptAt: T0 + 5000 })], now: T0 + 200 });

      expect(await findLog(database, webhook.id, d!.logId)).toMatchObject({ status: "retrying", httpStatus: 500, error: "HTTP 500 Internal Server Error" });
      const delivery = await deliveryRow(d!.deliveryId);
      expect(delivery).toMatchObject({ status: "pending", attempts: 1, next_attempt_at: T0 + 5000, lease_owner: null });
      expect(delivery.current_log_id).not.toBe(d!.logId);
      const next = await findLog(database, webhook.id, delivery.current_log_id);
      expect(next).toMatchObject({ attempt: 2, status: "pending", requestPayload: d!.payload, deliveryId: d!.deliveryId, createdAt: T0 + 200 });
      expect(await countLogs(database, webhook.id)).toBe(2);
      const listed = await listLogs(database, webhook.id, { page: 1, perPage: 10 });
      expect(listed.rows.map((r) => r.attempt)).toEqual([2, 1]);

      expect(await claim("w", T0 + 4999)).toEqual([]);
      const [retry] = await claim("w", T0 + 5000);
      expect(retry).toMatchObject({ deliveryId: d!.deliveryId, logId: delivery.current_log_id, attempt: 2 });
    });

    it("a final failure finishes the delivery as failed without a new row", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "failed", { httpStatus: null, error: "Connection timeout" })], now: T0 + 1 });
      expect(await deliveryRow(d!.deliveryId)).toMatchObject({ status: "failed", attempts: 1, lease_owner: null, current_log_id: d!.logId });
      expect(await findLog(database, webhook.id, d!.logId)).toMatchObject({ status: "failed", httpStatus: null, error: "Connection timeout" });
      expect(await countLogs(database, webhook.id)).toBe(1);
    });

    it("consecutive failures grow by one per failed attempt and a success resets them", async () => {
      const { agent, webhook } = await seedWebhook(database);
      for (let i = 0; i < 3; i++) await emit(agent.id, [webhook.id]);
      const claimed = await claim("w", T0);
      await recordAttempts(database, {
        owner: "w",
        outcomes: [outcome(claimed[0]!, "failed"), outcome(claimed[1]!, "retrying", { nextAttemptAt: T0 + 10 })],
        now: T0 + 1,
      });
      expect((await findWebhook(database, agent.id, webhook.id))?.consecutiveFailures).toBe(2);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(claimed[2]!, "success")], now: T0 + 2 });
      expect((await findWebhook(database, agent.id, webhook.id))?.consecutiveFailures).toBe(0);
    });

    it("within one batch the streak follows the outcomes' order", async () => {
      const { agent, webhook } = await seedWebhook(database);
      for (let i = 0; i < 3; i++) await emit(agent.id, [webhook.id]);
      const [a, b, c] = await claim("w", T0);
      await database.db.updateTable("webhooks").set({ consecutive_failures: 7 }).execute();
      await recordAttempts(database, { owner: "w", outcomes: [outcome(a!, "failed"), outcome(b!, "success"), outcome(c!, "failed")], now: T0 + 1 });
      expect((await findWebhook(database, agent.id, webhook.id))?.consecutiveFailures).toBe(1);
    });

    it("an outcome is skipped once another worker holds the lease", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [slow] = await claim("slow-worker", T0);
      const [fast] = await claim("fast-worker", T0 + LEASE + 1);
      const late = await recordAttempts(database, { owner: "slow-worker", outcomes: [outcome(slow!, "success")], now: T0 + LEASE + 2 });
      expect(late).toEqual({ recorded: [], skipped: [slow!.deliveryId] });
      expect(await findLog(database, webhook.id, slow!.logId)).toMatchObject({ status: "pending" });
      const onTime = await recordAttempts(database, { owner: "fast-worker", outcomes: [outcome(fast!, "success")], now: T0 + LEASE + 3 });
      expect(onTime.recorded).toEqual([fast!.deliveryId]);
    });

    it("recording the same outcome twice applies it once", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      const retry = outcome(d!, "retrying", { nextAttemptAt: T0 + 10 });
      await recordAttempts(database, { owner: "w", outcomes: [retry], now: T0 + 1 });
      const second = await recordAttempts(database, { owner: "w", outcomes: [retry], now: T0 + 2 });
      expect(second.skipped).toEqual([d!.deliveryId]);
      expect(await countLogs(database, webhook.id)).toBe(2);
      expect((await findWebhook(database, agent.id, webhook.id))?.consecutiveFailures).toBe(1);
    });

    it("a retry for a webhook disabled during the attempt is recorded as failed and the delivery cancelled", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await setWebhookEnabled(database, agent.id, webhook.id, false, { now: T0 + 1 });
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "retrying", { nextAttemptAt: T0 + 10 })], now: T0 + 2 });
      expect(await deliveryRow(d!.deliveryId)).toMatchObject({ status: "cancelled", lease_owner: null });
      expect(await findLog(database, webhook.id, d!.logId)).toMatchObject({ status: "failed", httpStatus: 500 });
      expect(await countLogs(database, webhook.id)).toBe(1);
    });

    it("two workers claiming and recording at once keep every webhook's log counter exact", async () => {
      const { agent } = await seedWebhook(database);
      const webhooks = await addWebhooks(database, agent.id, 10);
      for (let i = 0; i < 100; i++) await emit(agent.id, webhooks.map((w) => w.id), { now: T0 + i });

      async function work(owner: string): Promise<number> {
        let recorded = 0;
        for (;;) {
          const batch = await claimDueDeliveries(database, { owner, limit: 50, leaseMs: 60_000, now: T0 + 1000 });
          if (batch.length === 0) return recorded;
          const outcomes = batch.map((d, i) =>
            outcome(d, (["success", "retrying", "failed"] as const)[i % 3]!, { nextAttemptAt: T0 + 3_600_000 }),
          );
          recorded += (await recordAttempts(database, { owner, outcomes, now: T0 + 1001 })).recorded.length;
        }
      }
      const [a, b] = await Promise.all([work("worker-a"), work("worker-b")]);
      expect(a + b).toBe(1000);
      for (const w of webhooks) {
        const rows = await database.db
          .selectFrom("logs")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("webhook_id", "=", w.id)
          .executeTakeFirstOrThrow();
        expect(await countLogs(database, w.id)).toBe(Number(rows.n));
      }
      const leased = await database.db.selectFrom("deliveries").select("id").where("lease_owner", "is not", null).execute();
      expect(leased).toEqual([]);
    });

    it("a retrying outcome without nextAttemptAt is refused", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await expect(recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "retrying")] })).rejects.toThrow(/nextAttemptAt/);
    });

    it("records a batch of 100 outcomes across webhooks in one call", async () => {
      const { agent } = await seedWebhook(database);
      const webhooks = await addWebhooks(database, agent.id, 10);
      for (let i = 0; i < 10; i++) await emit(agent.id, webhooks.map((w) => w.id), { now: T0 + i });
      const claimed = await claim("w", T0 + 100);
      expect(claimed).toHaveLength(100);
      const outcomes = claimed.map((d, i) => (i % 2 === 0 ? outcome(d, "success") : outcome(d, "retrying", { nextAttemptAt: T0 + 1000 })));
      const result = await recordAttempts(database, { owner: "w", outcomes, now: T0 + 200 });
      expect(result.recorded).toHaveLength(100);
      const byStatus = await database.db
        .selectFrom("deliveries")
        .select(["status", (eb) => eb.fn.countAll().as("n")])
        .groupBy("status")
        .orderBy("status")
        .execute();
      expect(byStatus.map((r) => [r.status, Number(r.n)])).toEqual([
        ["pending", 50],
        ["success", 50],
      ]);
      let totals = 0;
      for (const w of webhooks) totals += await countLogs(database, w.id);
      expect(totals).toBe(150);
      expect(await claim("w", T0 + 1000)).toHaveLength(50);
    });
  });

  describe("queueManualRetry", () => {
    async function failedDelivery() {
      const seeded = await seedWebhook(database);
      await emit(seeded.agent.id, [seeded.webhook.id]);
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "retrying", { nextAttemptAt: T0 + 10 })], now: T0 + 1 });
      const [d2] = await claim("w", T0 + 10);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d2!, "failed")], now: T0 + 11 });
      return { ...seeded, first: d!, last: d2! };
    }

    it("queues a new row with attempt = highest + 1 and leaves the original row as it was", async () => {
      const { webhook, first, last } = await failedDelivery();
      const before = await findLog(database, webhook.id, first.logId);
      const result = await queueManualRetry(database, { webhookId: webhook.id, logId: first.logId, now: T0 + 60_000 });
      expect(result).toMatchObject({ queued: true, originalLogId: first.logId, queuedAt: T0 + 60_000, alreadyQueued: false });
      if (!result.queued) throw new Error("not queued");
      expect(await findLog(database, webhook.id, first.logId)).toEqual(before);
      expect(await findLog(database, webhook.id, result.logId)).toMatchObject({
        attempt: 3,
        status: "pending",
        requestPayload: first.payload,
        deliveryId: first.deliveryId,
        createdAt: T0 + 60_000,
      });
      expect(await countLogs(database, webhook.id)).toBe(3);
      const [claimed] = await claim("w", T0 + 60_000);
      expect(claimed).toMatchObject({ deliveryId: last.deliveryId, logId: result.logId, attempt: 3 });
    });

    it("an unknown log, or a log of another webhook, is log_not_found", async () => {
      const { webhook, first } = await failedDelivery();
      const other = await seedWebhook(database);
      expect(await queueManualRetry(database, { webhookId: webhook.id, logId: "00000000-0000-7000-8000-000000000000" })).toEqual({
        queued: false,
        reason: "log_not_found",
      });
      expect(await queueManualRetry(database, { webhookId: other.webhook.id, logId: first.logId })).toEqual({
        queued: false,
        reason: "log_not_found",
      });
    });

    it("a test log has no delivery to retry", async () => {
      const { webhook } = await seedWebhook(database);
      const log = await insertTestLog(database, { webhookId: webhook.id, event: "webhook.test", requestPayload: "{}", status: "failed", durationMs: 5, now: T0 });
      expect(await queueManualRetry(database, { webhookId: webhook.id, logId: log.id })).toEqual({ queued: false, reason: "no_delivery" });
    });

    it("a delivery still queued is made due now instead of getting a second queued row", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "retrying", { nextAttemptAt: T0 + 3_600_000 })], now: T0 + 1 });
      const queuedLogId = (await deliveryRow(d!.deliveryId)).current_log_id;
      const result = await queueManualRetry(database, { webhookId: webhook.id, logId: d!.logId, now: T0 + 5 });
      expect(result).toEqual({ queued: true, logId: queuedLogId, originalLogId: d!.logId, queuedAt: T0 + 5, alreadyQueued: true });
      expect(await countLogs(database, webhook.id)).toBe(2);
      expect((await claim("w", T0 + 5)).map((c) => c.logId)).toEqual([queuedLogId]);
    });
  });

  describe("retention", () => {
    it("finished deliveries older than the cutoff go in batches; queued ones stay", async () => {
      const { agent, webhook } = await seedWebhook(database);
      for (let i = 0; i < 3; i++) await emit(agent.id, [webhook.id], { now: T0 + i });
      const claimed = await claim("w", T0 + 10, 2);
      await recordAttempts(database, { owner: "w", outcomes: claimed.map((d) => outcome(d, "success")), now: T0 + 20 });
      expect(await purgeFinishedDeliveriesBefore(database, T0 + 1000, 1)).toEqual({ deliveries: 1, events: 1 });
      expect(await purgeFinishedDeliveriesBefore(database, T0 + 1000, 10)).toEqual({ deliveries: 1, events: 2 });
      expect(await purgeFinishedDeliveriesBefore(database, T0 + 1000, 10)).toEqual({ deliveries: 0, events: 0 });
      expect(await database.db.selectFrom("deliveries").select("status").execute()).toEqual([{ status: "pending" }]);
    });

    it("nothing newer than the cutoff is purged", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id], { now: T0 });
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "success")], now: T0 + 5 });
      expect(await purgeFinishedDeliveriesBefore(database, T0, 10)).toEqual({ deliveries: 0, events: 0 });
      // Finished at T0 + 5: not yet "last changed before" T0 + 5.
      expect(await purgeFinishedDeliveriesBefore(database, T0 + 5, 10)).toEqual({ deliveries: 0, events: 1 });
      expect(await purgeFinishedDeliveriesBefore(database, T0 + 6, 10)).toEqual({ deliveries: 1, events: 0 });
    });

    it("a log row outliving its purged delivery can no longer be retried", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(d!, "failed")], now: T0 + 1 });
      // Retention removes the delivery while its log row stays for a batch or two (logs have no foreign key).
      await database.db.deleteFrom("deliveries").where("id", "=", d!.deliveryId).execute();
      expect(await findLog(database, webhook.id, d!.logId)).toMatchObject({ status: "failed", deliveryId: d!.deliveryId });
      expect(await queueManualRetry(database, { webhookId: webhook.id, logId: d!.logId })).toEqual({ queued: false, reason: "no_delivery" });
    });
  });
});
