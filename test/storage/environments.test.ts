import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgent, findAgentInEnvironment, getAgent, listAgents } from "../../server/storage/agents.js";
import type { Database } from "../../server/storage/db.js";
import {
  createEnvironment,
  findEnvironmentByToken,
  getEnvironment,
  listEnvironments,
  rotateToken,
} from "../../server/storage/environments.js";
import { backends } from "../support/databases.js";
import { T0 } from "./fixtures.js";

describe.each(backends)("environments and agents on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  it("a token is talq_ followed by 40 base62 characters", async () => {
    const { token } = await createEnvironment(database, { name: "Production", now: T0 });
    expect(token).toMatch(/^talq_[0-9A-Za-z]{40}$/);
  });

  it("the plain token is stored nowhere, only its hash and a 4-character hint", async () => {
    const environment = await createEnvironment(database, { name: "Production", now: T0 });
    const rows = await database.db.selectFrom("environments").selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(environment.token);
    expect(stored).not.toContain(environment.token.slice(5));
    expect(rows[0]?.token_hint).toBe(environment.token.slice(-4));
    expect(environment.tokenHint).toBe(environment.token.slice(-4));
  });

  it("a token finds its environment; an unknown or malformed token finds nothing", async () => {
    const production = await createEnvironment(database, { name: "Production", now: T0 });
    const staging = await createEnvironment(database, { name: "Staging", now: T0 + 1 });
    expect((await findEnvironmentByToken(database, production.token))?.id).toBe(production.id);
    expect((await findEnvironmentByToken(database, staging.token))?.id).toBe(staging.id);
    expect(await findEnvironmentByToken(database, `talq_${"x".repeat(40)}`)).toBeUndefined();
    expect(await findEnvironmentByToken(database, "not-a-token")).toBeUndefined();
    expect(await findEnvironmentByToken(database, "")).toBeUndefined();
  });

  it("rotating a token invalidates the old one and the new one works", async () => {
    const environment = await createEnvironment(database, { name: "Production", now: T0 });
    const rotated = await rotateToken(database, environment.id, { now: T0 + 1000 });
    expect(rotated).toMatch(/^talq_/);
    expect(rotated).not.toBe(environment.token);
    expect(await findEnvironmentByToken(database, environment.token)).toBeUndefined();
    const found = await findEnvironmentByToken(database, rotated!);
    expect(found).toMatchObject({ id: environment.id, tokenHint: rotated!.slice(-4), tokenRotatedAt: T0 + 1000 });
  });

  it("rotating the token of an unknown environment returns undefined", async () => {
    expect(await rotateToken(database, "00000000-0000-7000-8000-000000000000")).toBeUndefined();
  });

  it("environments are listed oldest first and read back by id", async () => {
    const a = await createEnvironment(database, { name: "A", now: T0 });
    const b = await createEnvironment(database, { name: "B", now: T0 + 1 });
    expect((await listEnvironments(database)).map((e) => e.name)).toEqual(["A", "B"]);
    expect(await getEnvironment(database, b.id)).toEqual({
      id: b.id,
      name: "B",
      tokenHint: b.tokenHint,
      createdAt: T0 + 1,
      tokenRotatedAt: T0 + 1,
    });
    expect(a).not.toHaveProperty("tokenHash");
  });

  it("an agent of another environment is not found in this one", async () => {
    const mine = await createEnvironment(database, { name: "Mine", now: T0 });
    const theirs = await createEnvironment(database, { name: "Theirs", now: T0 });
    const agent = await createAgent(database, { environmentId: theirs.id, name: "Their agent", now: T0 });
    expect(await findAgentInEnvironment(database, mine.id, agent.id)).toBeUndefined();
    expect(await findAgentInEnvironment(database, theirs.id, agent.id)).toEqual(agent);
    expect(await getAgent(database, agent.id)).toEqual(agent);
  });

  it("agents are listed oldest first, all or per environment", async () => {
    const one = await createEnvironment(database, { name: "One", now: T0 });
    const two = await createEnvironment(database, { name: "Two", now: T0 });
    await createAgent(database, { environmentId: one.id, name: "first", now: T0 });
    await createAgent(database, { environmentId: two.id, name: "second", now: T0 + 1 });
    await createAgent(database, { environmentId: one.id, name: "third", now: T0 + 2 });
    expect((await listAgents(database)).map((a) => a.name)).toEqual(["first", "second", "third"]);
    expect((await listAgents(database, { environmentId: one.id })).map((a) => a.name)).toEqual(["first", "third"]);
  });
});
