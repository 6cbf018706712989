// A real server on an ephemeral port over a fresh database (SQLite or PostgreSQL), with an environment, an
// agent and a campaign of that agent ready, for integration and contract tests.
import { DEFAULT_CONFIG, type Config } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { startServer, type RunningServer, type StartOptions } from "../../server/server.js";
import { createAgent } from "../../server/storage/agents.js";
import { createCampaign } from "../../server/storage/campaigns.js";
import type { Dialect } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { postgresBackend, sqliteBackend } from "./databases.js";

export interface TestServer {
  url: string;
  token: string;
  environmentId: string;
  agentId: string;
  agentName: string;
  /** A campaign of the environment, placing its calls with `agentId`; no webhooks yet. */
  campaignId: string;
  server: RunningServer;
  /** fetch against the server with the environment's token and JSON bodies. */
  api(path: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<ApiResponse>;
  /** A second environment with its own token, agent and campaign (of that agent), for isolation tests. */
  otherEnvironment(): Promise<{ token: string; agentId: string; campaignId: string }>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export const SERVICE_TOKEN = "test-service-token";

export async function startTestServer(
  dialect: Dialect = "sqlite",
  options: { config?: Partial<Config>; engine?: StartOptions["engine"]; logger?: StartOptions["logger"] } = {},
): Promise<TestServer> {
  const database = await (dialect === "postgres" ? postgresBackend : sqliteBackend).open();
  const config: Config = {
    ...DEFAULT_CONFIG,
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    rateLimitPerMinute: 100_000,
    validateResponses: true,
    serviceToken: SERVICE_TOKEN,
    allowPrivateTargets: true,
    ...options.config,
  };
  const server = await startServer(config, { database, logger: options.logger ?? createLogger(config.logLevel), engine: { worker: { pollIntervalMs: 50 }, ...options.engine } });
  const environment = await createEnvironment(database, { name: "Test" });
  const agent = await createAgent(database, { environmentId: environment.id, name: "Test agent" });
  const campaign = await createCampaign(database, { environmentId: environment.id, name: "Test campaign", agentId: agent.id });

  const api: TestServer["api"] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? environment.token : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(server.url + path, { method: init.method ?? "GET", headers, body });
    const text = await response.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };

  return {
    url: server.url,
    token: environment.token,
    environmentId: environment.id,
    agentId: agent.id,
    agentName: agent.name,
    campaignId: campaign.id,
    server,
    api,
    async otherEnvironment() {
      const other = await createEnvironment(database, { name: "Other" });
      const otherAgent = await createAgent(database, { environmentId: other.id, name: "Other agent" });
      const otherCampaign = await createCampaign(database, { environmentId: other.id, name: "Other campaign", agentId: otherAgent.id });
      return { token: other.token, agentId: otherAgent.id, campaignId: otherCampaign.id };
    },
    async stop() {
      await server.stop();
      await database.close();
    },
  };
}
