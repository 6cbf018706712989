// What the HTTP layer depends on, passed in by whoever builds the app (server.ts, tests).
import type { Config } from "../config.js";
import type { AgentWebhookCache } from "../delivery/agent-cache.js";
import type { DeliveryService } from "../delivery/service.js";
import type { Logger } from "../logger.js";
import type { ApiSpec } from "../spec.js";
import type { Agent } from "../storage/agents.js";
import type { Database } from "../storage/db.js";
import type { Environment } from "../storage/environments.js";
import type { Webhook } from "../storage/webhooks.js";

export interface AppContext {
  spec: ApiSpec;
  database: Database;
  config: Config;
  logger: Logger;
  cache: AgentWebhookCache;
  delivery: DeliveryService;
  /** False once shutdown has begun: /readyz answers 503. */
  isReady(): boolean;
}

/** What the resource middlewares resolved for the request, on `res.locals`. */
export interface Resolved {
  environment: Environment;
  agent: Agent;
  webhook: Webhook;
}
