// Campaigns (outbound calling runs) belong to one environment and may be of one agent of that environment;
// they own webhooks as agents do (owner.ts). An environment's token never reaches another's campaigns.
import type { Database } from "./db.js";
import { findAgentInEnvironment } from "./agents.js";
import { newId } from "./ids.js";
import { prepare } from "./prepared.js";
import type { CampaignTable } from "./schema.js";

export interface Campaign {
  id: string;
  environmentId: string;
  name: string;
  agentId: string | null;
  createdAt: number;
}

function toCampaign(row: CampaignTable): Campaign {
  return { id: row.id, environmentId: row.environment_id, name: row.name, agentId: row.agent_id, createdAt: row.created_at };
}

/** Throws a plain Error when the agent given is not one of the environment's (the foreign key alone would accept it). */
export async function createCampaign(
  database: Database,
  input: { environmentId: string; name: string; agentId?: string | null; now?: number },
): Promise<Campaign> {
  const now = input.now ?? Date.now();
  const agentId = input.agentId ?? null;
  if (agentId !== null && !(await findAgentInEnvironment(database, input.environmentId, agentId))) {
    throw new Error(`Agent ${agentId} is not an agent of environment ${input.environmentId}`);
  }
  const row: CampaignTable = { id: newId(now), environment_id: input.environmentId, name: input.name, agent_id: agentId, created_at: now };
  await database.db.insertInto("campaigns").values(row).execute();
  return toCampaign(row);
}

/** Oldest first; all environments unless one is given. */
export async function listCampaigns(database: Database, filter: { environmentId?: string } = {}): Promise<Campaign[]> {
  let query = database.db.selectFrom("campaigns").selectAll();
  if (filter.environmentId !== undefined) query = query.where("environment_id", "=", filter.environmentId);
  const rows = await query.orderBy("created_at").orderBy("id").execute();
  return rows.map(toCampaign);
}

// As getAgent: read on the cache misses of every request on a campaign's path, compiled once.
const campaignById = prepare((db, v: { id: string }) => db.selectFrom("campaigns").selectAll().where("id", "=", v.id));

export async function getCampaign(database: Database, campaignId: string): Promise<Campaign | undefined> {
  const [row] = (await campaignById(database, { id: campaignId })).rows;
  return row === undefined ? undefined : toCampaign(row);
}

/** Undefined both when the campaign does not exist and when it belongs to another environment. */
export async function findCampaignInEnvironment(
  database: Database,
  environmentId: string,
  campaignId: string,
): Promise<Campaign | undefined> {
  const row = await database.db
    .selectFrom("campaigns")
    .selectAll()
    .where("id", "=", campaignId)
    .where("environment_id", "=", environmentId)
    .executeTakeFirst();
  return row === undefined ? undefined : toCampaign(row);
}
