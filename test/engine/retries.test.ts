// Automatic retries, driven by the engine's injectable clock instead of real waiting: attempt statuses and
// numbering, the backoff schedule, Retry-After (honoured, clamped to 1 h), and the webhook's `error` status.
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { HOUR, engineTests, type EngineTestServer } from "./harness.js";
import { startReceiver, type Receiver } from "./receiver.js";

/** The scheduled next attempt of the webhook's only delivery, and when that was decided. */
async function schedule(t: EngineTestServer, webhookId: string): Promise<{ nextAttemptAt: number; updatedAt: number; attempts: number }> {
  const row = await t.server.database.db
    .selectFrom("deliveries")
    .select(["next_attempt_at", "updated_at", "attempts"])
    .where("webhook_id", "=", webhookId)
    .executeTakeFirstOrThrow();
  return { nextAttemptAt: Number(row.next_attempt_at), updatedAt: Number(row.updated_at), attempts: Number(row.attempts) };
}

const rowsOf = (logs: any[]) => logs.map((l) => [l.attempt, l.status]);

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    receiver = await newReceiver();
  });

  /** Waits until attempt `attempt` is recorded as `status` (so nothing is in flight), returning the rows. */
  const attemptRecorded = (webhookId: string, attempt: number, status: string) =>
    t.logsUntil(webhookId, (logs) => logs.some((l) => l.attempt === attempt && l.status === status));

  it("500 then 200: attempt 1 is `retrying` with the HTTP error, attempt 2 `success` with delivered_at", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    receiver.respond(500, 200);
    await t.ingest();

    const pending = await attemptRecorded(webhook.id, 1, "retrying");
    // The next attempt is already a pending row.
    expect(rowsOf(pending)).toEqual([
      [2, "pending"],
      [1, "retrying"],
    ]);
    t.clock.advance(HOUR);
    const [first, second] = await t.settledLogs(webhook.id, 2);
    expect(first).toMatchObject({ attempt: 1, status: "retrying", http_status: 500, error: "HTTP 500 Internal Server Error" });
    expect(first).not.toHaveProperty("delivered_at");
    expect(second).toMatchObject({ attempt: 2, status: "success", http_status: 200, delivered_at: expect.any(String) });
    expect(second).not.toHaveProperty("error");
    expect(second.request_payload).toEqual(first.request_payload);
    expect(receiver.requests).toHaveLength(2);
  });

  it("an automatic retry goes to the webhook's URL as it is when the attempt is made", async () => {
    const moved = await startReceiver();
    try {
      const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
      receiver.respond(500);
      await t.ingest();
      await attemptRecorded(webhook.id, 1, "retrying");
      const updated = await t.api(`/api/v1/agents/${t.agentId}/webhooks/${webhook.id}`, { method: "PUT", body: { webhook_url: moved.url } });
      expect(updated.status).toBe(200);
      t.clock.advance(HOUR);
      const [retried] = await moved.waitForRequests(1);
      expect(retried!.headers["webhook-id"]).toBe(receiver.requests[0]!.headers["webhook-id"]);
      expect(retried!.raw.equals(receiver.requests[0]!.raw)).toBe(true);
      expect(rowsOf(await t.settledLogs(webhook.id, 2))).toEqual([
        [1, "retrying"],
        [2, "success"],
      ]);
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await moved.close();
    }
  });

  it("max_retries 0: one attempt, `failed`, and nothing after it", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 0 });
    receiver.respond(500);
    await t.ingest();
    const logs = await t.settledLogs(webhook.id, 1);
    expect(logs).toEqual([expect.objectContaining({ attempt: 1, status: "failed", http_status: 500, error: "HTTP 500 Internal Server Error" })]);
    t.clock.advance(2 * HOUR);
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(1);
    expect(await t.logs(webhook.id)).toMatchObject({ pagination: { total: 1 } });
  });

  it("max_retries 3: attempts 1–3 `retrying` after 5 s × 2^(n−1) ± 20 %, attempt 4 `failed`, exactly 4 rows", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 3 });
    receiver.respond(500);
    await t.ingest();

    for (let attempt = 1; attempt <= 3; attempt++) {
      await attemptRecorded(webhook.id, attempt, "retrying");
      const { nextAttemptAt, updatedAt, attempts } = await schedule(t, webhook.id);
      expect(attempts).toBe(attempt);
      const nominal = 5_000 * 2 ** (attempt - 1);
      const delay = nextAttemptAt - updatedAt;
      // updatedAt is written a moment after the delay was computed: allow that moment below the range.
      expect(delay).toBeGreaterThanOrEqual(0.8 * nominal - 1_000);
      expect(delay).toBeLessThanOrEqual(1.2 * nominal);
      // Until the clock moves past that delay, no further attempt.
      expect(receiver.requests).toHaveLength(attempt);
      t.clock.advance(HOUR);
      await receiver.waitForRequests(attempt + 1);
    }
    const logs = await t.settledLogs(webhook.id, 4);
    expect(rowsOf(logs)).toEqual([
      [1, "retrying"],
      [2, "retrying"],
      [3, "retrying"],
      [4, "failed"],
    ]);
    for (const log of logs) expect(log).toMatchObject({ http_status: 500, error: "HTTP 500 Internal Server Error" });
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);

    t.clock.advance(2 * HOUR);
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(4);
    expect((await t.logs(webhook.id)).pagination.total).toBe(4);
    expect((await schedule(t, webhook.id)).attempts).toBe(4);
  });

  it("a 429 with Retry-After: 120 is retried no sooner than 120 s later", async () => {
    const r = await startReceiver({ clock: peek(t) });
    try {
      const webhook = await t.createWebhook({ webhook_url: r.url, max_retries: 3 });
      r.respond({ status: 429, headers: { "retry-after": "120" } }, 200);
      await t.ingest();
      const logs = await attemptRecorded(webhook.id, 1, "retrying");
      expect(logs.find((l) => l.attempt === 1)).toMatchObject({ http_status: 429, error: "HTTP 429 Too Many Requests" });
      const { nextAttemptAt, updatedAt } = await schedule(t, webhook.id);
      expect(nextAttemptAt - updatedAt).toBeGreaterThanOrEqual(120_000 - 1_000);

      // Far past the 4–6 s backoff, but short of Retry-After: nothing.
      t.clock.advance(60_000);
      await t.clock.workerCycles();
      expect(r.requests).toHaveLength(1);
      t.clock.advance(61_000);
      const [first, second] = await r.waitForRequests(2);
      expect(second!.clockAt - first!.clockAt).toBeGreaterThanOrEqual(120_000);
      expect((await t.settledLogs(webhook.id, 2)).map((l) => l.status)).toEqual(["retrying", "success"]);
    } finally {
      await r.close();
    }
  });

  it("a 503 with Retry-After of 2 hours waits 1 hour at most", async () => {
    const r = await startReceiver({ clock: peek(t) });
    try {
      const webhook = await t.createWebhook({ webhook_url: r.url, max_retries: 3 });
      r.respond({ status: 503, headers: { "retry-after": "7200" } }, 200);
      await t.ingest();
      const logs = await attemptRecorded(webhook.id, 1, "retrying");
      expect(logs.find((l) => l.attempt === 1)).toMatchObject({ http_status: 503, error: "HTTP 503 Service Unavailable" });
      const { nextAttemptAt, updatedAt } = await schedule(t, webhook.id);
      expect(nextAttemptAt - updatedAt).toBeGreaterThanOrEqual(HOUR - 1_000);
      expect(nextAttemptAt - updatedAt).toBeLessThanOrEqual(HOUR);

      t.clock.advance(HOUR - 60_000);
      await t.clock.workerCycles();
      expect(r.requests).toHaveLength(1);
      t.clock.advance(61_000);
      const [first, second] = await r.waitForRequests(2);
      const waited = second!.clockAt - first!.clockAt;
      expect(waited).toBeGreaterThanOrEqual(HOUR - 1_000);
      expect(waited).toBeLessThan(HOUR + 30_000);
    } finally {
      await r.close();
    }
  });
});

