import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { queueManualRetry } from "../../../server/storage/queue/manual-retry.js";
import { recordAttempts } from "../../../server/storage/queue/record-attempts.js";
import { countLogs, findLog, insertTestLog } from "../../../server/storage/logs.js";
import { T0, seedWebhook } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { queueTests } from "./helpers.js";

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  const { emit, claim, outcome, deliveryRow } = queueTests(backend, (opened) => (database = opened));

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
});
