// Storage of the delivery options (migration 0002): http_method, authorization, custom headers, templates.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../server/storage/migrations.js";
import type { Database } from "../../server/storage/db.js";
import { claimDueDeliveries } from "../../server/storage/queue/claim.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { findWebhook, updateWebhook } from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { migrateTo, T0, payloadFor, seedAgent as seedAgentOnly, seedWebhook } from "./fixtures.js";
import { agentOwner } from "../../server/storage/owner.js";

const options = {
  httpMethod: "PUT" as const,
  authorizationScheme: "bearer" as const,
  authorizationCredentials: { token: "sk_live_secret" },
  customHeaders: [
    { key: "X-Tenant-Id", value: "acme" },
    { key: "X-Routing-Key", value: "calls-eu-west-1-primary" },
  ],
  payloadTemplates: { event_phone_call_ended: { id: "{{call.id}}", n: [1, true, null] } },
};

describe.each(backends)("delivery options on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  it("migration 0002 gives webhooks made before it the defaults: POST, no authorization, no headers, no templates", async () => {
    const old = await backend.open({ migrate: false });
    try {
      await migrateTo(old, "0001_initial");
      const { agent } = await seedAgentOnly(old);
      await old.db.insertInto("webhooks").values({
        id: "0191b1d0-0000-7000-8000-000000000001", agent_id: agent.id, name: "Before", webhook_url: "https://example.com/",
        webhook_secret: null, events: '["event_recording"]', timeout: 30, max_retries: 3,
        enabled: old.dialect === "postgres" ? true : 1, created_at: T0, updated_at: T0, deleted_at: null,
      } as never).execute();
      await migrate(old);
      expect(await findWebhook(old, agentOwner(agent.id), "0191b1d0-0000-7000-8000-000000000001")).toMatchObject({
        httpMethod: "POST", authorizationScheme: "none", authorizationCredentials: null, customHeaders: [], payloadTemplates: {},
      });
    } finally {
      await old.close();
    }
  });

  it("are stored on create and read back exactly", async () => {
    const { agent, webhook } = await seedWebhook(database, options);
    expect(webhook).toMatchObject(options);
    // create answers the row as inserted, without reading it back: it must be what a read gives.
    expect(await findWebhook(database, agentOwner(agent.id), webhook.id)).toEqual(webhook);
  });

  it("an update changes only the options present; null credentials clear them", async () => {
    const { agent, webhook } = await seedWebhook(database, options);
    const updated = await updateWebhook(database, agentOwner(agent.id), webhook.id, { httpMethod: "PATCH" }, { now: T0 + 1 });
    expect(updated).toMatchObject({ ...options, httpMethod: "PATCH" });
    const cleared = await updateWebhook(
      database, agentOwner(agent.id), webhook.id,
      { authorizationScheme: "none", authorizationCredentials: null, customHeaders: [], payloadTemplates: {} },
      { now: T0 + 2 },
    );
    expect(cleared).toMatchObject({ httpMethod: "PATCH", authorizationScheme: "none", authorizationCredentials: null, customHeaders: [], payloadTemplates: {} });
  });

  it("a claimed delivery carries the webhook's current method, authorization and headers", async () => {
    const { agent, webhook } = await seedWebhook(database, options);
    await recordEvent(database, {
      source: agentOwner(agent.id), event: "event_phone_call_ended", data: { call_id: "c1" }, occurredAt: T0,
      webhookIds: [webhook.id], buildPayload: payloadFor, now: T0,
    });
    await updateWebhook(database, agentOwner(agent.id), webhook.id, { authorizationCredentials: { token: "rotated" } }, { now: T0 + 1 });
    const [claimed] = await claimDueDeliveries(database, { owner: "w", limit: 10, leaseMs: 60_000, now: T0 + 2 });
    expect(claimed).toMatchObject({
      httpMethod: "PUT",
      authorizationScheme: "bearer",
      authorizationCredentials: { token: "rotated" },
      customHeaders: options.customHeaders,
    });
  });
});
