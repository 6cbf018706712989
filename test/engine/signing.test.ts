// What a receiver gets: Standard Webhooks headers verified by the `standardwebhooks` package (not our code),
// the documented envelope, a product User-Agent, and one webhook-id per delivery across attempts; unsigned
// deliveries for secret-less webhooks; idempotent intake.
import { randomBytes } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { componentErrors } from "../support/spec-schemas.js";
import { byAttempt, CALL_ENDED_DATA, engineTests, type EngineTestServer } from "./harness.js";
import { headersOf, type Receiver } from "./receiver.js";

const PLAIN_SECRET = "optional_secret_for_hmac";

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    receiver = await newReceiver();
  });

  it("a whsec_ secret: the standardwebhooks package verifies the delivery, whose body is the documented envelope", async () => {
    const secret = "whsec_" + randomBytes(32).toString("base64");
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: secret });
    const occurredAt = "2025-09-03T23:20:46.000000Z";
    const accepted = await t.ingest({ occurred_at: occurredAt });
    expect(accepted).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });

    const [request] = await receiver.waitForRequests(1);
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toMatch(/^application\/json/);
    const verified = new StandardWebhook(secret).verify(request!.raw, headersOf(request!));
    const body = JSON.parse(request!.body);
    expect(verified).toEqual(body);
    expect(body).toEqual({
      id: request!.headers["webhook-id"],
      event_id: accepted.event_id,
      event: "event_phone_call_ended",
      agent_id: t.agentId,
      occurred_at: occurredAt,
      data: CALL_ENDED_DATA,
    });
    expect(componentErrors("PhoneCallEndedEvent", body)).toEqual([]);
    expect(request!.headers["user-agent"]).toMatch(/^Talkover-Webhooks\/\d+\.\d+\.\d+/);
    expect(Number(request!.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);

    // The log row carries the same body.
    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, status: "success", http_status: 200, request_payload: body });
  });

  it("a plain-string secret is its UTF-8 bytes: verified as raw bytes and as whsec_ + base64(utf8)", async () => {
    await t.createWebhook({ webhook_url: receiver.url, webhook_secret: PLAIN_SECRET });
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    const headers = headersOf(request!);

    const asBytes = new StandardWebhook(new TextEncoder().encode(PLAIN_SECRET), { format: "raw" });
    const asWhsec = new StandardWebhook("whsec_" + Buffer.from(PLAIN_SECRET, "utf8").toString("base64"));
    expect(asBytes.verify(request!.raw, headers)).toEqual(JSON.parse(request!.body));
    expect(asWhsec.verify(request!.raw, headers)).toEqual(JSON.parse(request!.body));
    // A different secret does not verify: the check is real.
    expect(() => new StandardWebhook(new TextEncoder().encode("another_secret"), { format: "raw" }).verify(request!.raw, headers)).toThrow();
  });

  it("every attempt of one delivery carries the same webhook-id and body, each freshly signed", async () => {
    const secret = "whsec_" + randomBytes(24).toString("base64");
    const webhook = await t.createWebhook({ webhook_url: receiver.url, webhook_secret: secret, max_retries: 2 });
    receiver.respond(500, 200);
    await t.ingest();
    await receiver.waitForRequests(1);
    await t.logsUntil(webhook.id, (logs) => logs.some((l) => l.attempt === 1 && l.status === "retrying"));
    // The first retry is due 4–6 s later: move the engine's clock (well inside the 5-minute tolerance).
    t.clock.advance(10_000);
    const [first, second] = await receiver.waitForRequests(2);

    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.raw.equals(first!.raw)).toBe(true);
    const verifier = new StandardWebhook(secret);
    for (const request of [first!, second!]) expect(verifier.verify(request.raw, headersOf(request))).toEqual(JSON.parse(request.body));
    expect(JSON.parse(first!.body).id).toBe(first!.headers["webhook-id"]);

    const logs = await t.settledLogs(webhook.id, 2);
    expect(logs.map((l) => [l.attempt, l.status])).toEqual([
      [1, "retrying"],
      [2, "success"],
    ]);
  });

  it("a webhook without a secret gets webhook-id and webhook-timestamp but no signature", async () => {
    await t.createWebhook({ webhook_url: receiver.url });
    await t.ingest();
    const [request] = await receiver.waitForRequests(1);
    expect(request!.headers["webhook-id"]).toEqual(expect.any(String));
    expect(request!.headers["webhook-id"]).toBe(JSON.parse(request!.body).id);
    expect(request!.headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(request!.headers).not.toHaveProperty("webhook-signature");
  });

  it("the same idempotency_key twice: one event, replayed the second time, one request at the receiver", async () => {
    const webhook = await t.createWebhook({ webhook_url: receiver.url });
    const first = await t.ingest({ idempotency_key: "call-9fcb0a51-ended" });
    const second = await t.ingest({ idempotency_key: "call-9fcb0a51-ended" });
    expect(first).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });
    expect(second).toEqual({ event_id: first.event_id, deliveries_queued: 0, replayed: true });

    await receiver.waitForRequests(1);
    await t.settledLogs(webhook.id, 1);
    await t.clock.workerCycles();
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]!.body).event_id).toBe(first.event_id);

    // A different key is a different event.
    const third = await t.ingest({ idempotency_key: "call-9fcb0a51-ended-2" });
    expect(third.replayed).toBe(false);
    expect(third.event_id).not.toBe(first.event_id);
    await receiver.waitForRequests(2);
    expect(byAttempt((await t.logs(webhook.id)).data)).toHaveLength(2);
  });
});
