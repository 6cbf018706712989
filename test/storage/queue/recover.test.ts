// Recovery at the storage level: what a range selects, and that thousands of deliveries go in batches of
// short transactions (queue/recover.ts, driven by delivery/recovery.ts), on both databases.
import { describe, expect, it } from "vitest";
import { Recoveries } from "../../../server/delivery/recovery.js";
import { createLogger } from "../../../server/logger.js";
import type { Database } from "../../../server/storage/db.js";
import { countLogs } from "../../../server/storage/logs.js";
import { agentOwner } from "../../../server/storage/owner.js";
import { countRecoverable, queueRecoveryBatch } from "../../../server/storage/queue/recover.js";
import { recordAttempts } from "../../../server/storage/queue/record-attempts.js";
import { recordEvents } from "../../../server/storage/queue/record-events.js";
import { setWebhookEnabled } from "../../../server/storage/webhooks.js";
import { backends } from "../../support/databases.js";
import { T0, payloadFor, seedWebhook } from "../fixtures.js";
import { queueTests } from "./helpers.js";

describe.each(backends)("recovery on $name", (backend) => {
  let database: Database;
  const { emit, claim, outcome, deliveryRow } = queueTests(backend, (opened) => (database = opened));

  /** `count` deliveries created at `at`, each sent once and failed for good (max_retries 0). */
  async function failedDeliveries(agentId: string, webhookId: string, count: number, at: number): Promise<string[]> {
    for (let done = 0; done < count; done += 500) {
      const inputs = Array.from({ length: Math.min(500, count - done) }, () => ({
        source: agentOwner(agentId),
        event: "event_phone_call_ended",
        data: {},
        occurredAt: at,
        webhookIds: [webhookId],
        buildPayload: payloadFor,
        now: at,
      }));
      await recordEvents(database, inputs);
    }
    const ids: string[] = [];
    for (;;) {
      const claimed = await claim("w", at + 1, 1_000);
      if (claimed.length === 0) return ids;
      await recordAttempts(database, { owner: "w", outcomes: claimed.map((d) => outcome(d, "failed")), now: at + 2 });
      ids.push(...claimed.map((d) => d.deliveryId));
    }
  }

  it("queues 5,000 failed deliveries in batches of short transactions, each once, attempt 2", async () => {
    const { agent, webhook } = await seedWebhook(database, { maxRetries: 0 });
    const ids = await failedDeliveries(agent.id, webhook.id, 5_000, T0);
    const range = { webhookId: webhook.id, sinceMs: T0, untilMs: T0 + 60_000, asOf: T0 + 60_000 };
    expect(await countRecoverable(database, range)).toBe(5_000);

    let batches = 0;
    const recoveries = new Recoveries({ database, logger: createLogger("silent"), batchSize: 500, onQueued: () => batches++, now: () => T0 + 70_000 });
    recoveries.start(range);
    await recoveries.idle();

    expect(batches).toBe(10);
    expect(await countRecoverable(database, range)).toBe(0);
    expect(await countLogs(database, webhook.id)).toBe(10_000);
    const queued = await database.db
      .selectFrom("logs")
      .select(["delivery_id", "attempt", "status"])
      .where("webhook_id", "=", webhook.id)
      .where("attempt", "=", 2)
      .execute();
    expect(queued).toHaveLength(5_000);
    expect(new Set(queued.map((l) => l.delivery_id))).toEqual(new Set(ids));
    expect(queued.every((l) => l.status === "pending")).toBe(true);
    const due = await claim("w2", T0 + 70_000, 10_000);
    expect(due).toHaveLength(5_000);
    expect(due.every((d) => d.attempt === 2)).toBe(true);
  }, 120_000);

  it("selects failed and cancelled deliveries of [since, until) that had failed by asOf, nothing else", async () => {
    const { agent, webhook } = await seedWebhook(database, { maxRetries: 0 });
    const [before] = await failedDeliveries(agent.id, webhook.id, 1, T0 - 1);
    const [atSince] = await failedDeliveries(agent.id, webhook.id, 1, T0);
    const [atUntil] = await failedDeliveries(agent.id, webhook.id, 1, T0 + 100);
    // Cancelled by a disable, then the webhook enabled again.
    const cancelled = (await emit(agent.id, [webhook.id], { now: T0 + 5 })).deliveries[0]!.deliveryId;
    await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 6 });
    await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, true, { now: T0 + 7 });
    expect((await deliveryRow(cancelled)).status).toBe("cancelled");
    // A success, a retrying one, a pending one, in range.
    await emit(agent.id, [webhook.id], { now: T0 + 10 });
    await emit(agent.id, [webhook.id], { now: T0 + 11 });
    const [ok, retrying] = await claim("w", T0 + 12);
    await recordAttempts(database, {
      owner: "w",
      outcomes: [outcome(ok!, "success"), outcome(retrying!, "retrying", { nextAttemptAt: T0 + 3_600_000 })],
      now: T0 + 13,
    });
    // Fails after asOf.
    const [late] = await failedDeliveries(agent.id, webhook.id, 1, T0 + 50);
    const pending = (await emit(agent.id, [webhook.id], { now: T0 + 20 })).deliveries[0]!.deliveryId;

    const range = { webhookId: webhook.id, sinceMs: T0, untilMs: T0 + 100, asOf: T0 + 40 };
    expect(await countRecoverable(database, range)).toBe(2);
    const batch = await queueRecoveryBatch(database, range, { batchSize: 10, now: T0 + 200 });
    expect(batch).toMatchObject({ queued: 2, more: false });
    for (const id of [atSince, cancelled]) expect(await deliveryRow(id!)).toMatchObject({ status: "pending", next_attempt_at: T0 + 200 });
    expect((await deliveryRow(before!)).status).toBe("failed");
    expect((await deliveryRow(atUntil!)).status).toBe("failed");
    expect((await deliveryRow(late!)).status).toBe("failed");
    expect((await deliveryRow(ok!.deliveryId)).status).toBe("success");
    expect(await deliveryRow(retrying!.deliveryId)).toMatchObject({ status: "pending", next_attempt_at: T0 + 3_600_000 });
    expect(await deliveryRow(pending)).toMatchObject({ status: "pending", next_attempt_at: T0 + 20 });
    expect(await countRecoverable(database, range)).toBe(0);
  });

  it("a batch for a webhook disabled meanwhile queues nothing and stops", async () => {
    const { agent, webhook } = await seedWebhook(database, { maxRetries: 0 });
    const [id] = await failedDeliveries(agent.id, webhook.id, 1, T0);
    await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 5 });
    const range = { webhookId: webhook.id, sinceMs: T0, untilMs: T0 + 10, asOf: T0 + 10 };
    expect(await queueRecoveryBatch(database, range, { batchSize: 10, now: T0 + 20 })).toEqual({ queued: 0, lastId: undefined, more: false });
    expect((await deliveryRow(id!)).status).toBe("failed");
    expect(await countLogs(database, webhook.id)).toBe(1);
  });
});
