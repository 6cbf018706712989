// The same contract suite as prism.test.ts, against the reference server on each database: only the setup
// differs.
import { SERVICE_TOKEN, startTestServer } from "../support/server.js";
import { holdDatabase } from "./database-fault.js";
import { defineContractSuite } from "./operations.js";

const RATE_LIMIT = 300;

for (const dialect of ["sqlite", "postgres"] as const) {
  defineContractSuite(
    `reference server on ${dialect}`,
    { stateful: true, deliversEvents: true, foreignAgent: true, foreignCampaign: true, databaseFaults: true, rateLimitPerMinute: RATE_LIMIT },
    async () => {
      const server = await startTestServer(dialect, { config: { rateLimitPerMinute: RATE_LIMIT } });
      const other = await server.otherEnvironment();
      return {
        baseUrl: server.url,
        token: server.token,
        serviceToken: SERVICE_TOKEN,
        agentId: server.agentId,
        foreignAgentId: other.agentId,
        campaignId: server.campaignId,
        foreignCampaignId: other.campaignId,
        holdDatabase: () => holdDatabase(server.server.database),
        teardown: () => server.stop(),
      };
    },
  );
}
