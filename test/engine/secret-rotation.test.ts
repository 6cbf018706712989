// Secret rotation with an overlap, end to end over real HTTP: during the overlap a receiver holding either
// secret verifies every delivery (attempts, retries, manual retries, the test call) with the
// `standardwebhooks` package, not our code; after it (the engine's clock moved on) only the new secret does
// and the header has one signature. The generated secret is returned once; a plain PUT ends the overlap.
import { randomBytes } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../client/index.js";
import type { Dialect } from "../../server/storage/db.js";
import { DAY, engineTests, HOUR, type EngineTestServer, type OwnerShortcuts } from "./harness.js";
import { headersOf, type Receiver, type RecordedRequest } from "./receiver.js";

const OLD_SECRET = "optional_secret_for_hmac";
const whsec = () => "whsec_" + randomBytes(24).toString("base64");

/**
 * Does `secret` verify the request, for a receiver whose clock reads `at` (the engine's, which a test may
 * have moved a day ahead)? The package reads Date.now() for its 5-minute window; verify is synchronous, so
 * faking Date around it touches nothing else.
 */
function verifies(request: RecordedRequest, secret: string, at: number): boolean {
  const key = secret.startsWith("whsec_") ? secret : new TextEncoder().encode(secret);
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  try {
    new StandardWebhook(key, typeof key === "string" ? undefined : { format: "raw" }).verify(request.raw, headersOf(request));
    return true;
  } catch {
    return false;
  } finally {
    vi.useRealTimers();
  }
}

const signatures = (request: RecordedRequest) => String(request.headers["webhook-signature"]).split(" ");

