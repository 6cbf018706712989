import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgent } from "../../server/storage/agents.js";
import type { Database } from "../../server/storage/db.js";
import { claimDueDeliveries } from "../../server/storage/queue/claim.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { findLog } from "../../server/storage/logs.js";
import {
  CANCELLED_BY_DELETE,
  CANCELLED_BY_DISABLE,
  createWebhook,
  createWebhookBelowLimit,
  deleteWebhook,
  findWebhook,
  listEnabledWebhooks,
  listWebhooks,
  setWebhookEnabled,
  updateWebhook,
  webhookStatus,
} from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { T0, payloadFor, seedAgent, seedCampaign, seedWebhook, webhookInput } from "./fixtures.js";
import { agentOwner, campaignOwner } from "../../server/storage/owner.js";

describe("webhookStatus", () => {
  it("a disabled webhook shows disabled, whatever its failures", () => {
    expect(webhookStatus({ enabled: false, consecutiveFailures: 99 }, 5)).toBe("disabled");
  });
  it("an enabled webhook at the failure threshold shows error", () => {
    expect(webhookStatus({ enabled: true, consecutiveFailures: 5 }, 5)).toBe("error");
  });
  it("an enabled webhook below the threshold shows active", () => {
    expect(webhookStatus({ enabled: true, consecutiveFailures: 4 }, 5)).toBe("active");
  });
});

