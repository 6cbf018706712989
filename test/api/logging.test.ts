// "Secrets are never logged": everything the server logs at its most verbose, over a session that sets
// secrets and sends tokens, must contain neither.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { validWebhook, webhooksPath } from "./helpers.js";

describe("server logs", () => {
  let t: TestServer;
  let logged = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk;
      done();
    },
  });

  beforeAll(async () => {
    t = await startTestServer("sqlite", { config: { logLevel: "trace" }, logger: createLogger("trace", sink) });
  });
  afterAll(() => t?.stop());

  it("carry requests but never a token or a webhook secret", async () => {
    const secret = "never-log-me-7d1e0b";
    const created = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, webhook_secret: secret } });
    await t.api(`${webhooksPath(t)}/${created.body.data.id}`, { method: "PUT", body: { webhook_secret: secret } });
    await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, webhook_secret: secret, timeout: 1 } });
    await t.api(webhooksPath(t), { token: "talq_wrongwrongwrongwrongwrongwrongwrongwron" });
    // Delivery options: credentials and custom header values, accepted and refused, on create and update.
    const options = {
      authorization_scheme: "bearer",
      authorization_credentials: { token: secret },
      custom_headers: [{ key: "X-Token", value: `hdr-${secret}` }],
    };
    const withOptions = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, ...options } });
    expect(withOptions.status).toBe(201);
    expect(withOptions.text).not.toContain(secret);
    await t.api(`${webhooksPath(t)}/${withOptions.body.data.id}`, { method: "PUT", body: { ...options, http_method: "PUT" } });
    await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, ...options, custom_headers: [{ key: "Host", value: secret }] } });
    await t.api(`${webhooksPath(t)}/${withOptions.body.data.id}/test`, { method: "POST" });
    await t.api(`/internal/v1/agents/${t.agentId}/events`, {
      method: "POST",
      token: "test-service-token",
      body: { event: "event_phone_call_started", data: { call_id: "c1" } },
    });
    expect(logged).toContain('"path":"/api/v1/agents/');
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(t.token);
    expect(logged).not.toContain("talq_wrong");
    expect(logged).not.toContain("test-service-token");
  });
});
