// Every management operation's happy path, on SQLite and PostgreSQL, checked against openapi.yaml.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentOwner } from "../../server/storage/owner.js";
import { loadSpec } from "../../server/spec.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { createWebhook, DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

describe.each(DIALECTS)("webhooks on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  it("create answers 201 with the seed's envelope and shape", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: validWebhook });
    expect(r.status).toBe(201);
    expect(componentErrors("WebhookCreatedResponse", r.body)).toEqual([]);
    expect(r.body).toMatchObject({
      success: true,
      message: "Webhook created successfully",
      data: {
        agent_id: t.agentId,
        name: "My Webhook",
        webhook_url: "https://example.com/webhook",
        events: ["event_phone_call_started", "event_phone_call_ended"],
        timeout: 30,
        max_retries: 3,
        enabled: true,
        events_count: 2,
        status: "active",
      },
    });
    expect(r.body.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(r.body.data).not.toHaveProperty("webhook_secret");
  });

  it("create applies the defaults: timeout 30, max_retries 3, enabled true", async () => {
    const data = await createWebhook(t, { name: "Defaults", webhook_url: "https://example.com/d", events: ["event_recording"] });
    expect(data).toMatchObject({ timeout: 30, max_retries: 3, enabled: true, status: "active", events_count: 1 });
  });

  it("create with enabled false gives status disabled", async () => {
    const data = await createWebhook(t, { ...validWebhook, enabled: false });
    expect(data).toMatchObject({ enabled: false, status: "disabled" });
  });

  it("list returns the agent's webhooks, oldest first, and the 22-event catalogue from the spec", async () => {
    const fresh = await startTestServer(dialect);
    try {
      const first = await createWebhook(fresh, { ...validWebhook, name: "First" });
      const second = await createWebhook(fresh, { ...validWebhook, name: "Second" });
      const r = await fresh.api(webhooksPath(fresh));
      expect(r.status).toBe(200);
      expect(componentErrors("WebhookListResponse", r.body)).toEqual([]);
      expect(r.body.data.webhooks.map((w: any) => w.id)).toEqual([first.id, second.id]);
      const catalogue = r.body.data.available_events;
      expect(Object.keys(catalogue)).toHaveLength(22);
      expect(catalogue).toEqual(loadSpec().availableEvents);
      expect(catalogue.event_phone_call_started).toBe("Phone call has started");
      expect(catalogue.event_client_disconnected).toBe("Client disconnected from the call");
    } finally {
      await fresh.stop();
    }
  });

  it("show returns one webhook", async () => {
    const created = await createWebhook(t);
    const r = await t.api(`${webhooksPath(t)}/${created.id}`);
    expect(r.status).toBe(200);
    expect(componentErrors("WebhookResponse", r.body)).toEqual([]);
    expect(r.body).toEqual({ success: true, data: created });
  });

  it("update changes only the fields sent, applies no defaults, and bumps updated_at", async () => {
    const created = await createWebhook(t, { ...validWebhook, timeout: 60, max_retries: 7 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const r = await t.api(`${webhooksPath(t)}/${created.id}`, { method: "PUT", body: { name: "Renamed", events: ["event_recording"] } });
    expect(r.status).toBe(200);
    expect(componentErrors("WebhookUpdatedResponse", r.body)).toEqual([]);
    expect(r.body.message).toBe("Webhook updated successfully");
    expect(r.body.data).toMatchObject({
      name: "Renamed",
      events: ["event_recording"],
      events_count: 1,
      webhook_url: created.webhook_url,
      timeout: 60,
      max_retries: 7,
      enabled: true,
      created_at: created.created_at,
    });
    expect(r.body.data.updated_at > (created.updated_at as string)).toBe(true);
  });

  it("update with an empty body changes nothing but updated_at", async () => {
    const created = await createWebhook(t);
    const r = await t.api(`${webhooksPath(t)}/${created.id}`, { method: "PUT", body: {} });
    expect(r.status).toBe(200);
    expect({ ...r.body.data, updated_at: created.updated_at }).toEqual(created);
  });

  it("toggle flips enabled and says which way", async () => {
    const created = await createWebhook(t);
    const off = await t.api(`${webhooksPath(t)}/${created.id}/toggle`, { method: "PATCH" });
    expect(off.status).toBe(200);
    expect(componentErrors("WebhookToggledResponse", off.body)).toEqual([]);
    expect(off.body).toMatchObject({ success: true, message: "Webhook disabled", data: { enabled: false, status: "disabled" } });
    const on = await t.api(`${webhooksPath(t)}/${created.id}/toggle`, { method: "PATCH" });
    expect(on.body).toMatchObject({ success: true, message: "Webhook enabled", data: { enabled: true, status: "active" } });
  });

  it("delete answers the documented message, then the webhook and its logs are 404", async () => {
    const created = await createWebhook(t);
    const r = await t.api(`${webhooksPath(t)}/${created.id}`, { method: "DELETE" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, message: "Webhook deleted successfully" });
    for (const [method, suffix] of [["GET", ""], ["PUT", ""], ["DELETE", ""], ["PATCH", "/toggle"], ["GET", "/logs"], ["POST", "/test"]] as const) {
      const after = await t.api(`${webhooksPath(t)}/${created.id}${suffix}`, { method, body: method === "PUT" ? { name: "x" } : undefined });
      expect(after.status, `${method} ${suffix}`).toBe(404);
      expect(after.body).toEqual({ success: false, message: "Webhook not found." });
    }
    const list = await t.api(webhooksPath(t));
    expect(list.body.data.webhooks.map((w: any) => w.id)).not.toContain(created.id);
  });

  it("logs of a new webhook are an empty first page with the documented pagination", async () => {
    const created = await createWebhook(t);
    const r = await t.api(`${webhooksPath(t)}/${created.id}/logs`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, data: [], pagination: { current_page: 1, per_page: 25, total: 0, last_page: 1 } });
  });

  it("a webhook write is seen at once by the fan-out cache", async () => {
    const fresh = await startTestServer(dialect);
    try {
      const cache = fresh.server.cache;
      expect(await cache.webhooksFor(agentOwner(fresh.agentId), "event_recording")).toHaveLength(0);
      expect(cache.has(agentOwner(fresh.agentId))).toBe(true);
      const created = await createWebhook(fresh, { ...validWebhook, events: ["event_recording"] });
      expect((await cache.webhooksFor(agentOwner(fresh.agentId), "event_recording")).map((w) => w.id)).toEqual([created.id]);
      await fresh.api(`${webhooksPath(fresh)}/${created.id}/toggle`, { method: "PATCH" });
      expect(await cache.webhooksFor(agentOwner(fresh.agentId), "event_recording")).toHaveLength(0);
      await fresh.api(`${webhooksPath(fresh)}/${created.id}/toggle`, { method: "PATCH" });
      await fresh.api(`${webhooksPath(fresh)}/${created.id}`, { method: "PUT", body: { events: ["event_action"] } });
      expect(await cache.webhooksFor(agentOwner(fresh.agentId), "event_recording")).toHaveLength(0);
      expect(await cache.webhooksFor(agentOwner(fresh.agentId), "event_action")).toHaveLength(1);
      await fresh.api(`${webhooksPath(fresh)}/${created.id}`, { method: "DELETE" });
      expect(await cache.webhooksFor(agentOwner(fresh.agentId), "event_action")).toHaveLength(0);
    } finally {
      await fresh.stop();
    }
  });

  it("the health probes answer", async () => {
    expect((await t.api("/healthz", { token: null })).body).toEqual({ status: "ok" });
    expect((await t.api("/readyz", { token: null })).body).toEqual({ status: "ok" });
  });
});