describe.each(backends)("webhooks on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  it("a created webhook reads back with every field", async () => {
    const { agent, webhook } = await seedWebhook(database);
    expect(webhook).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      owner: agentOwner(agent.id),
      name: "My Webhook",
      webhookUrl: "https://example.com/webhook",
      webhookSecret: "optional_secret_for_hmac",
      events: ["event_phone_call_started", "event_phone_call_ended"],
      timeout: 30,
      maxRetries: 3,
      enabled: true,
      includeCallEvents: false,
      consecutiveFailures: 0,
      previousSecret: null,
      previousSecretExpiresAt: null,
      createdAt: T0,
      updatedAt: T0,
      httpMethod: "POST",
      authorizationScheme: "none",
      authorizationCredentials: null,
      customHeaders: [],
      payloadTemplates: {},
    });
    expect(await findWebhook(database, agentOwner(agent.id), webhook.id)).toEqual(webhook);
  });

  it("a webhook is not found through another agent", async () => {
    const { environment, webhook } = await seedWebhook(database);
    const other = await createAgent(database, { environmentId: environment.id, name: "Other", now: T0 });
    expect(await findWebhook(database, agentOwner(other.id), webhook.id)).toBeUndefined();
    expect(await updateWebhook(database, agentOwner(other.id), webhook.id, { name: "x" })).toBeUndefined();
    expect(await deleteWebhook(database, agentOwner(other.id), webhook.id)).toBe(false);
  });

  it("webhooks are listed oldest first", async () => {
    const { agent } = await seedAgent(database);
    await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "second" }), { now: T0 + 10 });
    await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "first" }), { now: T0 });
    await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "third" }), { now: T0 + 20 });
    expect((await listWebhooks(database, agentOwner(agent.id))).map((w) => w.name)).toEqual(["first", "second", "third"]);
  });

  it("a create below the limit inserts the same row as a plain create; at the limit it writes nothing", async () => {
    const { agent, campaign } = await seedCampaign(database);
    const agents = agentOwner(agent.id);
    const first = await createWebhookBelowLimit(database, agents, webhookInput({ includeCallEvents: true }), 2, { now: T0 });
    expect(first).toEqual({ ...(await findWebhook(database, agents, first!.id)), includeCallEvents: true });
    const deleted = await createWebhook(database, agents, webhookInput({ name: "deleted" }), { now: T0 });
    await deleteWebhook(database, agents, deleted.id, { now: T0 + 1 });
    // The deleted one does not count: one more fits, then none.
    const second = await createWebhookBelowLimit(database, agents, webhookInput({ name: "second" }), 2, { now: T0 + 2 });
    expect(await findWebhook(database, agents, second!.id)).toEqual(second);
    expect(await createWebhookBelowLimit(database, agents, webhookInput({ name: "third" }), 2, { now: T0 + 3 })).toBeUndefined();
    expect((await listWebhooks(database, agents)).map((w) => w.name)).toEqual(["My Webhook", "second"]);
    // Each owner has its own count, a campaign as an agent.
    const campaigns = campaignOwner(campaign.id);
    const ofCampaign = await createWebhookBelowLimit(database, campaigns, webhookInput({ includeCallEvents: true }), 1, { now: T0 });
    expect(await findWebhook(database, campaigns, ofCampaign!.id)).toEqual(ofCampaign);
    expect(ofCampaign?.includeCallEvents).toBe(true);
    expect(await createWebhookBelowLimit(database, campaigns, webhookInput(), 1, { now: T0 })).toBeUndefined();
  });

  it("creates at once past the limit never make the owner more webhooks than the limit", async () => {
    const { agent, campaign } = await seedCampaign(database);
    for (const owner of [agentOwner(agent.id), campaignOwner(campaign.id)]) {
      await createWebhook(database, owner, webhookInput({ name: "existing" }), { now: T0 });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => createWebhookBelowLimit(database, owner, webhookInput({ name: `Hook ${i}` }), 5, { now: T0 + i })),
      );
      expect(results.filter((w) => w !== undefined)).toHaveLength(4);
      expect(await listWebhooks(database, owner)).toHaveLength(5);
    }
  });

  it("an update changes only the fields provided and bumps updated_at", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const updated = await updateWebhook(database, agentOwner(agent.id), webhook.id, { timeout: 60, events: ["event_action"] }, { now: T0 + 5000 });
    expect(updated).toEqual({ ...webhook, timeout: 60, events: ["event_action"], updatedAt: T0 + 5000 });
    expect(await findWebhook(database, agentOwner(agent.id), webhook.id)).toEqual(updated);
  });

  it("an update with webhookSecret null clears the secret; leaving it out keeps it", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const kept = await updateWebhook(database, agentOwner(agent.id), webhook.id, { name: "Renamed" }, { now: T0 + 1 });
    expect(kept?.webhookSecret).toBe("optional_secret_for_hmac");
    const cleared = await updateWebhook(database, agentOwner(agent.id), webhook.id, { webhookSecret: null }, { now: T0 + 2 });
    expect(cleared?.webhookSecret).toBeNull();
  });

  it("a deleted webhook is invisible to find, list, update and a second delete", async () => {
    const { agent, webhook } = await seedWebhook(database);
    expect(await deleteWebhook(database, agentOwner(agent.id), webhook.id, { now: T0 + 1 })).toBe(true);
    expect(await findWebhook(database, agentOwner(agent.id), webhook.id)).toBeUndefined();
    expect(await listWebhooks(database, agentOwner(agent.id))).toEqual([]);
    expect(await listEnabledWebhooks(database, agentOwner(agent.id))).toEqual([]);
    expect(await updateWebhook(database, agentOwner(agent.id), webhook.id, { name: "back" })).toBeUndefined();
    expect(await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, true)).toBeUndefined();
    expect(await deleteWebhook(database, agentOwner(agent.id), webhook.id)).toBe(false);
    // Soft: the row stays for its logs and deliveries.
    const row = await database.db.selectFrom("webhooks").select("deleted_at").where("id", "=", webhook.id).executeTakeFirst();
    expect(row?.deleted_at).toBe(T0 + 1);
  });

  it("the toggle flips enabled and the enabled list follows", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const off = await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 1 });
    expect(off).toMatchObject({ enabled: false, updatedAt: T0 + 1 });
    expect(await listEnabledWebhooks(database, agentOwner(agent.id))).toEqual([]);
    const on = await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, true, { now: T0 + 2 });
    expect(on?.enabled).toBe(true);
    expect((await listEnabledWebhooks(database, agentOwner(agent.id))).map((w) => w.id)).toEqual([webhook.id]);
  });

  it.each([
    ["disabling", CANCELLED_BY_DISABLE],
    ["deleting", CANCELLED_BY_DELETE],
  ] as const)("%s a webhook cancels its queued deliveries and closes their log rows as failed", async (action, reason) => {
    const { agent, webhook } = await seedWebhook(database);
    const recorded = await recordEvent(database, {
      source: agentOwner(agent.id),
      event: "event_phone_call_started",
      data: {},
      occurredAt: T0,
      webhookIds: [webhook.id],
      buildPayload: payloadFor,
      now: T0,
    });
    if (action === "disabling") await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 1 });
    else await deleteWebhook(database, agentOwner(agent.id), webhook.id, { now: T0 + 1 });

    const delivery = await database.db.selectFrom("deliveries").selectAll().executeTakeFirstOrThrow();
    expect(delivery.status).toBe("cancelled");
    const log = await findLog(database, webhook.id, recorded.deliveries[0]!.logId);
    expect(log).toMatchObject({ status: "failed", error: reason });
    expect(await claimDueDeliveries(database, { owner: "w", limit: 10, leaseMs: 30_000, now: T0 + 2 })).toEqual([]);
  });

  it("disabling leaves a delivery under lease to finish its attempt", async () => {
    const { agent, webhook } = await seedWebhook(database);
    await recordEvent(database, {
      source: agentOwner(agent.id),
      event: "event_phone_call_started",
      data: {},
      occurredAt: T0,
      webhookIds: [webhook.id],
      buildPayload: payloadFor,
      now: T0,
    });
    const [claimed] = await claimDueDeliveries(database, { owner: "w", limit: 10, leaseMs: 30_000, now: T0 });
    await setWebhookEnabled(database, agentOwner(agent.id), webhook.id, false, { now: T0 + 1 });
    const delivery = await database.db.selectFrom("deliveries").selectAll().executeTakeFirstOrThrow();
    expect(delivery).toMatchObject({ status: "pending", lease_owner: "w" });
    expect((await findLog(database, webhook.id, claimed!.logId))?.status).toBe("pending");
  });

  it("the enabled list holds only this agent's enabled, undeleted webhooks", async () => {
    const { environment, agent } = await seedAgent(database);
    const other = await createAgent(database, { environmentId: environment.id, name: "Other", now: T0 });
    const on = await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "on" }), { now: T0 });
    await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "off", enabled: false }), { now: T0 + 1 });
    const gone = await createWebhook(database, agentOwner(agent.id), webhookInput({ name: "gone" }), { now: T0 + 2 });
    await createWebhook(database, agentOwner(other.id), webhookInput({ name: "theirs" }), { now: T0 + 3 });
    await deleteWebhook(database, agentOwner(agent.id), gone.id);
    expect((await listEnabledWebhooks(database, agentOwner(agent.id))).map((w) => w.id)).toEqual([on.id]);
  });
});
