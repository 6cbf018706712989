// The one "this agent exists" cache of the HTTP layer, shared by the public API's path binding and the internal
// intake (both on every request). Agents are never deleted and never change environment, so a found agent
// can be remembered a while; a miss is never remembered, so a new agent is found at once.
import type { Database } from "../storage/db.js";
import { getAgent, type Agent } from "../storage/agents.js";
import { TtlCache } from "./ttl-cache.js";

const AGENT_CACHE_TTL_MS = 60_000;

export class KnownAgents {
  private readonly agents = new TtlCache<string, Agent>(AGENT_CACHE_TTL_MS);

  constructor(private readonly database: Database) {}

  find(agentId: string): Promise<Agent | undefined> {
    return this.agents.get(agentId, () => getAgent(this.database, agentId));
  }

  /** Undefined both when the agent does not exist and when it belongs to another environment. */
  async findInEnvironment(environmentId: string, agentId: string): Promise<Agent | undefined> {
    const agent = await this.find(agentId);
    return agent?.environmentId === environmentId ? agent : undefined;
  }
}