/** The request has `count` signatures; each secret of `by` verifies it and none of `notBy`, at time `at`. */
function expectSigned(request: RecordedRequest, at: number, count: number, secrets: { by: string[]; notBy?: string[] }): void {
  expect(signatures(request)).toHaveLength(count);
  for (const secret of secrets.by) expect(verifies(request, secret, at), "verifies").toBe(true);
  for (const secret of secrets.notBy ?? []) expect(verifies(request, secret, at), "does not verify").toBe(false);
}

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    receiver = await newReceiver();
  });

  const agentBase = () => `/api/v1/agents/${t.agentId}/webhooks`;
  const campaignBase = () => `/api/v1/campaigns/${t.campaignId}/webhooks`;
  const rotate = (base: string, webhookId: string, body?: unknown) =>
    t.api(`${base}/${webhookId}/secret/rotate`, { method: "POST", ...(body === undefined ? {} : { body }) });

  /** Rotates without a body; returns the generated secret and the answer's data. */
  async function rotateGenerated(base: string, webhookId: string) {
    const response = await rotate(base, webhookId);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ success: true, message: "Webhook secret rotated", data: { secret_generated: true } });
    return response.body.data as { webhook_secret: string; previous_secret_expires_at: string | null };
  }

  it("during the overlap every delivery verifies with the old and the new secret; after it only with the new", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET, max_retries: 1 });
    const rotatedAt = t.clock.peek();
    const { webhook_secret: newSecret, previous_secret_expires_at: expiresAt } = await rotateGenerated(agentBase(), webhook.id);
    expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(newSecret.slice(6), "base64")).toHaveLength(24);
    // 24 hours by default, from the engine's clock.
    expect(Date.parse(expiresAt!) - rotatedAt).toBeGreaterThanOrEqual(DAY - 1000);
    expect(Date.parse(expiresAt!) - rotatedAt).toBeLessThanOrEqual(DAY + 5000);

    // An attempt that fails and its automatic retry (failing too): both carry both signatures.
    receiver.respond(500, 500, 200);
    await t.ingest();
    await t.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 1 && l.status === "retrying"));
    t.clock.advance(10_000);
    const [attempt, retry] = await receiver.waitForRequests(2);
    for (const request of [attempt!, retry!]) {
      expectSigned(request!, t.clock.peek(), 2, { by: [newSecret, OLD_SECRET], notBy: [whsec()] });
    }

    // A manual retry of the failed delivery, and the test call.
    const [, failed] = await t.settledLogs(webhook.id, 2);
    expect(failed).toMatchObject({ attempt: 2, status: "failed" });
    expect((await t.api(`${agentBase()}/${webhook.id}/logs/${failed.id}/retry`, { method: "POST" })).status).toBe(200);
    expect((await t.api(`${agentBase()}/${webhook.id}/test`, { method: "POST" })).body).toMatchObject({ success: true });
    const [, , manual, test] = await receiver.waitForRequests(4);
    for (const request of [manual!, test!]) {
      expectSigned(request!, t.clock.peek(), 2, { by: [newSecret, OLD_SECRET] });
    }

    // A day later the old secret has expired: one signature, the new secret's. (Nothing is in flight.)
    await t.settledLogs(webhook.id, 4);
    t.clock.advance(DAY);
    await t.ingest();
    expect((await t.api(`${agentBase()}/${webhook.id}/test`, { method: "POST" })).body).toMatchObject({ success: true });
    const [, , , , later, laterTest] = await receiver.waitForRequests(6);
    for (const request of [later!, laterTest!]) {
      expectSigned(request!, t.clock.peek(), 1, { by: [newSecret], notBy: [OLD_SECRET] });
    }
  });

  it("the generated secret is in the rotation's answer only: never in show, list, create or update", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const { webhook_secret: newSecret } = await rotateGenerated(agentBase(), webhook.id);
    const texts = [
      (await t.api(`${agentBase()}/${webhook.id}`)).text,
      (await t.api(agentBase())).text,
      (await t.api(`${agentBase()}/${webhook.id}`, { method: "PUT", body: { name: "Renamed" } })).text,
      (await t.api(`${agentBase()}/${webhook.id}/toggle`, { method: "PATCH" })).text,
    ];
    for (const text of texts) {
      expect(text).not.toContain(newSecret);
      expect(text).not.toContain(OLD_SECRET);
      expect(text).not.toMatch(/secret/);
    }
  });

  it("a given secret is used and not echoed; rotating during an overlap drops the oldest secret", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const second = whsec();
    const given = await rotate(agentBase(), webhook.id, { webhook_secret: second });
    expect(given.status, given.text).toBe(200);
    expect(given.body).toEqual({
      success: true,
      message: "Webhook secret rotated",
      data: { previous_secret_expires_at: expect.any(String), secret_generated: false },
    });
    expect(given.text).not.toContain(second);

    const third = "a plain third secret";
    expect((await rotate(agentBase(), webhook.id, { webhook_secret: third })).status).toBe(200);
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expectSigned(request!, t.clock.peek(), 2, { by: [third, second], notBy: [OLD_SECRET] });
  });

  it("a webhook without a secret gets one, with no previous secret and no overlap", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url });
    const { webhook_secret: secret, previous_secret_expires_at } = await rotateGenerated(agentBase(), webhook.id);
    expect(previous_secret_expires_at).toBeNull();
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expectSigned(request!, t.clock.peek(), 1, { by: [secret] });
  });

  it("a PUT with webhook_secret switches at once and ends the overlap", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const { webhook_secret: rotated } = await rotateGenerated(agentBase(), webhook.id);
    const replacement = whsec();
    const put = await t.api(`${agentBase()}/${webhook.id}`, { method: "PUT", body: { webhook_secret: replacement } });
    expect(put.status, put.text).toBe(200);
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expectSigned(request!, t.clock.peek(), 1, { by: [replacement], notBy: [rotated, OLD_SECRET] });
  });

  it("rotating with an invalid, null or empty secret is a 422 and changes nothing; an unknown webhook is a 404", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const notBase64 = await rotate(agentBase(), webhook.id, { webhook_secret: "whsec_not base64!" });
    expect(notBase64.status).toBe(422);
    expect(notBase64.body).toEqual({
      message: "The given data was invalid.",
      errors: { webhook_secret: ["The webhook secret must be base64 after the whsec_ prefix."] },
    });
    expect((await rotate(agentBase(), webhook.id, { webhook_secret: null })).status).toBe(422);
    expect((await rotate(agentBase(), webhook.id, { webhook_secret: "" })).status).toBe(422);
    expect((await rotate(agentBase(), webhook.id, { colour: "red" })).status).toBe(422);
    const unknown = await rotate(agentBase(), "00000000-0000-7000-8000-000000000000");
    expect(unknown.status).toBe(404);

    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expectSigned(request!, t.clock.peek(), 1, { by: [OLD_SECRET] });
  });

  it("the campaign twin: the same rotation and overlap on a campaign webhook, and its 404", async () => {
    const campaign: OwnerShortcuts = t.campaign;
    const webhook = await campaign.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const { webhook_secret: newSecret } = await rotateGenerated(campaignBase(), webhook.id);
    expect((await t.api(`${campaignBase()}/${webhook.id}`)).text).not.toContain(newSecret);

    await campaign.ingest();
    const [during] = await receiver.waitForRequests(1);
    expectSigned(during!, t.clock.peek(), 2, { by: [newSecret, OLD_SECRET] });
    // The receiver helper with both secrets, as a receiver holds them while it switches (the clock is not moved yet).
    expect(verifyWebhook(during!.raw, headersOf(during!), [newSecret, OLD_SECRET]).event).toBe("campaign.started");

    await campaign.settledLogs(webhook.id, 1);
    t.clock.advance(DAY + HOUR);
    await campaign.ingest();
    const [, after] = await receiver.waitForRequests(2);
    expectSigned(after!, t.clock.peek(), 1, { by: [newSecret], notBy: [OLD_SECRET] });

    const missing = await t.api(`/api/v1/campaigns/00000000-0000-7000-8000-000000000000/webhooks/${webhook.id}/secret/rotate`, { method: "POST" });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ success: false, message: "Campaign not found in this environment." });
  });
});

describe("sqlite, SECRET_ROTATION_OVERLAP_HOURS", () => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(
    "sqlite",
    async (server, newReceiver) => {
      t = server;
      receiver = await newReceiver();
    },
    { config: { secretRotationOverlapHours: 2 } },
  );

  it("sets the overlap's length", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: OLD_SECRET });
    const rotatedAt = t.clock.peek();
    const response = await rotate(webhook.id);
    const expiresAt = Date.parse(response.body.data.previous_secret_expires_at);
    expect(expiresAt - rotatedAt).toBeGreaterThanOrEqual(2 * HOUR - 1000);
    expect(expiresAt - rotatedAt).toBeLessThanOrEqual(2 * HOUR + 5000);

    t.clock.advance(2 * HOUR + 1000);
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expectSigned(request!, t.clock.peek(), 1, { by: [response.body.data.webhook_secret], notBy: [OLD_SECRET] });
  });

  const rotate = (webhookId: string) => t.api(`/api/v1/agents/${t.agentId}/webhooks/${webhookId}/secret/rotate`, { method: "POST" });
});
