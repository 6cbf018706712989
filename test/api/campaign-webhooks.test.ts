// The campaign webhook resource on SQLite and PostgreSQL: Talkover's documented bodies (a superset of them),
// the campaign catalogue, include_call_events, and the rules shared with agent webhooks applied to campaign
// events (catalogue, templates).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { DIALECTS } from "./helpers.js";

const validCampaignWebhook = {
  name: "Campaign progress",
  webhook_url: "https://example.com/campaign-webhook",
  webhook_secret: "optional_secret_for_hmac",
  events: ["campaign.started", "campaign.completed"],
};

describe.each(DIALECTS)("campaign webhooks on %s", (dialect) => {
  let t: TestServer;
  const path = (suffix = "") => `/api/v1/campaigns/${t.campaignId}/webhooks${suffix}`;
  const create = async (body: Record<string, unknown> = validCampaignWebhook) => {
    const response = await t.api(path(), { method: "POST", body });
    if (response.status !== 201) throw new Error(`create failed: ${response.status} ${response.text}`);
    return response.body.data;
  };

  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  it("create answers 201 with the agent resource's envelope, campaign_id and include_call_events false by default", async () => {
    const r = await t.api(path(), { method: "POST", body: validCampaignWebhook });
    expect(r.status).toBe(201);
    expect(componentErrors("CampaignWebhookCreatedResponse", r.body)).toEqual([]);
    expect(r.body).toMatchObject({
      success: true,
      message: "Webhook created successfully",
      data: {
        campaign_id: t.campaignId,
        name: "Campaign progress",
        events: ["campaign.started", "campaign.completed"],
        include_call_events: false,
        timeout: 30,
        max_retries: 3,
        enabled: true,
        events_count: 2,
        status: "active",
      },
    });
    expect(r.body.data).not.toHaveProperty("agent_id");
    expect(r.body.data).not.toHaveProperty("webhook_secret");
  });

  it("list answers the campaign's webhooks and available_events as the array of campaign event names", async () => {
    const fresh = await startTestServer(dialect);
    try {
      const empty = await fresh.api(`/api/v1/campaigns/${fresh.campaignId}/webhooks`);
      expect(empty.body).toEqual({ success: true, data: { webhooks: [], available_events: [...loadSpec().campaignEvents] } });
      expect(empty.body.data.available_events).toHaveLength(13);
      await fresh.api(`/api/v1/campaigns/${fresh.campaignId}/webhooks`, { method: "POST", body: { ...validCampaignWebhook, include_call_events: true } });
      const listed = await fresh.api(`/api/v1/campaigns/${fresh.campaignId}/webhooks`);
      expect(componentErrors("CampaignWebhookListResponse", listed.body)).toEqual([]);
      expect(listed.body.data.webhooks).toEqual([expect.objectContaining({ include_call_events: true, campaign_id: fresh.campaignId })]);
      // The agent's list does not show it.
      expect((await fresh.api(`/api/v1/agents/${fresh.agentId}/webhooks`)).body.data.webhooks).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });

  it("show, update (partial), toggle and delete answer the documented messages", async () => {
    const created = await create();
    const shown = await t.api(path(`/${created.id}`));
    expect(shown.body).toEqual({ success: true, data: created });

    const updated = await t.api(path(`/${created.id}`), { method: "PUT", body: { include_call_events: true, events: ["campaign_call.failed"] } });
    expect(updated.status).toBe(200);
    expect(componentErrors("CampaignWebhookUpdatedResponse", updated.body)).toEqual([]);
    expect(updated.body).toMatchObject({
      message: "Webhook updated successfully",
      data: { include_call_events: true, events: ["campaign_call.failed"], events_count: 1, name: created.name },
    });

    const off = await t.api(path(`/${created.id}/toggle`), { method: "PATCH" });
    expect(off.body).toMatchObject({ success: true, message: "Webhook disabled", data: { enabled: false, status: "disabled" } });
    const on = await t.api(path(`/${created.id}/toggle`), { method: "PATCH" });
    expect(on.body).toMatchObject({ success: true, message: "Webhook enabled", data: { enabled: true, status: "active" } });

    expect((await t.api(path(`/${created.id}`), { method: "DELETE" })).body).toEqual({ success: true, message: "Campaign webhook deleted" });
    expect((await t.api(path(`/${created.id}`))).body).toEqual({ success: false, message: "Webhook not found." });
  });

  it("events come from the campaign catalogue: an agent-only event is a 422 naming the item", async () => {
    const r = await t.api(path(), { method: "POST", body: { ...validCampaignWebhook, events: ["campaign.started", "event_phone_call_ended"] } });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ message: "The given data was invalid.", errors: { "events.1": ["The selected events.1 is invalid."] } });
    const bad = await t.api(path(), { method: "POST", body: { ...validCampaignWebhook, include_call_events: "yes" } });
    expect(bad.body.errors).toEqual({ include_call_events: ["The include call events field must be true or false."] });
  });

  it("the agent resource's rules hold: limits, delivery options, unknown fields", async () => {
    const r = await t.api(path(), {
      method: "POST",
      body: { ...validCampaignWebhook, name: "n".repeat(256), timeout: 121, authorization_scheme: "bearer", colour: "blue" },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors).toMatchObject({
      name: ["The name field must not be greater than 255 characters."],
      timeout: ["The timeout field must be between 5 and 120."],
      colour: ["The colour field is prohibited."],
    });
  });

  it("payload templates: keyed by subscribed campaign events, with campaign.* variables", async () => {
    const ok = await t.api(path(), {
      method: "POST",
      body: { ...validCampaignWebhook, payload_templates: { "campaign.started": { text: "{{campaign.name}} started ({{campaign.id}}, {{data.name}})" } } },
    });
    expect(ok.status).toBe(201);
    const unknown = await t.api(path(), {
      method: "POST",
      body: { ...validCampaignWebhook, payload_templates: { "campaign.started": { text: "{{campaign.nope}}" }, "campaign.paused": {} } },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual({
      "payload_templates.campaign.started": ["The payload templates.campaign.started field uses unknown variables: campaign.nope."],
      "payload_templates.campaign.paused": ["The payload templates.campaign.paused field must be an event the webhook is subscribed to."],
    });
  });

  it("an unknown campaign is a 404 `Campaign not found in this environment.`; a missing token a 401", async () => {
    const unknown = await t.api("/api/v1/campaigns/01994a2b-0000-7000-8000-00000000c0de/webhooks");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ success: false, message: "Campaign not found in this environment." });
    expect((await t.api(path(), { token: null })).body).toEqual({ message: "Missing Bearer Token" });
  });
});
