import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { claimDueDeliveries } from "../../../server/storage/queue/claim.js";
import { recordAttempts } from "../../../server/storage/queue/record-attempts.js";
import { countLogs, findLog, listLogs } from "../../../server/storage/logs.js";
import { findWebhook, setWebhookEnabled } from "../../../server/storage/webhooks.js";
import { T0, addWebhooks, seedWebhook } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { LEASE, queueTests } from "./helpers.js";
import { agentOwner } from "../../../server/storage/owner.js";

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  const { emit, claim, outcome, deliveryRow } = queueTests(backend, (opened) => (database = opened));

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
      expect((await findWebhook(database, agentOwner(agent.id), webhook.id))?.consecutiveFailures).toBe(2);
      await recordAttempts(database, { owner: "w", outcomes: [outcome(claimed[2]!, "success")], now: T0 + 2 });
      expect((await findWebhook(database, agentOwner(agent.id), webhook.id))?.consecutiveFailures).toBe(0);
    });

    it("within one batch the streak follows the outcomes' order", async () => {
      const { agent, webhook } = await seedWebhook(database);
      for (let i = 0; i < 3; i++) await emit(agent.id, [webhook.id]);
      const [a, b, c] = await claim("w", T0);
      await database.db.updateTable("webhooks").set({ consecutive_failures: 7 }).execute();
      await recordAttempts(database, { owner: "w", outcomes: [outcome(a!, "failed"), outcome(b!, "success"), outcome(c!, "failed")], now: T0 + 1 });
      expect((await findWebhook(database, agentOwner(agent.id), webhook.id))?.consecutiveFailures).toBe(1);
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
      expect((await findWebhook(database, agentOwner(agent.id), webhook.id))?.consecutiveFailures).toBe(1);
    });

    it("an earlier attempt's outcome is skipped while the same worker holds the delivery's next attempt", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      await emit(agent.id, [webhook.id], { now: T0 + 1 });
      const [first, other] = await claim("w", T0 + 1);
      const retry = outcome(first!, "retrying", { nextAttemptAt: T0 + 10 });
      await recordAttempts(database, { owner: "w", outcomes: [retry], now: T0 + 2 });
      const [second] = await claim("w", T0 + 10);
      expect(second).toMatchObject({ deliveryId: first!.deliveryId, attempt: 2 });

      // Leased to "w" and pending again, but its current log row is attempt 2: attempt 1's outcome is stale.
      const mixed = await recordAttempts(database, { owner: "w", outcomes: [retry, outcome(other!, "success")], now: T0 + 11 });
      expect(mixed).toEqual({ recorded: [other!.deliveryId], skipped: [first!.deliveryId] });
      expect(await deliveryRow(first!.deliveryId)).toMatchObject({ status: "pending", attempts: 1, lease_owner: "w", current_log_id: second!.logId });
      expect(await findLog(database, webhook.id, second!.logId)).toMatchObject({ status: "pending" });
      expect(await countLogs(database, webhook.id)).toBe(3);
    });

    it("a retry for a webhook disabled during the attempt is recorded as failed and the delivery cancelled", async () => {
      const { agent, webhook } = await seedWebhook(database);
      await emit(agent.id, [webhook.id]);
      const [d] = await claim("w", T0);
      await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 1 });
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
});
