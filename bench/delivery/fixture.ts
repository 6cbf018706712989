// Delivery benchmark fixtures: a database with one agent, one signed webhook and N recorded events (each a
// pending delivery + its first log row, written by the engine's own recordEvent), made once as a template
// and copied for every run (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL).
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { eventBody } from "../../server/delivery/payload.js";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase, type Database, type Dialect } from "../../server/storage/db.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { startPostgres } from "../../test/support/postgres.js";
import { CALL_ENDED_DATA, WEBHOOK_SECRET } from "../lib/fixtures.js";
import { makeTempDir, onCleanup, removeTempDir } from "../lib/proc.js";
import { agentOwner } from "../../server/storage/owner.js";

export interface Fixture {
  dialect: Dialect;
  /** The template database (never run against). */
  url: string;
  agentId: string;
  webhookId: string;
  events: number;
  recordSeconds: number;
}

/** Where the runs' databases live: a temp directory (SQLite) or a throwaway PostgreSQL server. */
export interface Host {
  dialect: Dialect;
  /** A URL for a new, empty database. */
  newDatabaseUrl(): Promise<string>;
  /** A copy of `templateUrl` (closed by everyone) under a new URL. */
  clone(templateUrl: string): Promise<string>;
  drop(url: string): Promise<void>;
  stop(): Promise<void>;
}

export async function sqliteHost(): Promise<Host> {
  const dir = makeTempDir("talkover-bench-delivery-");
  let n = 0;
  return {
    dialect: "sqlite",
    newDatabaseUrl: async () => `sqlite:${join(dir, `db${n++}.sqlite`)}`,
    async clone(templateUrl) {
      const from = templateUrl.slice("sqlite:".length);
      const to = join(dir, `db${n++}.sqlite`);
      copyFileSync(from, to);
      for (const suffix of ["-wal", "-shm"]) if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
      return `sqlite:${to}`;
    },
    async drop(url) {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(url.slice("sqlite:".length) + suffix, { force: true });
    },
    stop: async () => removeTempDir(dir),
  };
}

/** An embedded PostgreSQL (test/support/postgres.ts: fsync off, synchronous_commit off). */
export async function postgresHost(): Promise<Host & { serverUrl: string }> {
  const server = await startPostgres();
  const unregister = onCleanup(server.stop);
  const admin = async <T>(work: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const withName = (name: string) => {
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const newName = () => `bench_${randomBytes(6).toString("hex")}`;
  return {
    dialect: "postgres",
    serverUrl: server.url,
    async newDatabaseUrl() {
      const name = newName();
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return withName(name);
    },
    async clone(templateUrl) {
      const name = newName();
      const template = new URL(templateUrl).pathname.slice(1);
      for (let attempt = 1; ; attempt++) {
        try {
          await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
          return withName(name);
        } catch (error) {
          // 55006: the template still has a session (a pool that was just closed takes a moment to go).
          if ((error as { code?: string }).code !== "55006" || attempt === 40) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    async drop(url) {
      const name = new URL(url).pathname.slice(1);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
    async stop() {
      unregister();
      await server.stop();
    },
  };
}

/**
 * A template: one agent, one webhook (signed, subscribed to event_phone_call_ended, pointing nowhere yet: the
 * run points it at its receiver) and `events` events recorded through recordEvent, i.e. as many pending
 * deliveries due now. On PostgreSQL the events are recorded 8 at a time (they are independent
 * transactions); on SQLite one after another (one connection).
 */
export async function prepareFixture(host: Host, events: number, webhookUrl = "http://127.0.0.1:9/unset"): Promise<Fixture> {
  const url = await host.newDatabaseUrl();
  const database = await openDatabase(url);
  try {
    const environment = await createEnvironment(database, { name: "Bench" });
    const agent = await createAgent(database, { environmentId: environment.id, name: "Bench agent" });
    const webhook = await createWebhook(database, agentOwner(agent.id), {
      name: "Bench receiver",
      webhookUrl,
      webhookSecret: WEBHOOK_SECRET,
      events: ["event_phone_call_ended"],
      timeout: 30,
      maxRetries: 3,
      enabled: true,
    });
    const started = performance.now();
    await recordEvents(database, agent.id, webhook.id, events, host.dialect === "postgres" ? 8 : 1);
    return {
      dialect: host.dialect,
      url,
      agentId: agent.id,
      webhookId: webhook.id,
      events,
      recordSeconds: Math.round(performance.now() - started) / 1000,
    };
  } finally {
    await database.close();
  }
}

export async function recordEvents(database: Database, agentId: string, webhookId: string, events: number, parallel: number): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < events) {
      next++;
      const occurredAt = Date.now();
      await recordEvent(database, {
        source: agentOwner(agentId),
        event: "event_phone_call_ended",
        data: CALL_ENDED_DATA,
        occurredAt,
        webhookIds: [webhookId],
        buildPayload: (ids) =>
          eventBody({ deliveryId: ids.deliveryId, eventId: ids.eventId, event: "event_phone_call_ended", agentId, occurredAt, data: CALL_ENDED_DATA }),
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}
