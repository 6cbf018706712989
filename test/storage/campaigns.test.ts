// Campaigns and their webhooks: the same webhooks table and the same rules as an agent's, scoped to the
// campaign, so that an agent never sees a campaign's webhook and a campaign never an agent's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebhookCache } from "../../server/delivery/webhook-cache.js";
import { WebhookWrites } from "../../server/delivery/webhook-writes.js";
import { createCampaign, findCampaignInEnvironment, getCampaign, listCampaigns } from "../../server/storage/campaigns.js";
import type { Database } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { agentOwner, campaignOwner } from "../../server/storage/owner.js";
import {
  createWebhook,
  deleteWebhook,
  findWebhook,
  listCallEventWebhooks,
  listEnabledWebhooks,
  listWebhooks,
  setWebhookEnabled,
  updateWebhook,
} from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { T0, seedAgent, seedCampaign, webhookInput } from "./fixtures.js";

describe.each(backends)("campaigns on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  describe("campaigns", () => {
    it("a created campaign reads back with every field, with or without an agent", async () => {
      const { environment, agent } = await seedAgent(database);
      const ofAgent = await createCampaign(database, { environmentId: environment.id, name: "Renewals", agentId: agent.id, now: T0 });
      const bare = await createCampaign(database, { environmentId: environment.id, name: "Survey", now: T0 + 1 });
      expect(ofAgent).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), environmentId: environment.id, name: "Renewals", agentId: agent.id, createdAt: T0 });
      expect(bare.agentId).toBeNull();
      expect(await getCampaign(database, ofAgent.id)).toEqual(ofAgent);
      expect(await getCampaign(database, "0191b1d0-0000-7000-8000-000000000000")).toBeUndefined();
    });

    it("lists oldest first, all environments or one", async () => {
      const { environment } = await seedAgent(database);
      const other = await createEnvironment(database, { name: "Staging", now: T0 });
      const second = await createCampaign(database, { environmentId: environment.id, name: "Second", now: T0 + 2 });
      const first = await createCampaign(database, { environmentId: environment.id, name: "First", now: T0 + 1 });
      const theirs = await createCampaign(database, { environmentId: other.id, name: "Theirs", now: T0 });
      expect((await listCampaigns(database, { environmentId: environment.id })).map((c) => c.id)).toEqual([first.id, second.id]);
      expect((await listCampaigns(database)).map((c) => c.id)).toEqual([theirs.id, first.id, second.id]);
    });

    it("another environment's campaign is not found in this one", async () => {
      const { environment, campaign } = await seedCampaign(database);
      const other = await createEnvironment(database, { name: "Staging", now: T0 });
      expect(await findCampaignInEnvironment(database, environment.id, campaign.id)).toEqual(campaign);
      expect(await findCampaignInEnvironment(database, other.id, campaign.id)).toBeUndefined();
    });

    it("an agent of another environment, or no agent at all, is refused", async () => {
      const { agent } = await seedAgent(database);
      const other = await createEnvironment(database, { name: "Staging", now: T0 });
      await expect(createCampaign(database, { environmentId: other.id, name: "X", agentId: agent.id })).rejects.toThrow(
        `Agent ${agent.id} is not an agent of environment ${other.id}`,
      );
      await expect(createCampaign(database, { environmentId: other.id, name: "X", agentId: "0191b1d0-0000-7000-8000-000000000000" })).rejects.toThrow(/is not an agent/);
      expect(await listCampaigns(database)).toEqual([]);
    });
  });

  describe("a campaign's webhooks", () => {
    it("are created, read, updated, toggled and deleted under the campaign", async () => {
      const { campaign } = await seedCampaign(database);
      const owner = campaignOwner(campaign.id);
      const webhook = await createWebhook(database, owner, webhookInput({ includeCallEvents: true }), { now: T0 });
      expect(webhook).toMatchObject({ owner, includeCallEvents: true, name: "My Webhook" });
      expect(await findWebhook(database, owner, webhook.id)).toEqual(webhook);
      expect(await listWebhooks(database, owner)).toEqual([webhook]);
      expect(await updateWebhook(database, owner, webhook.id, { name: "Renamed", includeCallEvents: false }, { now: T0 + 1 })).toMatchObject({
        owner, name: "Renamed", includeCallEvents: false, updatedAt: T0 + 1,
      });
      expect((await setWebhookEnabled(database, owner, webhook.id, false, { now: T0 + 2 }))?.enabled).toBe(false);
      expect(await deleteWebhook(database, owner, webhook.id, { now: T0 + 3 })).toBe(true);
      expect(await findWebhook(database, owner, webhook.id)).toBeUndefined();
    });

    it("includeCallEvents is stored false when absent", async () => {
      const { agent, campaign } = await seedCampaign(database);
      expect((await createWebhook(database, campaignOwner(campaign.id), webhookInput())).includeCallEvents).toBe(false);
      expect((await createWebhook(database, agentOwner(agent.id), webhookInput())).includeCallEvents).toBe(false);
    });

    it("an agent never sees a campaign's webhook with the same id, and a campaign never an agent's", async () => {
      const { agent, campaign } = await seedCampaign(database);
      const ofAgent = await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "Agent's" }), { now: T0 });
      const ofCampaign = await createWebhook(database, campaignOwner(campaign.id), webhookInput({ name: "Campaign's" }), { now: T0 });
      // The campaign's id is the agent's id in another kind: neither owner reaches the other's rows.
      const asCampaign = campaignOwner(agent.id);
      const asAgent = agentOwner(campaign.id);
      expect((await listWebhooks(database, agentOwner(agent.id))).map((w) => w.id)).toEqual([ofAgent.id]);
      expect((await listWebhooks(database, campaignOwner(campaign.id))).map((w) => w.id)).toEqual([ofCampaign.id]);
      expect(await listWebhooks(database, asCampaign)).toEqual([]);
      expect(await listWebhooks(database, asAgent)).toEqual([]);
      expect(await findWebhook(database, agentOwner(agent.id), ofCampaign.id)).toBeUndefined();
      expect(await findWebhook(database, campaignOwner(campaign.id), ofAgent.id)).toBeUndefined();
      expect(await updateWebhook(database, agentOwner(agent.id), ofCampaign.id, { name: "Taken" })).toBeUndefined();
      expect(await setWebhookEnabled(database, campaignOwner(campaign.id), ofAgent.id, false)).toBeUndefined();
      expect(await deleteWebhook(database, agentOwner(agent.id), ofCampaign.id)).toBe(false);
      expect(await deleteWebhook(database, campaignOwner(campaign.id), ofAgent.id)).toBe(false);
      expect(await findWebhook(database, campaignOwner(campaign.id), ofCampaign.id)).toMatchObject({ name: "Campaign's", enabled: true });
      expect(await findWebhook(database, agentOwner(agent.id), ofAgent.id)).toMatchObject({ name: "Agent's", enabled: true });
    });

    it("listEnabledWebhooks and listCallEventWebhooks: enabled, not deleted, oldest first; call events only where included", async () => {
      const { environment, agent, campaign } = await seedCampaign(database);
      const owner = campaignOwner(campaign.id);
      const add = (name: string, n: number, fields: Parameters<typeof webhookInput>[0] = {}) =>
        createWebhook(database, owner, webhookInput({ name, ...fields }), { now: T0 + n });
      const later = await add("later", 2, { includeCallEvents: true });
      const earlier = await add("earlier", 1, { includeCallEvents: true });
      const plain = await add("plain", 3);
      await add("disabled", 4, { includeCallEvents: true, enabled: false });
      const deleted = await add("deleted", 5, { includeCallEvents: true });
      await deleteWebhook(database, owner, deleted.id);
      await createWebhook(database, agentOwner(agent.id), webhookInput({ includeCallEvents: true }));
      const other = await createCampaign(database, { environmentId: environment.id, name: "Other" });
      await createWebhook(database, campaignOwner(other.id), webhookInput({ includeCallEvents: true }));
      expect((await listEnabledWebhooks(database, owner)).map((w) => w.name)).toEqual([earlier.name, later.name, plain.name]);
      expect((await listCallEventWebhooks(database, campaign.id)).map((w) => w.id)).toEqual([earlier.id, later.id]);
    });
  });

  describe("the fan-out cache", () => {
    it("keeps each owner's entry apart: a write invalidates its owner only", async () => {
      const { agent, campaign } = await seedCampaign(database);
      const cache = new WebhookCache(database);
      const writes = new WebhookWrites(database, cache);
      const agents = agentOwner(agent.id);
      const campaigns = campaignOwner(campaign.id);
      const event = "event_phone_call_ended";
      const ofAgent = (await writes.create(agents, webhookInput(), 100))!;
      expect((await cache.webhooksFor(agents, event, T0)).map((w) => w.id)).toEqual([ofAgent.id]);
      expect(await cache.webhooksFor(campaigns, event, T0)).toEqual([]);
      expect(await cache.callEventWebhooksFor(campaign.id, T0)).toEqual([]);

      const ofCampaign = (await writes.create(campaigns, webhookInput({ includeCallEvents: true }), 100))!;
      expect(cache.has(agents)).toBe(true);
      expect(cache.has(campaigns)).toBe(false);
      // One entry holds both lists of the campaign.
      expect((await cache.callEventWebhooksFor(campaign.id, T0)).map((w) => w.id)).toEqual([ofCampaign.id]);
      expect(cache.has(campaigns)).toBe(true);
      expect((await cache.webhooksFor(campaigns, event, T0)).map((w) => w.id)).toEqual([ofCampaign.id]);

      await writes.update(campaigns, ofCampaign.id, { includeCallEvents: false });
      expect(cache.has(campaigns)).toBe(false);
      expect(cache.has(agents)).toBe(true);
      expect(await cache.callEventWebhooksFor(campaign.id, T0)).toEqual([]);
      expect((await cache.webhooksFor(campaigns, event, T0)).map((w) => w.id)).toEqual([ofCampaign.id]);

      await writes.setEnabled(agents, ofAgent.id, false);
      expect(cache.has(agents)).toBe(false);
      expect(cache.has(campaigns)).toBe(true);
      expect(await cache.webhooksFor(agents, event, T0)).toEqual([]);
    });

    it("an agent and a campaign with the same id are two entries", async () => {
      const { agent } = await seedCampaign(database);
      const cache = new WebhookCache(database);
      await cache.webhooksFor(agentOwner(agent.id), "event_recording", T0);
      expect(cache.has(agentOwner(agent.id))).toBe(true);
      expect(cache.has(campaignOwner(agent.id))).toBe(false);
      await cache.webhooksFor(campaignOwner(agent.id), "event_recording", T0);
      cache.invalidate(campaignOwner(agent.id));
      expect(cache.has(agentOwner(agent.id))).toBe(true);
      expect(cache.has(campaignOwner(agent.id))).toBe(false);
    });
  });
});
