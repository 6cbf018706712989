// The two operations that send on a user's request: retry a logged attempt by hand, and the test endpoint.
import { randomBytes, randomUUID } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { componentErrors } from "../support/spec-schemas.js";
import { engineTests, type EngineTestServer } from "./harness.js";
import { closedPort, headersOf } from "./receiver.js";

const NOT_RETRIABLE = { success: false, message: "Log cannot be retried", code: "LOG_NOT_RETRIABLE" };

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  const { newReceiver: receiver } = engineTests(dialect, (server) => {
    t = server;
  });
  const webhookPath = (webhookId: string) => `/api/v1/agents/${t.agentId}/webhooks/${webhookId}`;
  const retry = (webhookId: string, logId: string) => t.api(`${webhookPath(webhookId)}/logs/${logId}/retry`, { method: "POST" });

  describe("manual retry", () => {
    it("a failed delivery is sent again to the webhook's current URL and secret as attempt + 1; the original row is unchanged", async () => {
      const failing = await receiver();
      failing.respond(500);
      const fixed = await receiver();
      const webhook = await t.createWebhook({ webhook_url: failing.url, webhook_secret: "old_plain_secret", max_retries: 0 });
      await t.ingest();
      const [original] = await t.settledLogs(webhook.id, 1);
      expect(original).toMatchObject({ attempt: 1, status: "failed" });

      const newSecret = "whsec_" + randomBytes(24).toString("base64");
      const updated = await t.api(webhookPath(webhook.id), { method: "PUT", body: { webhook_url: fixed.url, webhook_secret: newSecret } });
      expect(updated.status).toBe(200);

      const response = await retry(webhook.id, original.id);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        message: "Webhook retry queued successfully",
        data: { log_id: expect.any(String), original_log_id: original.id, queued_at: expect.any(String) },
      });
      expect(response.body.data.log_id).not.toBe(original.id);

      const [sent] = await fixed.waitForRequests(1);
      expect(sent!.headers["webhook-id"]).toBe(failing.requests[0]!.headers["webhook-id"]);
      expect(sent!.raw.equals(failing.requests[0]!.raw)).toBe(true);
      expect(new StandardWebhook(newSecret).verify(sent!.raw, headersOf(sent!))).toEqual(JSON.parse(sent!.body));

      const logs = await t.settledLogs(webhook.id, 2);
      expect(logs[0]).toEqual(original);
      expect(logs[1]).toMatchObject({ id: response.body.data.log_id, attempt: 2, status: "success", http_status: 200 });
      expect(failing.requests).toHaveLength(1);

      // The delivery has succeeded now: neither row can be retried.
      expect(await retry(webhook.id, logs[1].id)).toMatchObject({ status: 422, body: NOT_RETRIABLE });
      expect(await retry(webhook.id, original.id)).toMatchObject({ status: 422, body: NOT_RETRIABLE });
    });

    it("a log of a disabled webhook is not retriable, and an unknown log is 404 `Log not found.`", async () => {
      const failing = await receiver();
      failing.respond(500);
      const webhook = await t.createWebhook({ webhook_url: failing.url, max_retries: 0 });
      await t.ingest();
      const [failed] = await t.settledLogs(webhook.id, 1);

      expect((await t.api(`${webhookPath(webhook.id)}/toggle`, { method: "PATCH" })).body.data.enabled).toBe(false);
      expect(await retry(webhook.id, failed.id)).toMatchObject({ status: 422, body: NOT_RETRIABLE });
      expect(await retry(webhook.id, randomUUID())).toMatchObject({ status: 404, body: { success: false, message: "Log not found." } });

      // Nothing was queued by the refused retry.
      await t.clock.workerCycles();
      expect(failing.requests).toHaveLength(1);
      expect((await t.logs(webhook.id)).pagination.total).toBe(1);
    });

    it("retrying a delivery whose automatic retry is queued adds no row: the queued attempt is made due now", async () => {
      const r = await receiver();
      r.respond(500, 200);
      const webhook = await t.createWebhook({ webhook_url: r.url, max_retries: 3 });
      await t.ingest();
      const logs = await t.logsUntil(webhook.id, (rows) => rows.some((l) => l.attempt === 1 && l.status === "retrying"));
      const first = logs.find((l) => l.attempt === 1);
      const queued = logs.find((l) => l.attempt === 2);
      expect(queued.status).toBe("pending");

      const response = await retry(webhook.id, first.id);
      expect(response.status).toBe(200);
      expect(response.body.data).toMatchObject({ log_id: queued.id, original_log_id: first.id });
      // Due now: sent before the automatic schedule (at least 4 s after attempt 1), the clock untouched.
      const [sent1, sent2] = await r.waitForRequests(2);
      expect(sent2!.receivedAt - sent1!.receivedAt).toBeLessThan(4_000);
      const settled = await t.settledLogs(webhook.id, 2);
      expect(settled.map((l) => [l.attempt, l.status])).toEqual([
        [1, "retrying"],
        [2, "success"],
      ]);
    });
  });

  describe("test endpoint", () => {
    it("sends a signed `webhook.test` body and answers success with the status code and response time", async () => {
      const r = await receiver();
      const webhook = await t.createWebhook({ name: "Tested", webhook_url: r.url, webhook_secret: "optional_secret_for_hmac" });
      const response = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST" });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        message: "Test webhook sent successfully",
        data: { status_code: 200, response_time: expect.any(Number) },
      });

      expect(r.requests).toHaveLength(1);
      const [request] = r.requests;
      const verifier = new StandardWebhook(new TextEncoder().encode("optional_secret_for_hmac"), { format: "raw" });
      const body = verifier.verify(request!.raw, headersOf(request!));
      expect(body).toEqual({
        event: "webhook.test",
        agent_id: t.agentId,
        agent_name: t.agentName,
        webhook_id: webhook.id,
        webhook_name: "Tested",
        timestamp: expect.any(String),
        test: true,
      });
      expect(componentErrors("WebhookTestEvent", body)).toEqual([]);
      expect(request!.headers["user-agent"]).toMatch(/^Talkover-Webhooks\//);

      const [log] = await t.settledLogs(webhook.id, 1);
      expect(log).toMatchObject({ event: "webhook.test", attempt: 1, status: "success", http_status: 200, request_payload: body });
      // A test is never retried.
      expect(await retry(webhook.id, log.id)).toMatchObject({ status: 422, body: NOT_RETRIABLE });
    });

    it("a failing receiver: success false with `Webhook test failed: …`, logged as a failed `webhook.test`", async () => {
      const r = await receiver();
      r.respond(500);
      const webhook = await t.createWebhook({ webhook_url: r.url, max_retries: 3 });
      const response = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST" });
      expect(response.body).toEqual({
        success: false,
        message: "Webhook test failed: HTTP 500 Internal Server Error",
        data: { status_code: 500, response_time: expect.any(Number) },
      });
      const [log] = await t.settledLogs(webhook.id, 1);
      expect(log).toMatchObject({ event: "webhook.test", status: "failed", http_status: 500, error: "HTTP 500 Internal Server Error" });
      expect(await retry(webhook.id, log.id)).toMatchObject({ status: 422, body: NOT_RETRIABLE });

      // Never retried automatically either.
      t.clock.advance(3_600_000);
      await t.clock.workerCycles();
      expect(r.requests).toHaveLength(1);

      // No answer at all: no data, the reason in the message.
      const port = await closedPort();
      const refused = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST", body: { url: `http://127.0.0.1:${port}/hook` } });
      expect(refused.body).toEqual({ success: false, message: "Webhook test failed: Connection refused" });
    });

    it("`url` in the body tests another address; the webhook's own URL gets nothing", async () => {
      const own = await receiver();
      const other = await receiver();
      const webhook = await t.createWebhook({ webhook_url: own.url });
      const response = await t.api(`${webhookPath(webhook.id)}/test`, { method: "POST", body: { url: other.url } });
      expect(response.body.success).toBe(true);
      expect(other.requests).toHaveLength(1);
      expect(own.requests).toHaveLength(0);
      expect((await t.webhook(webhook.id)).webhook_url).toBe(own.url);
    });
  });
});
