// The delivery options through the API (issue 12), on SQLite and PostgreSQL: Talkover's 2026 create example,
// read-back with masked header values, the rules the schema cannot express (each a 422 on its field, never
// a 500), and "send back what a response showed keeps the stored values".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentOwner } from "../../server/storage/owner.js";
import { loadSpec } from "../../server/spec.js";
import { findWebhook } from "../../server/storage/webhooks.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { createWebhook, DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

const spec = loadSpec();
const example2026 = spec.document.components.examples.WebhookCreateRequest2026.value;
const TOKEN = example2026.authorization_credentials.token as string;

describe.each(DIALECTS)("delivery options on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  const create = (body: Record<string, unknown>) => t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, ...body } });
  const update = (id: string, body: Record<string, unknown>) => t.api(`${webhooksPath(t)}/${id}`, { method: "PUT", body });
  const show = (id: string) => t.api(`${webhooksPath(t)}/${id}`);
  const stored = (id: string) => findWebhook(t.server.database, agentOwner(t.agentId), id);

  it("accepts Talkover's 2026 create example and reads it back without credentials, header values masked", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: example2026 });
    expect(r.status).toBe(201);
    expect(componentErrors("WebhookCreatedResponse", r.body)).toEqual([]);
    expect(r.body.data).toMatchObject({
      http_method: "PUT",
      authorization_scheme: "bearer",
      custom_headers: [
        { key: "X-Tenant-Id", value: "********" },
        { key: "X-Routing-Key", value: "********mary" },
      ],
      payload_templates: example2026.payload_templates,
    });
    expect(r.body.data).not.toHaveProperty("authorization_credentials");
    expect(r.text).not.toContain(TOKEN);
    expect(r.text).not.toContain("acme");
    expect((await stored(r.body.data.id))?.authorizationCredentials).toEqual({ token: TOKEN });
    for (const path of [`${webhooksPath(t)}/${r.body.data.id}`, webhooksPath(t)]) {
      const read = await t.api(path);
      expect(read.text).not.toContain(TOKEN);
      expect(read.text).not.toContain("calls-eu-west-1-primary");
    }
    const toggled = await t.api(`${webhooksPath(t)}/${r.body.data.id}/toggle`, { method: "PATCH" });
    expect(toggled.body.data).toMatchObject({ http_method: "PUT", authorization_scheme: "bearer" });
  });

  it("applies the documented defaults on create only", async () => {
    const data = await createWebhook(t);
    expect(data).toMatchObject({ http_method: "POST", authorization_scheme: "none", custom_headers: [], payload_templates: {} });
    const r = await update(data.id, { http_method: "PATCH" });
    expect(r.body.data).toMatchObject({ http_method: "PATCH", authorization_scheme: "none" });
    const again = await update(data.id, { name: "Renamed" });
    expect(again.body.data.http_method).toBe("PATCH");
  });

  it("sending back what a response showed keeps the stored header values and credentials", async () => {
    const created = await t.api(webhooksPath(t), { method: "POST", body: example2026 });
    const { id } = created.body.data;
    const shown = (await show(id)).body.data;
    const r = await update(id, {
      http_method: shown.http_method,
      authorization_scheme: shown.authorization_scheme,
      custom_headers: [...shown.custom_headers, { key: "X-New", value: "fresh" }],
      payload_templates: shown.payload_templates,
    });
    expect(r.status).toBe(200);
    const after = await stored(id);
    expect(after?.customHeaders).toEqual([...example2026.custom_headers, { key: "X-New", value: "fresh" }]);
    expect(after?.authorizationCredentials).toEqual({ token: TOKEN });
    // A changed value replaces the stored one; an update replaces the whole list.
    await update(id, { custom_headers: [{ key: "x-tenant-id", value: "globex" }] });
    expect((await stored(id))?.customHeaders).toEqual([{ key: "x-tenant-id", value: "globex" }]);
  });

  it("credentials: required_if with Laravel's wording; only credentials keep the scheme; none clears them", async () => {
    const missing = await create({ authorization_scheme: "bearer" });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual({
      authorization_credentials: ["The authorization credentials field is required when authorization scheme is bearer."],
    });
    const data = await createWebhook(t, { ...validWebhook, authorization_scheme: "basic", authorization_credentials: { username: "u", password: "p" } });
    const rotated = await update(data.id, { authorization_credentials: { username: "u2", password: "p2" } });
    expect(rotated.body.data.authorization_scheme).toBe("basic");
    expect((await stored(data.id))?.authorizationCredentials).toEqual({ username: "u2", password: "p2" });
    const switched = await update(data.id, { authorization_scheme: "api_key" });
    expect(switched.status).toBe(422);
    expect(switched.body.errors.authorization_credentials).toEqual([
      "The authorization credentials field is required when authorization scheme is api_key.",
    ]);
    const wrongShape = await update(data.id, { authorization_scheme: "bearer", authorization_credentials: { value: "x" } });
    expect(wrongShape.body.errors).toEqual({
      "authorization_credentials.value": ["The authorization credentials.value field is prohibited when authorization scheme is bearer."],
      "authorization_credentials.token": ["The authorization credentials.token field is required when authorization scheme is bearer."],
    });
    const cleared = await update(data.id, { authorization_scheme: "none" });
    expect(cleared.body.data.authorization_scheme).toBe("none");
    expect((await stored(data.id))?.authorizationCredentials).toBeNull();
    const prohibited = await update(data.id, { authorization_credentials: { token: "t" } });
    expect(prohibited.body.errors).toEqual({
      authorization_credentials: ["The authorization credentials field is prohibited when authorization scheme is none."],
    });
  });

  it("custom headers: 20 and 21, 100- and 101-character keys, CR/LF/NUL, reserved names, case-insensitive duplicates", async () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `X-H${i}`, value: "v" }));
    expect((await create({ custom_headers: headers(20) })).status).toBe(201);
    const tooMany = await create({ custom_headers: headers(21) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors).toEqual({ custom_headers: ["The custom headers field must not have more than 20 items."] });
    expect((await create({ custom_headers: [{ key: "X".repeat(100), value: "v" }] })).status).toBe(201);
    const longKey = await create({ custom_headers: [{ key: "X".repeat(101), value: "v" }] });
    expect(longKey.body.errors).toEqual({ "custom_headers.0.key": ["The custom headers.0.key field must not be greater than 100 characters."] });
    for (const bad of ["a\rb", "a\nb", "a\u0000b"]) {
      const r = await create({ custom_headers: [{ key: "X-A", value: bad }] });
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual({ "custom_headers.0.value": ["The custom headers.0.value field must not contain line breaks or NUL characters."] });
    }
    const badName = await create({ custom_headers: [{ key: "X A", value: "v" }] });
    expect(badName.body.errors).toEqual({ "custom_headers.0.key": ["The custom headers.0.key field must be a valid HTTP header name."] });
    const reserved = await create({
      custom_headers: [{ key: "X-Ok", value: "v" }, { key: "content-type", value: "text/plain" }, { key: "Webhook-Signature", value: "v1,x" }],
    });
    expect(reserved.status).toBe(422);
    expect(reserved.body.errors).toEqual({
      "custom_headers.1.key": ["The custom headers.1.key field must not be content-type: Talkover sets that header."],
      "custom_headers.2.key": ["The custom headers.2.key field must not be Webhook-Signature: Talkover sets that header."],
    });
    const duplicate = await create({ custom_headers: [{ key: "X-Tenant", value: "a" }, { key: "x-tenant", value: "b" }] });
    expect(duplicate.body.errors).toEqual({ "custom_headers.1.key": ["The custom headers.1.key field has a duplicate value."] });
    // Authorization is free without a scheme, reserved once a scheme sets it (also when the scheme comes later).
    const data = await createWebhook(t, { ...validWebhook, custom_headers: [{ key: "Authorization", value: "Token abc" }] });
    const later = await update(data.id, { authorization_scheme: "bearer", authorization_credentials: { token: "t" } });
    expect(later.body.errors).toEqual({ "custom_headers.0.key": ["The custom headers.0.key field must not be Authorization: Talkover sets that header."] });
    const apiKey = await create({
      authorization_scheme: "api_key",
      authorization_credentials: { value: "k", header_name: "X-Key" },
      custom_headers: [{ key: "x-key", value: "v" }],
    });
    expect(apiKey.body.errors).toEqual({ "custom_headers.0.key": ["The custom headers.0.key field must not be x-key: Talkover sets that header."] });
  });

  it("templates: keys must be subscribed events (also when events later drops one), variables must exist, at most 64 KiB", async () => {
    const unsubscribed = await create({ payload_templates: { event_recording: { id: "{{call.id}}" } } });
    expect(unsubscribed.body.errors).toEqual({
      "payload_templates.event_recording": ["The payload templates.event recording field must be an event the webhook is subscribed to."],
    });
    const unknownEvent = await create({ payload_templates: { event_nope: {} } });
    expect(unknownEvent.status).toBe(422);
    expect(Object.keys(unknownEvent.body.errors)).toEqual(["payload_templates.event_nope"]);
    const unknownVars = await create({
      payload_templates: { event_phone_call_ended: { a: "{{data.colour}}", b: "x {{ call.nope }} {{data.duration}} {{agent.name}} {{data.context.anything}}" } },
    });
    expect(unknownVars.body.errors).toEqual({
      "payload_templates.event_phone_call_ended": ["The payload templates.event phone call ended field uses unknown variables: data.colour, call.nope."],
    });
    // 64 KiB of template needs a body limit above the default 64 KiB (BODY_LIMIT_BYTES); by default the 413 comes first.
    const big = "x".repeat(64 * 1024 - 8); // {"b":"…"} is exactly 65536 bytes
    const roomy = await startTestServer(dialect, { config: { bodyLimitBytes: 256 * 1024 } });
    try {
      const post = (template: unknown) =>
        roomy.api(webhooksPath(roomy), { method: "POST", body: { ...validWebhook, payload_templates: { event_phone_call_ended: template } } });
      expect((await post({ b: big })).status).toBe(201);
      const tooBig = await post({ b: big + "x" });
      expect(tooBig.status).toBe(422);
      expect(tooBig.body.errors).toEqual({
        "payload_templates.event_phone_call_ended": ["The payload templates.event phone call ended field must not be greater than 65536 bytes."],
      });
    } finally {
      await roomy.stop();
    }
    expect((await create({ payload_templates: { event_phone_call_ended: { b: big } } })).status).toBe(413);
    const data = await createWebhook(t, { ...validWebhook, payload_templates: { event_phone_call_ended: "{{call.id}}" } });
    const dropped = await update(data.id, { events: ["event_phone_call_started"] });
    expect(dropped.status).toBe(422);
    expect(dropped.body.errors).toEqual({
      "payload_templates.event_phone_call_ended": ["The payload templates.event phone call ended field must be an event the webhook is subscribed to."],
    });
    const both = await update(data.id, { events: ["event_phone_call_started"], payload_templates: {} });
    expect(both.status).toBe(200);
    expect(both.body.data.payload_templates).toEqual({});
  });

  it("the schema's own refusals are 422s on their field, never 500", async () => {
    const r = await create({ http_method: "GET", authorization_scheme: "digest", authorization_credentials: { colour: "red" } });
    expect(r.status).toBe(422);
    expect(r.body.errors).toMatchObject({
      http_method: ["The selected http method is invalid."],
      authorization_scheme: ["The selected authorization scheme is invalid."],
      "authorization_credentials.colour": ["The authorization credentials.colour field is prohibited."],
    });
  });
});
