// Agents belong to one environment; an environment's token never reaches another environment's agents.
import type { Database } from "./db.js";
import { newId } from "./ids.js";
import { prepare } from "./prepared.js";
import type { AgentTable } from "./schema.js";

export interface Agent {
  id: string;
  environmentId: string;
  name: string;
  createdAt: number;
}

function toAgent(row: AgentTable): Agent {
  return { id: row.id, environmentId: row.environment_id, name: row.name, createdAt: row.created_at };
}

export async function createAgent(
  database: Database,
  input: { environmentId: string; name: string; now?: number },
): Promise<Agent> {
  const now = input.now ?? Date.now();
  const row: AgentTable = { id: newId(now), environment_id: input.environmentId, name: input.name, created_at: now };
  await database.db.insertInto("agents").values(row).execute();
  return toAgent(row);
}

/** Oldest first; all environments unless one is given. */
export async function listAgents(database: Database, filter: { environmentId?: string } = {}): Promise<Agent[]> {
  let query = database.db.selectFrom("agents").selectAll();
  if (filter.environmentId !== undefined) query = query.where("environment_id", "=", filter.environmentId);
  const rows = await query.orderBy("created_at").orderBy("id").execute();
  return rows.map(toAgent);
}

// Every request on an agent's path that misses the HTTP layer's cache (known-owners.ts) reads it: compiled once.
const agentById = prepare((db, v: { id: string }) => db.selectFrom("agents").selectAll().where("id", "=", v.id));

export async function getAgent(database: Database, agentId: string): Promise<Agent | undefined> {
  const [row] = (await agentById(database, { id: agentId })).rows;
  return row === undefined ? undefined : toAgent(row);
}

/** Undefined both when the agent does not exist and when it belongs to another environment. */
export async function findAgentInEnvironment(
  database: Database,
  environmentId: string,
  agentId: string,
): Promise<Agent | undefined> {
  const row = await database.db
    .selectFrom("agents")
    .selectAll()
    .where("id", "=", agentId)
    .where("environment_id", "=", environmentId)
    .executeTakeFirst();
  return row === undefined ? undefined : toAgent(row);
}
