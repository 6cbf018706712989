// startServer: storage, delivery engine and HTTP API in one process, with a graceful stop.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type express from "express";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { WebhookCache } from "./delivery/webhook-cache.js";
import { createDeliveryEngine, type DeliveryEngine, type EngineOptions } from "./delivery/engine.js";
import { WebhookWrites } from "./delivery/webhook-writes.js";
import { knownAgents, knownCampaigns } from "./http/known-owners.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics/registry.js";
import { loadSpec } from "./spec.js";
import { openDatabase, type Database } from "./storage/db.js";

export interface RunningServer {
  /** http://host:port, with 127.0.0.1 for a wildcard host. */
  url: string;
  port: number;
  app: express.Express;
  database: Database;
  engine: DeliveryEngine;
  cache: WebhookCache;
  metrics: Metrics;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** An open database to use instead of opening config.databaseUrl (it is then not closed by stop). */
  database?: Database;
  engine?: Partial<Pick<EngineOptions, "sender" | "worker" | "now">>;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const spec = loadSpec();
  const database = options.database ?? (await openDatabase(config.databaseUrl));
  const cache = new WebhookCache(database);
  const metrics = new Metrics({ database, errorThreshold: config.errorThreshold, now: options.engine?.now });
  const engine = createDeliveryEngine({ database, cache, config, logger, metrics, ...options.engine });
  let ready = true;
  const app = createApp({
    spec,
    database,
    config,
    logger,
    webhooks: new WebhookWrites(database, cache),
    agents: knownAgents(database),
    campaigns: knownCampaigns(database),
    delivery: engine,
    metrics,
    isReady: () => ready,
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  // The validator compiles openapi.yaml on its first request (≈ 0.7 s): pay that now, not on a user's call.
  await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
  engine.start();
  logger.info({ url, database: database.dialect }, "talkover-webhooks listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    database,
    engine,
    cache,
    metrics,
    logger,
    stop() {
      stopping ??= (async () => {
        ready = false;
        await closeServer(server);
        await engine.stop();
        if (!options.database) await database.close();
      })();
      return stopping;
    },
  };
}

/** Stops accepting connections, lets requests under way finish, closes idle keep-alive sockets. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
  });
}
