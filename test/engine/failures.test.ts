// How an attempt fails, as the log tells it: a refused connection, redirects (never followed), a 4xx, and
// a huge response body (cut at 64 KiB, still a success on 2xx). Timeouts are in timeouts.test.ts.
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { engineTests, type EngineTestServer } from "./harness.js";
import { closedPort } from "./receiver.js";

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  const { newReceiver: receiver } = engineTests(dialect, (server) => {
    t = server;
  });

  it("a closed port fails with `Connection refused`", async () => {
    const port = await closedPort();
    const webhook = await t.createWebhook({ webhook_url: `http://127.0.0.1:${port}/hook`, max_retries: 0 });
    await t.ingest();
    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, status: "failed", error: "Connection refused" });
    expect(log).not.toHaveProperty("http_status");
  });

  it("a 301 or 302 is a failed attempt and its Location is never requested", async () => {
    const moved = await receiver();
    moved.respond({ status: 301, headers: { location: `${moved.origin}/elsewhere` } });
    const found = await receiver();
    found.respond({ status: 302, headers: { location: `${found.origin}/elsewhere` } });
    const a = await t.createWebhook({ name: "301", webhook_url: moved.url, max_retries: 0 });
    const b = await t.createWebhook({ name: "302", webhook_url: found.url, max_retries: 0 });
    await t.ingest();

    const [[movedLog], [foundLog]] = await Promise.all([t.settledLogs(a.id, 1), t.settledLogs(b.id, 1)]);
    expect(movedLog).toMatchObject({ status: "failed", http_status: 301, error: expect.stringMatching(/^HTTP 301 Moved Permanently/) });
    expect(foundLog).toMatchObject({ status: "failed", http_status: 302, error: expect.stringMatching(/^HTTP 302 Found/) });
    expect(movedLog.response_headers.location).toBe(`${moved.origin}/elsewhere`);
    await t.clock.workerCycles();
    for (const r of [moved, found]) {
      expect(r.requests.map((q) => q.path)).toEqual(["/hook"]);
      expect(r.requestsTo("/elsewhere")).toEqual([]);
    }
  });

  it("a 5 MB 2xx response body: the delivery succeeds and the log keeps the first 64 KiB", async () => {
    const big = await receiver();
    big.respond({ status: 200, bodyBytes: 5 * 1024 * 1024 });
    const webhook = await t.createWebhook({ webhook_url: big.url, max_retries: 0 });
    await t.ingest();
    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, status: "success", http_status: 200, delivered_at: expect.any(String) });
    expect(log).not.toHaveProperty("error");
    expect(log.response_body).toHaveLength(64 * 1024);
    expect(log.response_body).toBe("x".repeat(64 * 1024));
  });

  it("a 4xx answer is a failed attempt whose body and headers are logged", async () => {
    const rejecting = await receiver();
    rejecting.respond({ status: 400, headers: { "x-reason": "bad" }, body: '{"error":"nope"}' });
    const webhook = await t.createWebhook({ webhook_url: rejecting.url, max_retries: 0 });
    await t.ingest();
    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({
      status: "failed",
      http_status: 400,
      error: "HTTP 400 Bad Request",
      response_body: '{"error":"nope"}',
      response_headers: expect.objectContaining({ "x-reason": "bad" }),
    });
  });
});
