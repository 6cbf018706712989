// The delivery options against a real receiver: the method, each authorization scheme's header, custom
// headers, a template rendered with each kind of variable, the signature over the templated body (verified
// by the `standardwebhooks` package), and manual retries and the test call honouring all of it.
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { byAttempt, CALL_ENDED_DATA, engineTests, type EngineTestServer } from "./harness.js";
import { headersOf, type Receiver } from "./receiver.js";

const SECRET = "optional_secret_for_hmac";
const verifier = new StandardWebhook(new TextEncoder().encode(SECRET) as unknown as string, { format: "raw" });

const TEMPLATE = {
  kind: "{{event}}",
  ids: { event: "{{event_id}}", delivery: "{{delivery_id}}", agent: "{{agent.id}}", webhook: "{{webhook.id}}" },
  when: "{{occurred_at}}",
  call: "{{call.id}}",
  duration: "{{data.duration}}",
  context: "{{data.context}}",
  tenant: "{{call.context.tenant}}",
  missing: "{{data.recording_url}}",
  text: "{{agent.name}} / {{webhook.name}}: call {{call.id}} took {{data.duration}} s{{data.recording_url}}.",
  list: ["{{data.status}}", 7, true, null],
};

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;

  engineTests(dialect, async (server, newReceiver) => {
    t = server;
    receiver = await newReceiver();
  });

  it("PUT with bearer auth, custom headers and a template: the signed, sent and logged body is the rendered one", async () => {
    const webhook = await t.createWebhook({
      webhook_url: receiver.url,
      webhook_secret: SECRET,
      http_method: "PUT",
      authorization_scheme: "bearer",
      authorization_credentials: { token: "tok_123" },
      custom_headers: [{ key: "X-Tenant-Id", value: "acme" }, { key: "X-Routing", value: "eu" }],
      payload_templates: { event_phone_call_ended: TEMPLATE },
    });
    const { recording_url: _omitted, ...data } = CALL_ENDED_DATA;
    const accepted = await t.ingest({ data: { ...data, context: { tenant: "acme", plan: 3 } } });

    const [request] = await receiver.waitForRequests(1);
    expect(request!.method).toBe("PUT");
    expect(request!.headers).toMatchObject({ authorization: "Bearer tok_123", "x-tenant-id": "acme", "x-routing": "eu" });
    expect(request!.headers["content-type"]).toMatch(/^application\/json/);
    const body = verifier.verify(request!.raw, headersOf(request!));
    expect(JSON.parse(request!.body)).toEqual(body);
    expect(body).toEqual({
      kind: "event_phone_call_ended",
      ids: { event: accepted.event_id, delivery: request!.headers["webhook-id"], agent: t.agentId, webhook: webhook.id },
      when: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      call: data.call_id,
      duration: data.duration,
      context: { tenant: "acme", plan: 3 },
      tenant: "acme",
      missing: null,
      text: `${t.agentName} / Engine test: call ${data.call_id} took ${data.duration} s.`,
      list: [data.status, 7, true, null],
    });
    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ status: "success", request_payload: body });
  });

  it("each scheme sends its header: basic, api_key (default and own header name), custom", async () => {
    const cases = [
      [{ authorization_scheme: "basic", authorization_credentials: { username: "ann", password: "pä:ss" } }, "authorization", `Basic ${Buffer.from("ann:pä:ss").toString("base64")}`],
      [{ authorization_scheme: "api_key", authorization_credentials: { value: "k1" } }, "x-api-key", "k1"],
      [{ authorization_scheme: "api_key", authorization_credentials: { value: "k2", header_name: "X-Secret" } }, "x-secret", "k2"],
      [{ authorization_scheme: "custom", authorization_credentials: { value: "Token abc" } }, "authorization", "Token abc"],
    ] as const;
    for (const [i, [fields, header, value]] of cases.entries()) {
      await t.createWebhook({ webhook_url: `${receiver.url}?case=${i}`, ...fields });
    }
    await t.ingest();
    const requests = await receiver.waitForRequests(cases.length);
    for (const [i, [, header, value]] of cases.entries()) {
      const request = requests.find((r) => r.path.endsWith(`case=${i}`))!;
      expect(request.headers[header]).toBe(value);
      expect(request.method).toBe("POST");
      if (header !== "authorization") expect(request.headers.authorization).toBeUndefined();
    }
  });

  it("a manual retry resends the rendered body with the webhook's current method and headers; the test call uses them too", async () => {
    receiver.respond(500);
    const webhook = await t.createWebhook({
      webhook_url: receiver.url,
      webhook_secret: SECRET,
      max_retries: 0,
      http_method: "PATCH",
      authorization_scheme: "bearer",
      authorization_credentials: { token: "first" },
      payload_templates: { event_phone_call_ended: { id: "{{call.id}}" } },
    });
    await t.ingest();
    const [failed] = await t.settledLogs(webhook.id, 1);
    expect(failed).toMatchObject({ status: "failed", request_payload: { id: CALL_ENDED_DATA.call_id } });

    receiver.respond(200);
    const path = `/api/v1/agents/${t.agentId}/webhooks/${webhook.id}`;
    await t.api(path, { method: "PUT", body: { authorization_credentials: { token: "rotated" }, custom_headers: [{ key: "X-After", value: "1" }] } });
    expect((await t.api(`${path}/logs/${failed.id}/retry`, { method: "POST" })).status).toBe(200);
    const [, retried] = await receiver.waitForRequests(2);
    expect(retried!.method).toBe("PATCH");
    expect(retried!.headers).toMatchObject({ authorization: "Bearer rotated", "x-after": "1" });
    expect(verifier.verify(retried!.raw, headersOf(retried!))).toEqual({ id: CALL_ENDED_DATA.call_id });
    const logs = byAttempt(await t.logsUntil(webhook.id, (rows) => rows.length === 2 && rows.every((r) => r.status !== "pending")));
    expect(logs[1]).toMatchObject({ status: "success", request_payload: { id: CALL_ENDED_DATA.call_id } });

    const test = await t.api(`${path}/test`, { method: "POST" });
    expect(test.body).toMatchObject({ success: true });
    const [, , tested] = await receiver.waitForRequests(3);
    expect(tested!.method).toBe("PATCH");
    expect(tested!.headers).toMatchObject({ authorization: "Bearer rotated", "x-after": "1" });
    expect(JSON.parse(tested!.body)).toMatchObject({ event: "webhook.test", test: true }); // no template for the test event
  });

  it("a template whose rendered body would pass 64 KiB is not applied to that event: the default body is sent", async () => {
    const webhook = await t.createWebhook({
      webhook_url: receiver.url,
      payload_templates: { event_phone_call_ended: ["{{data.context}}", "{{data.context}}"] },
    });
    const context = { note: "n".repeat(40_000) };
    await t.ingest({ data: { call_id: "big", context } });
    await t.ingest({ data: { call_id: "small", context: { note: "ok" } } });
    const requests = await receiver.waitForRequests(2);
    const bodies = requests.map((r) => JSON.parse(r.body));
    expect(bodies).toContainEqual([{ note: "ok" }, { note: "ok" }]);
    expect(bodies).toContainEqual(expect.objectContaining({ event: "event_phone_call_ended", data: { call_id: "big", context } }));
    const logs = await t.settledLogs(webhook.id, 2);
    // request_payload is an object: a body that is not one is shown as {body}.
    expect(logs.map((l) => l.request_payload)).toContainEqual({ body: [{ note: "ok" }, { note: "ok" }] });
  });

  it("attempt logs never carry credentials or custom header values", async () => {
    receiver.respond(500, 200);
    const webhook = await t.createWebhook({
      webhook_url: receiver.url,
      max_retries: 1,
      authorization_scheme: "custom",
      authorization_credentials: { value: "cred-never-shown-9f1" },
      custom_headers: [{ key: "X-Api", value: "hdr-never-shown-4c2" }],
    });
    await t.ingest();
    await t.logsUntil(webhook.id, (rows) => rows.some((r) => r.status === "retrying")); // nothing in flight now
    t.clock.advance(3_600_000);
    await t.settledLogs(webhook.id, 2);
    const logs = await t.api(`/api/v1/agents/${t.agentId}/webhooks/${webhook.id}/logs`);
    expect(logs.text).not.toContain("cred-never-shown-9f1");
    expect(logs.text).not.toContain("hdr-never-shown-4c2");
  });
});
