// Campaign webhooks on the one delivery engine: campaign events delivered signed and logged in the campaign
// envelope; an agent's per-call events reaching the campaign's webhooks with include_call_events (and only
// those); retry, test, toggle and delete as for agent webhooks; campaigns of another environment unseen.
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { campaignDeliveryExample } from "../../server/spec.js";
import { SERVICE_TOKEN } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { CALL_ENDED_DATA, CAMPAIGN_STARTED_DATA, HOUR, deliveryStatuses, engineTests, type EngineTestServer } from "./harness.js";
import { headersOf, type Receiver } from "./receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;
  let newReceiver: () => Promise<Receiver>;
  const webhookPath = (webhookId: string) => `/api/v1/campaigns/${t.campaignId}/webhooks/${webhookId}`;

  engineTests(dialect, async (server, makeReceiver) => {
    t = server;
    newReceiver = makeReceiver;
    receiver = await newReceiver();
  });

  it("a campaign event is delivered signed, in the campaign envelope, and logged under the campaign webhook", async () => {
    const webhook = await t.campaign.createWebhook({ webhook_url: receiver.url, webhook_secret: SECRET });
    expect(webhook).toMatchObject({ campaign_id: t.campaignId, include_call_events: false, status: "active" });
    const occurredAt = "2025-09-04T09:00:00.000000Z";
    const accepted = await t.campaign.ingest({ occurred_at: occurredAt });
    expect(accepted).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });

    const [request] = await receiver.waitForRequests(1);
    const body = JSON.parse(request!.body);
    expect(new StandardWebhook(SECRET).verify(request!.raw, headersOf(request!))).toEqual(body);
    expect(body).toEqual({
      id: request!.headers["webhook-id"],
      event_id: accepted.event_id,
      event: "campaign.started",
      campaign_id: t.campaignId,
      agent_id: t.agentId, // the campaign's agent
      occurred_at: occurredAt,
      data: CAMPAIGN_STARTED_DATA,
    });
    expect(componentErrors("CampaignStartedEvent", body)).toEqual([]);

    const [log] = await t.campaign.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, event: "campaign.started", status: "success", http_status: 200, request_payload: body });
    // Only subscribed events: campaign.paused is not.
    expect(await t.campaign.ingest({ event: "campaign.paused" })).toMatchObject({ deliveries_queued: 0 });
  });

  it("idempotency keys are per campaign: a repeat is replayed, the same key on the agent is another event", async () => {
    await t.campaign.createWebhook({ webhook_url: receiver.url });
    const first = await t.campaign.ingest({ idempotency_key: "k-1" });
    expect(await t.campaign.ingest({ idempotency_key: "k-1" })).toEqual({ event_id: first.event_id, deliveries_queued: 0, replayed: true });
    const agentEvent = await t.ingest({ idempotency_key: "k-1" });
    expect(agentEvent).toMatchObject({ replayed: false });
    expect(agentEvent.event_id).not.toBe(first.event_id);
  });

  it("include_call_events: an agent event of the campaign's call reaches the campaign webhooks that asked, once each", async () => {
    const other = await newReceiver();
    const agentWebhook = await t.createWebhook({ webhook_url: receiver.url });
    const withCalls = await t.campaign.createWebhook({ webhook_url: other.url, include_call_events: true });
    const withoutCalls = await t.campaign.createWebhook({ webhook_url: other.url, include_call_events: false });

    const accepted = await t.ingest({ campaign_id: t.campaignId });
    expect(accepted.deliveries_queued).toBe(2); // the agent's webhook and `withCalls`
    const [campaignRequest] = await other.waitForRequests(1);
    const [agentRequest] = await receiver.waitForRequests(1);
    const expected = {
      event_id: accepted.event_id,
      event: "event_phone_call_ended",
      agent_id: t.agentId,
      campaign_id: t.campaignId,
      data: CALL_ENDED_DATA,
    };
    expect(JSON.parse(campaignRequest!.body)).toMatchObject(expected);
    expect(JSON.parse(agentRequest!.body)).toMatchObject(expected);
    expect(componentErrors("PhoneCallEndedEvent", JSON.parse(campaignRequest!.body))).toEqual([]);

    await t.campaign.settledLogs(withCalls.id, 1);
    await t.settledLogs(agentWebhook.id, 1);
    expect((await t.campaign.logs(withoutCalls.id)).data).toEqual([]);

    // Without campaign_id, the call is the agent's alone.
    expect(await t.ingest()).toMatchObject({ deliveries_queued: 1 });
    await t.clock.workerCycles();
    expect(other.requests).toHaveLength(1);

    // Turned off by an update, the next call event passes it by.
    await t.api(webhookPath(withCalls.id), { method: "PUT", body: { include_call_events: false } });
    expect(await t.ingest({ campaign_id: t.campaignId })).toMatchObject({ deliveries_queued: 1 });
  });

  it("an agent event naming a campaign of another environment, or none, is a 422 and queues nothing", async () => {
    await t.campaign.createWebhook({ webhook_url: receiver.url, include_call_events: true });
    const foreign = await t.otherEnvironment();
    for (const campaignId of [foreign.campaignId, "01994a2b-0000-7000-8000-00000000c0de"]) {
      const response = await t.api(`/internal/v1/agents/${t.agentId}/events`, {
        method: "POST",
        token: SERVICE_TOKEN,
        body: { event: "event_phone_call_ended", data: CALL_ENDED_DATA, campaign_id: campaignId },
      });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({ message: "The given data was invalid.", errors: { campaign_id: ["The selected campaign id is invalid."] } });
    }
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(0);
  });

  it("a campaign of another environment answers 404 `Campaign not found in this environment.` on every operation", async () => {
    const foreign = await t.otherEnvironment();
    const webhook = await t.campaign.createWebhook({ webhook_url: receiver.url });
    const notFound = { success: false, message: "Campaign not found in this environment." };
    for (const [method, path] of [
      ["GET", `/api/v1/campaigns/${foreign.campaignId}/webhooks`],
      ["POST", `/api/v1/campaigns/${foreign.campaignId}/webhooks`],
      ["GET", `/api/v1/campaigns/${foreign.campaignId}/webhooks/${webhook.id}`],
      ["PATCH", `/api/v1/campaigns/${foreign.campaignId}/webhooks/${webhook.id}/toggle`],
      ["GET", `/api/v1/campaigns/${foreign.campaignId}/webhooks/${webhook.id}/logs`],
    ] as const) {
      const response = await t.api(path, { method, ...(method === "POST" && { body: {} }) });
      expect([method, path, response.status, response.body]).toEqual([method, path, 404, notFound]);
    }
    // The other environment's own token does not reach this campaign's webhook either.
    const probe = await t.api(webhookPath(webhook.id), { token: foreign.token });
    expect(probe.status).toBe(404);
    // Nor does the agent resource see a campaign's webhook.
    expect((await t.api(`/api/v1/agents/${t.agentId}/webhooks/${webhook.id}`)).status).toBe(404);
  });

  it("a failed campaign delivery is retried by hand as attempt + 1 (`Webhook retry queued`)", async () => {
    receiver.respond(500);
    const webhook = await t.campaign.createWebhook({ webhook_url: receiver.url, max_retries: 0 });
    await t.campaign.ingest();
    const [failed] = await t.campaign.settledLogs(webhook.id, 1);
    expect(failed).toMatchObject({ status: "failed", http_status: 500 });

    receiver.respond(200);
    const retried = await t.api(`${webhookPath(webhook.id)}/logs/${failed.id}/retry`, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({
      success: true,
      message: "Webhook retry queued",
      data: { log_id: expect.any(String), original_log_id: failed.id, queued_at: expect.any(String) },
    });
    const logs = await t.campaign.settledLogs(webhook.id, 2);
    expect(logs[1]).toMatchObject({ id: retried.body.data.log_id, attempt: 2, status: "success" });
    const [first, second] = await receiver.waitForRequests(2);
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
  });

  it("the test call fires the example of the webhook's first event, signed, logged under that event (`Test payload dispatched`)", async () => {
    const webhook = await t.campaign.createWebhook({ webhook_url: receiver.url, webhook_secret: SECRET, events: ["campaign_call.failed", "campaign.started"] });
    const response = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true, message: "Test payload dispatched", data: { status_code: 200, response_time: expect.any(Number) } });

    const [request] = await receiver.waitForRequests(1);
    const body = JSON.parse(request!.body);
    expect(new StandardWebhook(SECRET).verify(request!.raw, headersOf(request!))).toEqual(body);
    expect(body).toMatchObject({ id: request!.headers["webhook-id"], event: "campaign_call.failed", campaign_id: t.campaignId, data: campaignDeliveryExample("campaign_call.failed").data });
    expect(componentErrors("CampaignCallFailedEvent", body)).toEqual([]);
    const [log] = await t.campaign.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ event: "campaign_call.failed", status: "success", request_payload: body });

    receiver.respond(500);
    const failed = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST" });
    expect(failed.body).toMatchObject({ success: false, message: "Webhook test failed: HTTP 500 Internal Server Error", data: { status_code: 500 } });
  });

  it("disabling and deleting a campaign webhook cancel its queued retries, as for agent webhooks", async () => {
    receiver.respond(500);
    const disabled = await t.campaign.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    const deleted = await t.campaign.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    await t.campaign.ingest();
    for (const webhook of [disabled, deleted]) {
      await t.campaign.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 1 && l.status === "retrying"));
    }

    const toggled = await t.api(`${webhookPath(disabled.id)}/toggle`, { method: "PATCH" });
    expect(toggled.body).toMatchObject({ success: true, message: "Webhook disabled", data: { enabled: false, status: "disabled" } });
    const removed = await t.api(webhookPath(deleted.id), { method: "DELETE" });
    expect(removed.body).toEqual({ success: true, message: "Campaign webhook deleted" });
    expect((await t.api(`${webhookPath(deleted.id)}/logs`)).status).toBe(404);

    expect(await deliveryStatuses(t, disabled.id)).toEqual(["cancelled"]);
    expect(await deliveryStatuses(t, deleted.id)).toEqual(["cancelled"]);
    t.clock.advance(2 * HOUR);
    expect(await t.campaign.ingest()).toMatchObject({ deliveries_queued: 0 });
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(2);
  });
});
