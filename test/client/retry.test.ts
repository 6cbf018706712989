import { describe, expect, test } from "vitest";
import { createTalkoverClient, retryDelayMs } from "../../client/index.js";
import { fakeFetch, json } from "./fake-fetch.js";

const AGENT = "9fbef0b7-8d4e-4a08-9207-66c22155721d";
const TOO_MANY = { success: false, message: "Too many requests. Please try again later." };
const LIST = { success: true, data: { webhooks: [], available_events: {} } };
const list = { params: { path: { agent_id: AGENT } } };

describe("retryOn429", () => {
  test("is off by default: a 429 is returned as the typed error after one request", async () => {
    const fetch = fakeFetch(() => json(429, TOO_MANY, { "Retry-After": "0" }));
    const { error, response } = await createTalkoverClient({ token: "t", fetch }).GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(response.status).toBe(429);
    expect(error).toEqual(TOO_MANY);
    expect(fetch.requests).toHaveLength(1);
  });

  test("retries until the answer is not a 429", async () => {
    const fetch = fakeFetch((_, i) => (i < 2 ? json(429, TOO_MANY, { "Retry-After": "0" }) : json(200, LIST)));
    const { data } = await createTalkoverClient({ token: "t", fetch, retryOn429: true }).GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(data).toEqual(LIST);
    expect(fetch.requests).toHaveLength(3);
  });

  test("gives up after maxRetries and returns the last 429", async () => {
    const fetch = fakeFetch(() => json(429, TOO_MANY, { "Retry-After": "0" }));
    const client = createTalkoverClient({ token: "t", fetch, retryOn429: { maxRetries: 2 } });
    const { error } = await client.GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(error).toEqual(TOO_MANY);
    expect(fetch.requests).toHaveLength(3);
  });

  test("does not wait longer than maxDelayMs: the 429 is returned at once", async () => {
    const fetch = fakeFetch(() => json(429, TOO_MANY, { "Retry-After": "3600" }));
    const started = Date.now();
    const client = createTalkoverClient({ token: "t", fetch, retryOn429: { maxDelayMs: 5_000 } });
    const { response } = await client.GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(response.status).toBe(429);
    expect(fetch.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("waits Retry-After seconds before the retry", async () => {
    const fetch = fakeFetch((_, i) => (i === 0 ? json(429, TOO_MANY, { "Retry-After": "1" }) : json(200, LIST)));
    const started = Date.now();
    await createTalkoverClient({ token: "t", fetch, retryOn429: true }).GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fetch.requests).toHaveLength(2);
  });

  test("a retried POST sends the same body and token again", async () => {
    const fetch = fakeFetch((_, i) =>
      i === 0 ? json(429, TOO_MANY, { "Retry-After": "0" }) : json(202, { success: true, message: "Event accepted", data: {} }),
    );
    const client = createTalkoverClient({ token: "service", fetch, retryOn429: true });
    await client.POST("/internal/v1/agents/{agent_id}/events", {
      params: { path: { agent_id: AGENT } },
      body: { event: "event_recording", data: { call_id: "c1" } },
    });
    expect(fetch.requests).toHaveLength(2);
    expect(fetch.requests[1]!.body).toBe(fetch.requests[0]!.body);
    expect(fetch.requests[1]!.headers.get("Authorization")).toBe("Bearer service");
  });
});

describe("retryOn503", () => {
  const UNAVAILABLE = { success: false, message: "The service is temporarily unavailable. Please try again shortly." };
  const down = () => json(503, UNAVAILABLE, { "Retry-After": "0" });
  const WEBHOOK = "0b0e3b9e-7c1a-4a86-9a57-56c8f3d0c2b1";
  const oneWebhook = { params: { path: { agent_id: AGENT, webhook_id: WEBHOOK } } };

  test("is off by default, and retryOn429 alone does not retry a 503", async () => {
    for (const options of [{}, { retryOn429: true }]) {
      const fetch = fakeFetch(down);
      const { error, response } = await createTalkoverClient({ token: "t", fetch, ...options }).GET("/api/v1/agents/{agent_id}/webhooks", list);
      expect(response.status).toBe(503);
      expect(error).toEqual(UNAVAILABLE);
      expect(fetch.requests).toHaveLength(1);
    }
  });

  test("retries GET, PUT and DELETE until the database is back", async () => {
    const calls = [
      (c: ReturnType<typeof createTalkoverClient>) => c.GET("/api/v1/agents/{agent_id}/webhooks", list),
      (c: ReturnType<typeof createTalkoverClient>) => c.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { ...oneWebhook, body: { name: "n" } }),
      (c: ReturnType<typeof createTalkoverClient>) => c.DELETE("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", oneWebhook),
    ];
    for (const call of calls) {
      const fetch = fakeFetch((_, i) => (i < 2 ? down() : json(200, LIST)));
      const { response } = await call(createTalkoverClient({ token: "t", fetch, retryOn503: true }));
      expect(response.status).toBe(200);
      expect(fetch.requests.map((r) => r.method)).toHaveLength(3);
    }
  });

  test("never repeats a write that may not be safe twice: create, toggle, test, retry", async () => {
    const calls = [
      (c: ReturnType<typeof createTalkoverClient>) =>
        c.POST("/api/v1/agents/{agent_id}/webhooks", { params: { path: { agent_id: AGENT } }, body: { name: "n", webhook_url: "https://example.com/h", events: ["event_phone_call_ended"] } }),
      (c: ReturnType<typeof createTalkoverClient>) => c.PATCH("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/toggle", oneWebhook),
      (c: ReturnType<typeof createTalkoverClient>) => c.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/test", oneWebhook),
    ];
    for (const call of calls) {
      const fetch = fakeFetch(down);
      const { error } = await call(createTalkoverClient({ token: "t", fetch, retryOn503: true }));
      expect(error).toEqual(UNAVAILABLE);
      expect(fetch.requests).toHaveLength(1);
    }
  });

  test("repeats an intake POST only when it carries an idempotency_key, with the same body", async () => {
    const intake = (body: { event: "event_recording"; data: Record<string, unknown>; idempotency_key?: string }) => {
      const fetch = fakeFetch((_, i) => (i === 0 ? down() : json(202, { success: true, message: "Event accepted", data: {} })));
      const client = createTalkoverClient({ token: "service", fetch, retryOn503: true });
      return client.POST("/internal/v1/agents/{agent_id}/events", { params: { path: { agent_id: AGENT } }, body }).then(() => fetch.requests);
    };
    const keyed = await intake({ event: "event_recording", data: { call_id: "c1" }, idempotency_key: "call-c1-recording" });
    expect(keyed).toHaveLength(2);
    expect(keyed[1]!.body).toBe(keyed[0]!.body);
    expect(await intake({ event: "event_recording", data: { call_id: "c1" } })).toHaveLength(1);
  });

  test("gives up after maxRetries, and when Retry-After is longer than maxDelayMs", async () => {
    const always = fakeFetch(down);
    const { response } = await createTalkoverClient({ token: "t", fetch: always, retryOn503: { maxRetries: 1 } }).GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(response.status).toBe(503);
    expect(always.requests).toHaveLength(2);

    const long = fakeFetch(() => json(503, UNAVAILABLE, { "Retry-After": "120" }));
    await createTalkoverClient({ token: "t", fetch: long, retryOn503: { maxDelayMs: 10_000 } }).GET("/api/v1/agents/{agent_id}/webhooks", list);
    expect(long.requests).toHaveLength(1);
  });
});

describe("retryDelayMs", () => {
  const now = Date.UTC(2025, 8, 3, 23, 20, 0);
  const answer = (headers: Record<string, string>) => new Response(null, { status: 429, headers });

  test("Retry-After in seconds", () => {
    expect(retryDelayMs(answer({ "Retry-After": "12" }), 1, now)).toBe(12_000);
  });

  test("Retry-After as an HTTP date", () => {
    expect(retryDelayMs(answer({ "Retry-After": new Date(now + 7_000).toUTCString() }), 1, now)).toBe(7_000);
  });

  test("X-RateLimit-Reset (Unix seconds) when there is no Retry-After", () => {
    expect(retryDelayMs(answer({ "X-RateLimit-Reset": String(now / 1000 + 30) }), 1, now)).toBe(30_000);
    expect(retryDelayMs(answer({ "X-RateLimit-Reset": String(now / 1000 - 30) }), 1, now)).toBe(0);
  });

  test("Retry-After wins over X-RateLimit-Reset", () => {
    expect(retryDelayMs(answer({ "Retry-After": "2", "X-RateLimit-Reset": String(now / 1000 + 30) }), 1, now)).toBe(2_000);
  });

  test("a Retry-After that is neither delay-seconds nor an HTTP date is skipped, never read as no wait", () => {
    // Date.parse("1.5") is a day in 2001: the client used to retry at once.
    for (const value of ["1.5", "-1", "soon"]) {
      expect(retryDelayMs(answer({ "Retry-After": value }), 2, now), value).toBe(2_000);
      expect(retryDelayMs(answer({ "Retry-After": value, "X-RateLimit-Reset": String(now / 1000 + 30) }), 1, now), value).toBe(30_000);
    }
  });

  test("Retry-After as a date in the past: retry now", () => {
    expect(retryDelayMs(answer({ "Retry-After": new Date(now - 60_000).toUTCString() }), 3, now)).toBe(0);
  });

  test("a 503 does not read X-RateLimit-Reset: the rate window says nothing of the database", () => {
    const unavailable = new Response(null, { status: 503, headers: { "X-RateLimit-Reset": String(now / 1000 + 30) } });
    expect(retryDelayMs(unavailable, 1, now)).toBe(1_000);
  });

  test("without either header: 1 s, 2 s, 4 s by attempt", () => {
    expect([1, 2, 3].map((attempt) => retryDelayMs(answer({}), attempt, now))).toEqual([1_000, 2_000, 4_000]);
  });
});
