// The "this agent (or campaign) exists" caches of the HTTP layer, shared by the public API's path binding and
// the internal intake (both on every request). Agents and campaigns are never deleted and never change
// environment, so a found one can be remembered a while; a miss is never remembered, so a new one is found
// at once.
import type { Database } from "../storage/db.js";
import { getAgent, type Agent } from "../storage/agents.js";
import { getCampaign, type Campaign } from "../storage/campaigns.js";
import { TtlCache } from "./ttl-cache.js";

const KNOWN_TTL_MS = 60_000;

export class KnownOwners<T extends { environmentId: string }> {
  private readonly cache = new TtlCache<string, T>(KNOWN_TTL_MS);

  constructor(private readonly load: (id: string) => Promise<T | undefined>) {}

  find(id: string): Promise<T | undefined> {
    return this.cache.get(id, () => this.load(id));
  }

  /** Undefined both when it does not exist and when it belongs to another environment. */
  async findInEnvironment(environmentId: string, id: string): Promise<T | undefined> {
    const found = await this.find(id);
    return found?.environmentId === environmentId ? found : undefined;
  }
}

export type KnownAgents = KnownOwners<Agent>;
export type KnownCampaigns = KnownOwners<Campaign>;

export const knownAgents = (database: Database): KnownAgents => new KnownOwners((id) => getAgent(database, id));
export const knownCampaigns = (database: Database): KnownCampaigns => new KnownOwners((id) => getCampaign(database, id));
