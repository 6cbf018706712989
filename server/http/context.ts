// What the HTTP layer depends on, passed in by whoever builds the app (server.ts, tests).
import type { Config } from "../config.js";
import type { DeliveryService } from "../delivery/service.js";
import type { WebhookWrites } from "../delivery/webhook-writes.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/registry.js";
import type { ApiSpec } from "../spec.js";
import type { Agent } from "../storage/agents.js";
import type { Database } from "../storage/db.js";
import type { Environment } from "../storage/environments.js";
import type { Webhook } from "../storage/webhooks.js";
import type { Campaign } from "../storage/campaigns.js";
import type { KnownAgents, KnownCampaigns } from "./known-owners.js";

export interface AppContext {
  spec: ApiSpec;
  database: Database;
  config: Config;
  logger: Logger;
  /** The only way the API changes webhooks (it keeps the fan-out cache right). */
  webhooks: WebhookWrites;
  agents: KnownAgents;
  campaigns: KnownCampaigns;
  delivery: DeliveryService;
  /** This server's Prometheus registry: the HTTP middleware counts requests there, GET /metrics reads it. */
  metrics: Metrics;
  /** False once shutdown has begun: /readyz answers 503. */
  isReady(): boolean;
}

/** What the auth and resource middlewares resolve on `res.locals`; handler.ts says which an operation gets. */
export interface Resolved {
  environment: Environment;
  agent: Agent;
  campaign: Campaign;
  webhook: Webhook;
}
