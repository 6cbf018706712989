import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { createAgent } from "../../../server/storage/agents.js";
import { createCampaign } from "../../../server/storage/campaigns.js";
import { recordEvent, recordEvents } from "../../../server/storage/queue/record-events.js";
import { countLogs, findLog } from "../../../server/storage/logs.js";
import { createWebhook, deleteWebhook } from "../../../server/storage/webhooks.js";
import { T0, addWebhooks, payloadFor, seedCampaign, seedWebhook, webhookInput } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { queueTests } from "./helpers.js";
import { agentOwner, campaignOwner } from "../../../server/storage/owner.js";

describe.each(backends)("delivery queue on $name", (backend) => {
  let database: Database;
  const { emit, emitFrom, deliveryRow } = queueTests(backend, (opened) => (database = opened));

  describe("recordEvents (the intake's group commit)", () => {
    const input = (agentId: string, webhookIds: string[], idempotencyKey?: string) => ({
      source: agentOwner(agentId),
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
        source: agentOwner(agent.id),
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
      const disabled = await createWebhook(database, agentOwner(agent.id), webhookInput({ enabled: false }), { now: T0 });
      const deleted = await createWebhook(database, agentOwner(agent.id), webhookInput(), { now: T0 });
      await deleteWebhook(database, agentOwner(agent.id), deleted.id);
      const stranger = await createAgent(database, { environmentId: environment.id, name: "Stranger", now: T0 });
      const theirs = await createWebhook(database, agentOwner(stranger.id), webhookInput(), { now: T0 });
      const result = await emit(agent.id, [webhook.id, disabled.id, deleted.id, theirs.id]);
      expect(result.deliveries.map((d) => d.webhookId)).toEqual([webhook.id]);
      expect(await countLogs(database, theirs.id)).toBe(0);
    });

    it("a repeated idempotency key answers with the first event and writes nothing", async () => {
      const { agent, webhook } = await seedWebhook(database);
      const first = await emit(agent.id, [webhook.id], { idempotencyKey: "call-uuid:ended" });
      const again = await emit(agent.id, [webhook.id], { idempotencyKey: "call-uuid:ended", now: T0 + 1000 });
      expect(again).toEqual({ eventId: first.eventId, deliveriesQueued: 0, replayed: true, deliveries: [], handedOver: [] });
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

  describe("events of campaigns", () => {
    const eventRow = (id: string) => database.db.selectFrom("events").select(["agent_id", "campaign_id"]).where("id", "=", id).executeTakeFirstOrThrow();

    it("a campaign's own event is stored with agent_id NULL and fans out to the campaign's webhooks only", async () => {
      const { agent, campaign } = await seedCampaign(database);
      const ofCampaign = await createWebhook(database, campaignOwner(campaign.id), webhookInput(), { now: T0 });
      const ofAgent = await createWebhook(database, agentOwner(agent.id), webhookInput(), { now: T0 });
      const result = await emitFrom(campaignOwner(campaign.id), [ofCampaign.id, ofAgent.id]);
      expect(result.deliveries.map((d) => d.webhookId)).toEqual([ofCampaign.id]);
      expect(await eventRow(result.eventId)).toEqual({ agent_id: null, campaign_id: campaign.id });
      expect(await countLogs(database, ofCampaign.id)).toBe(1);
      expect(await countLogs(database, ofAgent.id)).toBe(0);
    });

    it("an agent's event of a campaign call is stored with both ids and fans out to the agent's and that campaign's webhooks", async () => {
      const { environment, agent, campaign } = await seedCampaign(database);
      const ofAgent = await createWebhook(database, agentOwner(agent.id), webhookInput(), { now: T0 });
      const ofCampaign = await createWebhook(database, campaignOwner(campaign.id), webhookInput({ includeCallEvents: true }), { now: T0 });
      const other = await createCampaign(database, { environmentId: environment.id, name: "Other", agentId: agent.id, now: T0 });
      const ofOther = await createWebhook(database, campaignOwner(other.id), webhookInput({ includeCallEvents: true }), { now: T0 });
      const result = await emitFrom(agentOwner(agent.id), [ofAgent.id, ofCampaign.id, ofOther.id], { campaignId: campaign.id });
      expect(result.deliveries.map((d) => d.webhookId)).toEqual([ofAgent.id, ofCampaign.id]);
      expect(await eventRow(result.eventId)).toEqual({ agent_id: agent.id, campaign_id: campaign.id });
      // Without the campaign, the campaign's webhook is not the source's.
      const alone = await emitFrom(agentOwner(agent.id), [ofAgent.id, ofCampaign.id]);
      expect(alone.deliveries.map((d) => d.webhookId)).toEqual([ofAgent.id]);
      // A campaign source does not reach the webhooks of its agent.
      const own = await emitFrom(campaignOwner(campaign.id), [ofAgent.id, ofCampaign.id]);
      expect(own.deliveries.map((d) => d.webhookId)).toEqual([ofCampaign.id]);
    });

    it("idempotency keys are per source: the same key on an agent and on a campaign are two events", async () => {
      const { agent, campaign } = await seedCampaign(database);
      const key = { idempotencyKey: "call-uuid:ended" };
      const ofAgent = await emitFrom(agentOwner(agent.id), [], key);
      const ofCampaign = await emitFrom(campaignOwner(campaign.id), [], key);
      // The agent's event of the campaign's call is the agent's: its key is the agent's, already seen.
      const ofCall = await emitFrom(agentOwner(agent.id), [], { ...key, campaignId: campaign.id });
      const again = await emitFrom(campaignOwner(campaign.id), [], { ...key, now: T0 + 1000 });
      expect(ofCampaign.replayed).toBe(false);
      expect(ofCampaign.eventId).not.toBe(ofAgent.eventId);
      expect(ofCall).toMatchObject({ eventId: ofAgent.eventId, replayed: true });
      expect(again).toEqual({ eventId: ofCampaign.eventId, deliveriesQueued: 0, replayed: true, deliveries: [], handedOver: [] });
      expect(await database.db.selectFrom("events").selectAll().execute()).toHaveLength(2);
    });

    it("two campaigns may use the same key; concurrent calls of one campaign with one key: exactly one writes", async () => {
      const { environment, campaign } = await seedCampaign(database);
      const other = await createCampaign(database, { environmentId: environment.id, name: "Other", now: T0 });
      const webhook = await createWebhook(database, campaignOwner(campaign.id), webhookInput(), { now: T0 });
      expect((await emitFrom(campaignOwner(other.id), [], { idempotencyKey: "same" })).replayed).toBe(false);
      const results = await Promise.all(Array.from({ length: 8 }, () => emitFrom(campaignOwner(campaign.id), [webhook.id], { idempotencyKey: "same" })));
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.eventId)).size).toBe(1);
      expect(await database.db.selectFrom("deliveries").selectAll().execute()).toHaveLength(1);
    });
  });
});
