// Tokens, environments and their isolation, rate limits, and the promise that no response carries a secret.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { createWebhook, DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

describe.each(DIALECTS)("authentication and isolation on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  it("no Authorization header is 401 Missing Bearer Token, before anything else", async () => {
    for (const body of [undefined, validWebhook, "{broken"]) {
      const r = await t.api(webhooksPath(t), { method: body ? "POST" : "GET", body, token: null });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ message: "Missing Bearer Token" });
    }
    const basic = await t.api(webhooksPath(t), { token: null, headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.body).toEqual({ message: "Missing Bearer Token" });
  });

  it("a token of no environment is 401 Invalid Bearer Token", async () => {
    const r = await t.api(webhooksPath(t), { token: "talq_" + "x".repeat(40) });
    expect(r.status).toBe(401);
    expect(componentErrors("AuthError", r.body)).toEqual([]);
    expect(r.body).toEqual({ message: "Invalid Bearer Token" });
  });

  it("an unknown agent is 404 Agent not found in this environment.", async () => {
    const r = await t.api(webhooksPath(t, "9fbef0b7-8d4e-4a08-9207-66c22155721d"));
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ success: false, message: "Agent not found in this environment." });
    // A malformed id is simply an agent that does not exist, and an unknown agent wins over a bad body.
    expect((await t.api(webhooksPath(t, "not-a-uuid"), { method: "POST", body: {} })).status).toBe(404);
  });

  it("another environment's agent answers exactly as an agent that does not exist", async () => {
    const other = await t.otherEnvironment();
    const theirs = await t.api(webhooksPath(t, other.agentId));
    const nobody = await t.api(webhooksPath(t, "9fbef0b7-8d4e-4a08-9207-66c22155721d"));
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(nobody.body);
    // and the other way round, with the other token
    const mine = await t.api(webhooksPath(t), { token: other.token });
    expect(mine.body).toEqual({ success: false, message: "Agent not found in this environment." });
  });

  it("a webhook of another agent is Webhook not found.", async () => {
    const other = await t.otherEnvironment();
    const created = await createWebhook(t);
    const theirs = await t.api(`${webhooksPath(t, other.agentId)}/${created.id}`, { token: other.token });
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual({ success: false, message: "Webhook not found." });
    const log = await t.api(`${webhooksPath(t)}/${created.id}/logs/01932f6e-8b7a-7c3e-9a41-5d2e8f1b6c70/retry`, { method: "POST" });
    expect(log.body).toEqual({ success: false, message: "Log not found." });
  });

  it("no response ever contains a webhook secret", async () => {
    const secret = "super-secret-value-4f1c2d";
    const created = await createWebhook(t, { ...validWebhook, webhook_secret: secret });
    const base = `${webhooksPath(t)}/${created.id}`;
    const responses = [
      await t.api(webhooksPath(t)),
      await t.api(base),
      await t.api(base, { method: "PUT", body: { webhook_secret: secret, name: "again" } }),
      await t.api(`${base}/toggle`, { method: "PATCH" }),
      await t.api(`${base}/toggle`, { method: "PATCH" }),
      await t.api(`${base}/logs`),
      await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, webhook_secret: secret, timeout: 1 } }),
    ];
    for (const r of responses) {
      expect(r.text).not.toContain(secret);
      expect(r.text).not.toContain("webhook_secret");
    }
  });
});

describe("rate limits", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("sqlite", { config: { rateLimitPerMinute: 3 } });
  });
  afterAll(() => t?.stop());

  it("every answer carries the X-RateLimit headers, and past the limit a 429 with Retry-After", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.api(webhooksPath(t)));
    expect(answers.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.map((r) => r.headers.get("x-ratelimit-remaining"))).toEqual(["2", "1", "0", "0"]);
    for (const r of answers) {
      expect(r.headers.get("x-ratelimit-limit")).toBe("3");
      expect(Number(r.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000 - 1);
    }
    const limited = answers[3]!;
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ success: false, message: "Too many requests. Please try again later." });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("is counted per token: another environment still has its quota", async () => {
    const other = await t.otherEnvironment();
    const r = await t.api(webhooksPath(t, other.agentId), { token: other.token });
    expect(r.status).toBe(200);
  });
});
