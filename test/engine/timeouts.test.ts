// Timeouts: the webhook's `timeout` bounds the whole attempt. 5 s is the smallest the API allows, so this
// file holds the only tests that wait it out, and the two databases run side by side (describe.concurrent).
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { engineTests, type EngineTestServer } from "./harness.js";
import type { Receiver } from "./receiver.js";

describe.concurrent.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let silent: Receiver;
  let trickler: Receiver;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    silent = await newReceiver();
    silent.respond({ never: true });
    trickler = await newReceiver();
    trickler.respond({ status: 200, trickleMs: 200 });
  });

  it("a receiver that never answers, and one that trickles its body, fail with `Timeout after 5s`; so does a test call", async () => {
    // Everything that waits out the 5 s happens at once: two deliveries and a test-endpoint call.
    const a = await t.createWebhook({ name: "silent", webhook_url: silent.url, timeout: 5, max_retries: 0 });
    const b = await t.createWebhook({ name: "trickle", webhook_url: trickler.url, timeout: 5, max_retries: 0 });
    await t.ingest();
    const testCall = t.api(`/api/v1/agents/${t.agentId}/webhooks/${a.id}/test`, { method: "POST" });

    const [silentLogs, trickleLogs, tested] = await Promise.all([
      t.logsUntil(a.id, (logs) => logs.length === 2 && logs.every((l) => l.status !== "pending"), 20_000),
      t.settledLogs(b.id, 1, 20_000),
      testCall,
    ]);
    const delivery = silentLogs.find((l) => l.event === "event_phone_call_ended");
    expect(delivery).toMatchObject({ attempt: 1, status: "failed", error: "Timeout after 5s" });
    expect(delivery).not.toHaveProperty("http_status");
    expect(delivery.duration_ms).toBeGreaterThanOrEqual(4_900);
    // Headers came (200) but the body never finished: the one timer bounds the whole attempt.
    expect(trickleLogs[0]).toMatchObject({ attempt: 1, status: "failed", error: "Timeout after 5s", http_status: 200 });
    expect(trickleLogs[0]).not.toHaveProperty("delivered_at");
    expect(trickleLogs[0].duration_ms).toBeGreaterThanOrEqual(4_900);

    expect(tested.body).toEqual({ success: false, message: "Webhook test failed: Timeout after 5s" });
    expect(silentLogs.find((l) => l.event === "webhook.test")).toMatchObject({ status: "failed", error: "Timeout after 5s" });
  }, 30_000);
});
