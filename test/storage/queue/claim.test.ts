import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { CANCELLED_WEBHOOK_INACTIVE, claimDueDeliveries } from "../../../server/storage/queue/claim.js";
import { findLog } from "../../../server/storage/logs.js";
import { setWebhookEnabled, updateWebhook } from "../../../server/storage/webhooks.js";
import { T0, addWebhooks, seedWebhook } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { LEASE, queueTests } from "./helpers.js";
import { agentOwner } from "../../../server/storage/owner.js";

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  const { emit, claim, deliveryRow } = queueTests(backend, (opened) => (database = opened));

  describe("claimDueDeliveries", () => {
    it("hands out a due delivery with its webhook's current configuration and its queued attempt", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const { deliveries, eventId } = await emit(agent.id, [webhook.id]);
      await updateWebhook(database, agentOwner(agent.id), webhook.id, { webhookUrl: "https://example.com/v2", timeout: 10 }, { now: T0 + 1 });
      const claimed = await claim("worker-1", T0 + 2);
      expect(claimed).toEqual([
        {
          deliveryId: deliveries[0]!.deliveryId,
          eventId,
          webhookId: webhook.id,
          webhookOwner: agentOwner(agent.id),
          event: "event_phone_call_ended",
          logId: deliveries[0]!.logId,
          attempt: 1,
          payload: expect.stringContaining(deliveries[0]!.deliveryId),
          webhookUrl: "https://example.com/v2",
          webhookSecrets: ["optional_secret_for_hmac"],
          timeout: 10,
          maxRetries: 3,
          leaseExpiresAt: T0 + 2 + LEASE,
          httpMethod: "POST",
          authorizationScheme: "none",
          authorizationCredentials: null,
          customHeaders: [],
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
      await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 1 });
      expect(await claim("w", T0 + LEASE + 1)).toEqual([]);
      expect(await deliveryRow(leased!.deliveryId)).toMatchObject({ status: "cancelled", lease_owner: null });
      expect(await findLog(database, webhook.id, leased!.logId)).toMatchObject({ status: "failed", error: CANCELLED_WEBHOOK_INACTIVE });
    });
  });
});
