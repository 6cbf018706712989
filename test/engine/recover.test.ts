// Recovery over real HTTP against a real receiver: a receiver down for a while (max_retries 0), then up;
// POST …/recover sends exactly the failed deliveries of the range again, once each, with the same webhook-id
// and attempt + 1, and leaves pending, retrying, succeeded and out-of-range deliveries alone. Its 422s, and
// the campaign twin.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { DAY, engineTests, type EngineTestServer } from "./harness.js";
import type { Receiver } from "./receiver.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const invalid = (errors: Record<string, string[]>) => ({ status: 422, body: { message: "The given data was invalid.", errors } });

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let r: Receiver;
  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    r = await newReceiver();
  });
  const webhookPath = (webhookId: string) => `/api/v1/agents/${t.agentId}/webhooks/${webhookId}`;
  const recover = (path: string, body: Record<string, unknown>) => t.api(`${path}/recover`, { method: "POST", body });
  const idOf = (i: number) => String(r.requests[i]!.headers["webhook-id"]);

  it("recovers exactly the failed deliveries of the range, once each, same webhook-id, attempt + 1", async () => {
    r.respond(500); // the receiver is down
    const webhook = await t.createWebhook({ webhook_url: r.url, max_retries: 0 });
    await t.ingest(); // before `since`
    await t.settledLogs(webhook.id, 1);
    await tick();
    const since = new Date().toISOString();
    await tick();
    for (let i = 0; i < 3; i++) await t.ingest(); // failed, in range
    await t.settledLogs(webhook.id, 4);
    r.respond(200);
    await t.ingest(); // succeeded, in range
    await t.settledLogs(webhook.id, 5);
    await t.api(webhookPath(webhook.id), { method: "PUT", body: { max_retries: 3 } });
    r.respond({ status: 503, headers: { "retry-after": "3600" } });
    await t.ingest(); // retrying, in range (next attempt in an hour)
    await t.logsUntil(webhook.id, (rows) => rows.some((l) => l.attempt === 1 && l.status === "retrying"));
    r.respond({ status: 200, delayMs: 3_000 });
    await t.ingest(); // pending: its attempt is under way while recovery runs
    await r.waitForRequests(7);
    await tick();
    const until = new Date().toISOString();
    await tick();
    await t.api(webhookPath(webhook.id), { method: "PUT", body: { max_retries: 0 } });
    r.respond(500);
    await t.ingest(); // failed, after `until`
    await r.waitForRequests(8);
    await t.logsUntil(webhook.id, (rows) => rows.filter((l) => l.status === "failed").length === 5);

    r.respond(200); // the receiver is back
    const response = await recover(webhookPath(webhook.id), { since, until });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ success: true, message: "Webhook recovery queued", data: { deliveries_queued: 3 } });

    const failedIds = [1, 2, 3].map(idOf);
    await r.waitForRequests(11);
    const succeeded = (rows: any[], attempt: number) => rows.filter((l) => l.attempt === attempt && l.status === "success").length;
    // The three recovered, and the delivery that was under way meanwhile finished as it was.
    const logs = await t.logsUntil(webhook.id, (rows) => succeeded(rows, 2) === 3 && succeeded(rows, 1) === 2);
    const recovered = logs.filter((l) => l.attempt === 2 && l.status === "success");
    expect(new Set(recovered.map((l) => l.request_payload.id))).toEqual(new Set(failedIds));
    expect(new Set(r.requests.slice(8).map((q) => String(q.headers["webhook-id"])))).toEqual(new Set(failedIds));

    // Once each; the others untouched.
    expect(await recover(webhookPath(webhook.id), { since, until })).toMatchObject({ status: 202, body: { data: { deliveries_queued: 0 } } });
    await t.clock.workerCycles();
    const counts = r.countsById();
    for (const id of failedIds) expect(counts.get(id)).toBe(2);
    for (const i of [0, 4, 5, 6, 7]) expect(counts.get(idOf(i))).toBe(1);
    expect(r.requests).toHaveLength(11);
  });

  it("answers 422 for a disabled webhook, since in the future, past retention or not before until, and a missing since", async () => {
    const webhook = await t.createWebhook({ webhook_url: r.url });
    const path = webhookPath(webhook.id);
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await recover(path, { since: iso(now + 60_000) })).toMatchObject(invalid({ since: ["The since field must be a date before now."] }));
    expect(await recover(path, { since: iso(now - 31 * DAY) })).toMatchObject(
      invalid({ since: ["The since field must be a date after or equal to 30 days ago."] }),
    );
    expect(await recover(path, { since: iso(now - 60_000), until: iso(now - 120_000) })).toMatchObject(
      invalid({ until: ["The until field must be a date after since."] }),
    );
    expect(await recover(path, { until: iso(now) })).toMatchObject(invalid({ since: ["The since field is required."] }));
    expect(await recover(path, { since: "yesterday" })).toMatchObject({ status: 422, body: { errors: { since: [expect.any(String)] } } });
    expect(await t.api(`${path}/toggle`, { method: "PATCH" })).toMatchObject({ status: 200 });
    expect(await recover(path, { since: iso(now - 60_000) })).toMatchObject(
      invalid({ webhook_id: ["The webhook must be enabled to recover its deliveries."] }),
    );
    expect(await recover(webhookPath(randomUUID()), { since: iso(now - 60_000) })).toMatchObject({
      status: 404,
      body: { success: false, message: "Webhook not found." },
    });
  });

  it("the campaign twin recovers a campaign webhook's failed deliveries", async () => {
    r.respond(500);
    const webhook = await t.campaign.createWebhook({ webhook_url: r.url, max_retries: 0 });
    const since = new Date(Date.now() - 1_000).toISOString();
    await t.campaign.ingest();
    await t.campaign.ingest();
    await t.campaign.settledLogs(webhook.id, 2);
    r.respond(200);
    const path = `/api/v1/campaigns/${t.campaignId}/webhooks/${webhook.id}`;
    const response = await recover(path, { since });
    expect(response).toMatchObject({ status: 202, body: { success: true, message: "Webhook recovery queued", data: { deliveries_queued: 2 } } });
    await r.waitForRequests(4);
    const logs = await t.campaign.settledLogs(webhook.id, 4);
    expect(logs.map((l) => [l.attempt, l.status])).toEqual([
      [1, "failed"],
      [1, "failed"],
      [2, "success"],
      [2, "success"],
    ]);
    const counts = r.countsById();
    expect([...counts.values()]).toEqual([2, 2]);
    expect(await recover(`/api/v1/campaigns/${randomUUID()}/webhooks/${webhook.id}`, { since })).toMatchObject({
      status: 404,
      body: { message: "Campaign not found in this environment." },
    });
  });
});
