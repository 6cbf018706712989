// STAND-IN (replaced by h-storage's version at merge)
import type { Database } from "./db.js";
export interface Campaign {
  id: string;
  environmentId: string;
  name: string;
  agentId: string | null;
  createdAt: number;
}
export declare function createCampaign(database: Database, input: { environmentId: string; name: string; agentId?: string | null; now?: number }): Promise<Campaign>;
export declare function listCampaigns(database: Database, filter?: { environmentId?: string }): Promise<Campaign[]>;
export declare function getCampaign(database: Database, id: string): Promise<Campaign | undefined>;
export declare function findCampaignInEnvironment(database: Database, environmentId: string, id: string): Promise<Campaign | undefined>;
