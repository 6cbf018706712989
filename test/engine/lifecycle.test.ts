// Disabled and deleted webhooks (nothing more is sent, queued deliveries are cancelled) and log retention.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import { purgeExpired } from "../../server/delivery/retention.js";
import type { Dialect } from "../../server/storage/db.js";
import { DAY, HOUR, deliveryStatuses, engineTests, type EngineTestServer } from "./harness.js";
import { startReceiver, type Receiver } from "./receiver.js";

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;
  const webhookPath = (webhookId: string) => `/api/v1/agents/${t.agentId}/webhooks/${webhookId}`;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    receiver = await newReceiver();
  });

  /** A webhook whose only delivery failed once and has its next attempt queued. */
  async function webhookWithQueuedRetry() {
    receiver.respond(500);
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    await t.ingest();
    await t.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 1 && l.status === "retrying"));
    expect(await deliveryStatuses(t, webhook.id)).toEqual(["pending"]);
    return webhook;
  }

  it("disabling a webhook cancels its queued retry, and it receives nothing more", async () => {
    const webhook = await webhookWithQueuedRetry();
    const toggled = await t.api(`${webhookPath(webhook.id)}/toggle`, { method: "PATCH" });
    expect(toggled.body.data).toMatchObject({ enabled: false, status: "disabled" });

    expect(await deliveryStatuses(t, webhook.id)).toEqual(["cancelled"]);
    const logs = await t.settledLogs(webhook.id, 2);
    expect(logs[1]).toMatchObject({ attempt: 2, status: "failed", error: "Delivery cancelled: the webhook was disabled." });

    // Past any retry time, and a new event: nothing is sent.
    t.clock.advance(2 * HOUR);
    expect(await t.ingest()).toMatchObject({ deliveries_queued: 0 });
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(1);

    // Enabling resumes new events only; the cancelled delivery stays cancelled.
    receiver.respond(200);
    await t.api(`${webhookPath(webhook.id)}/toggle`, { method: "PATCH" });
    expect(await t.ingest()).toMatchObject({ deliveries_queued: 1 });
    await receiver.waitForRequests(2);
    await t.settledLogs(webhook.id, 3);
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(2);
    expect((await deliveryStatuses(t, webhook.id)).sort()).toEqual(["cancelled", "success"]);
  });

  it("deleting a webhook cancels its queued retry, and it receives nothing more", async () => {
    const webhook = await webhookWithQueuedRetry();
    expect((await t.api(webhookPath(webhook.id), { method: "DELETE" })).status).toBe(200);
    expect((await t.api(`${webhookPath(webhook.id)}/logs`)).status).toBe(404);
    expect(await deliveryStatuses(t, webhook.id)).toEqual(["cancelled"]);

    t.clock.advance(2 * HOUR);
    expect(await t.ingest()).toMatchObject({ deliveries_queued: 0 });
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(1);
  });

  it("a webhook disabled while an attempt is in flight: that attempt fails for good, no retry is queued", async () => {
    receiver.respond({ status: 500, delayMs: 1_000 });
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    await t.ingest();
    await receiver.waitForRequests(1); // answering in 1 s
    await t.api(`${webhookPath(webhook.id)}/toggle`, { method: "PATCH" });

    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, status: "failed", http_status: 500 });
    expect(await deliveryStatuses(t, webhook.id)).toEqual(["cancelled"]);
    t.clock.advance(2 * HOUR);
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(1);
  });

  it("retention purges logs older than 30 days in batches, and the pagination total follows", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 0 });
    // Five deliveries and a test, 40 days ago by the engine's clock.
    t.clock.advance(-40 * DAY);
    for (let i = 0; i < 5; i++) await t.ingest();
    await t.settledLogs(webhook.id, 5);
    await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST" });
    // And one failed delivery, too old to be retried by hand.
    const failing = await startReceiver();
    failing.respond(500);
    const old = await t.createWebhook({ name: "old", webhook_url: failing.url, max_retries: 0, events: ["event_phone_call_started"] });
    await t.ingest({ event: "event_phone_call_started", data: { call_id: "c1", direction: "inbound", from_number: "+1", to_number: "+2" } });
    const [oldFailure] = await t.settledLogs(old.id, 1);
    t.clock.advance(40 * DAY);

    // Two today.
    for (let i = 0; i < 2; i++) await t.ingest();
    await t.settledLogs(webhook.id, 8);
    await failing.close();
    expect((await t.logs(webhook.id)).pagination).toMatchObject({ total: 8 });
    expect(await t.api(`${webhookPath(old.id)}/logs/${oldFailure.id}/retry`, { method: "POST" })).toMatchObject({
      status: 422,
      body: { code: "LOG_NOT_RETRIABLE" },
    });

    const purged = await purgeExpired({ database: t.server.database, logger: createLogger("silent"), retentionDays: 30, batchSize: 2, now: t.clock.peek });
    // 5 deliveries + 1 test + 1 failure = 7 old rows, purged 2 at a time (several batches); finished
    // deliveries and events go too (how many is the storage layer's business: a second pass finds none).
    expect(purged.logs).toBe(7);
    expect(purged.deliveries).toBeGreaterThan(0);

    const after = await t.logs(webhook.id, "per_page=1");
    expect(after.pagination).toEqual({ current_page: 1, per_page: 1, total: 2, last_page: 2 });
    const all = await t.logs(webhook.id);
    expect(all.data).toHaveLength(2);
    expect(all.data.every((l: any) => Date.parse(l.created_at) > t.clock.peek() - DAY)).toBe(true);
    expect((await t.logs(old.id)).pagination).toMatchObject({ total: 0 });
    expect((await t.api(`${webhookPath(old.id)}/logs/${oldFailure.id}/retry`, { method: "POST" })).status).toBe(404);

    // Nothing left to purge: a second pass deletes nothing.
    expect(await purgeExpired({ database: t.server.database, logger: createLogger("silent"), retentionDays: 30, batchSize: 2, now: t.clock.peek })).toEqual({
      logs: 0,
      deliveries: 0,
      events: 0,
    });
  });
});
