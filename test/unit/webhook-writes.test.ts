// WebhookWrites: every write that changed a webhook clears its owner's fan-out cache, and only those.
// The storage rules themselves are tested in test/storage; SQLite is enough here.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebhookWrites } from "../../server/delivery/webhook-writes.js";
import type { Database } from "../../server/storage/db.js";
import { agentOwner, ownerKey } from "../../server/storage/owner.js";
import { sqliteBackend } from "../support/databases.js";
import { seedAgent, webhookInput } from "../storage/fixtures.js";

describe("WebhookWrites", () => {
  let database: Database;
  let invalidated: string[];
  let writes: WebhookWrites;
  beforeEach(async () => {
    database = await sqliteBackend.open();
    invalidated = [];
    writes = new WebhookWrites(database, { invalidate: (owner) => void invalidated.push(ownerKey(owner)) });
  });
  afterEach(() => database.close());

  it("create, update, toggle and delete each clear the agent's cache", async () => {
    const { agent } = await seedAgent(database);
    const webhook = (await writes.create(agentOwner(agent.id), webhookInput(), 100))!;
    expect((await writes.update(agentOwner(agent.id), webhook.id, { name: "Renamed" }))?.name).toBe("Renamed");
    expect((await writes.setEnabled(agentOwner(agent.id), webhook.id, false))?.enabled).toBe(false);
    expect(await writes.delete(agentOwner(agent.id), webhook.id)).toBe(true);
    expect(invalidated).toEqual(Array(4).fill(`agent:${agent.id}`));
  });

  it("a write that found no webhook changed nothing and clears nothing", async () => {
    const { agent } = await seedAgent(database);
    const missing = "01994a2b-0000-7000-8000-000000000000";
    expect(await writes.update(agentOwner(agent.id), missing, { name: "x" })).toBeUndefined();
    expect(await writes.setEnabled(agentOwner(agent.id), missing, true)).toBeUndefined();
    expect(await writes.delete(agentOwner(agent.id), missing)).toBe(false);
    expect(invalidated).toEqual([]);
  });

  it("a create refused at the owner's limit wrote nothing and clears nothing", async () => {
    const { agent } = await seedAgent(database);
    expect(await writes.create(agentOwner(agent.id), webhookInput(), 0)).toBeUndefined();
    expect(invalidated).toEqual([]);
  });
});
