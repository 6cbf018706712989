// The reference server's traffic through `prism proxy --errors`: Prism checks every request and every
// response against openapi.yaml, and turns a response that breaks it into a 500 problem+json, which the
// suite's status and schema assertions then catch. The suite sends only valid requests here, since an
// invalid one would be answered by Prism itself.
import { startProxy, type MockServer } from "../../client/mock.js";
import { SERVICE_TOKEN, startTestServer } from "../support/server.js";
import { holdDatabase } from "./database-fault.js";
import { defineContractSuite } from "./operations.js";

const RATE_LIMIT = 300;

defineContractSuite(
  "reference server behind prism proxy --errors",
  { stateful: true, deliversEvents: true, foreignAgent: true, foreignCampaign: true, databaseFaults: true, rateLimitPerMinute: RATE_LIMIT, invalidRequests: false },
  async () => {
    // The server's own response validation is off here, so that Prism is the gate this run tests.
    const server = await startTestServer("sqlite", { config: { rateLimitPerMinute: RATE_LIMIT, validateResponses: false } });
    let proxy: MockServer;
    try {
      proxy = await startProxy(server.url, { errors: true });
    } catch (error) {
      await server.stop();
      throw error;
    }
    const other = await server.otherEnvironment();
    return {
      baseUrl: proxy.url,
      token: server.token,
      serviceToken: SERVICE_TOKEN,
      agentId: server.agentId,
      foreignAgentId: other.agentId,
      campaignId: server.campaignId,
      foreignCampaignId: other.campaignId,
      holdDatabase: () => holdDatabase(server.server.database),
      async teardown() {
        await proxy.stop();
        await server.stop();
      },
    };
  },
);
