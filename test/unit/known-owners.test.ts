// KnownOwners (here of agents): the agent cache of the HTTP layer (path binding and the internal intake).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { knownAgents } from "../../server/http/known-owners.js";
import type { Database } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { sqliteBackend } from "../support/databases.js";
import { seedAgent } from "../storage/fixtures.js";

describe("KnownOwners of agents", () => {
  let database: Database;
  beforeEach(async () => {
    database = await sqliteBackend.open();
  });
  afterEach(() => database.close());

  it("finds an agent only in its own environment", async () => {
    const { environment, agent } = await seedAgent(database);
    const other = await createEnvironment(database, { name: "Staging" });
    const agents = knownAgents(database);
    expect(await agents.findInEnvironment(environment.id, agent.id)).toEqual(agent);
    expect(await agents.findInEnvironment(other.id, agent.id)).toBeUndefined();
    expect(await agents.find(agent.id)).toEqual(agent);
  });

  it("remembers a found agent, never a miss", async () => {
    const { environment } = await seedAgent(database);
    const agents = knownAgents(database);
    const id = "01994a2b-0000-7000-8000-00000000a9e7";
    expect(await agents.find(id)).toBeUndefined();
    await database.db.insertInto("agents").values({ id, environment_id: environment.id, name: "New", created_at: 0 }).execute();
    const found = await agents.find(id);
    expect(found?.id).toBe(id);
    await database.db.deleteFrom("agents").where("id", "=", id).execute();
    expect(await agents.find(id)).toEqual(found);
  });
});