/** The engine's clock without counting as an engine read (for the receiver's `clockAt`). */
function peek(t: EngineTestServer): () => number {
  return () => t.clock.peek();
}

describe.each(["sqlite", "postgres"] as Dialect[])("%s, error threshold 2", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(
    dialect,
    async (server, newReceiver) => {
      t = server;
      receiver = await newReceiver();
    },
    { config: { errorThreshold: 2 } },
  );

  it("the webhook's status becomes `error` after 2 consecutive failed attempts and `active` after a success", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 0 });
    expect(webhook.status).toBe("active");
    receiver.respond(500);

    await t.ingest();
    await t.settledLogs(webhook.id, 1);
    expect((await t.webhook(webhook.id)).status).toBe("active");

    await t.ingest();
    await t.settledLogs(webhook.id, 2);
    expect((await t.webhook(webhook.id)).status).toBe("error");
    // Still enabled: it keeps receiving deliveries.
    expect((await t.webhook(webhook.id)).enabled).toBe(true);

    receiver.respond(200);
    await t.ingest();
    await t.settledLogs(webhook.id, 3);
    expect((await t.webhook(webhook.id)).status).toBe("active");

    // The streak starts again from zero: one failure is not enough.
    receiver.respond(500);
    await t.ingest();
    await t.settledLogs(webhook.id, 4);
    expect((await t.webhook(webhook.id)).status).toBe("active");
  });

  it("failed attempts of a delivery that is still retrying count towards the threshold", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, max_retries: 5 });
    receiver.respond(500);
    await t.ingest();
    await t.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 1 && l.status === "retrying"));
    expect((await t.webhook(webhook.id)).status).toBe("active");
    t.clock.advance(HOUR);
    await t.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 2 && l.status === "retrying"));
    expect((await t.webhook(webhook.id)).status).toBe("error");
  });
});
