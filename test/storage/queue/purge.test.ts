import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { queueManualRetry } from "../../../server/storage/queue/manual-retry.js";
import { purgeBefore } from "../../../server/storage/queue/purge.js";
import { recordAttempts } from "../../../server/storage/queue/record-attempts.js";
import { findLog } from "../../../server/storage/logs.js";
import { T0, seedWebhook } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { queueTests } from "./helpers.js";

/** The purge's delivery and event counts (its log rows are tested in logs.test.ts). */
async function purgeFinishedDeliveriesBefore(database: Database, cutoffMs: number, batchSize: number) {
  const { deliveries, events } = await purgeBefore(database, cutoffMs, batchSize);
  return { deliveries, events };
}

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  const { emit, claim, outcome } = queueTests(backend, (opened) => (database = opened));

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
