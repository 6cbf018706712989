// Delivery benchmark fixtures: a database with one agent, one signed webhook and N recorded events (each a
// pending delivery + its first log row, written by the intake's own recordEvents), or with many agents and
// webhooks and events fanned out to them (prepareManyFixture), made once as a template and copied for every
// run (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL). readDeliveries hands the recorded
// bodies to the drain's ceiling and peer, so that they send the very bytes the drain sends.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { eventBody } from "../../server/delivery/payload.js";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase, type Database, type Dialect } from "../../server/storage/db.js";
import { recordEvents as recordBatch } from "../../server/storage/queue/record-events.js";
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
  /** Pending deliveries recorded (one per event with one webhook). */
  events: number;
  webhooks: number;
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
 * deliveries due now. On PostgreSQL 8 transactions at a time; on SQLite one after another (one connection).
 */
export async function prepareFixture(host: Host, events: number): Promise<Fixture> {
  return prepareManyFixture(host, { agents: 1, webhooksPerAgent: 1, deliveries: events });
}

/**
 * A template with `agents` agents of `webhooksPerAgent` webhooks each (signed, subscribed to
 * event_phone_call_ended) and deliveries / (agents × webhooksPerAgent) events per agent, each fanned out to
 * its agent's webhooks by recordEvent. The events are recorded agent after agent, round-robin, as traffic
 * spread over many agents arrives: a claim of 100 due deliveries then spans many webhooks.
 */
export async function prepareManyFixture(
  host: Host,
  shape: { agents: number; webhooksPerAgent: number; deliveries: number },
): Promise<Fixture> {
  const perEvent = shape.webhooksPerAgent;
  const eventsPerAgent = shape.deliveries / (shape.agents * perEvent);
  if (!Number.isInteger(eventsPerAgent)) throw new Error(`${shape.deliveries} deliveries do not split over ${shape.agents} × ${perEvent} webhooks`);
  const url = await host.newDatabaseUrl();
  const database = await openDatabase(url);
  try {
    const environment = await createEnvironment(database, { name: "Bench" });
    const targets: Array<{ agentId: string; webhookIds: string[] }> = [];
    for (let a = 0; a < shape.agents; a++) {
      const agent = await createAgent(database, { environmentId: environment.id, name: `Bench agent ${a}` });
      const webhookIds: string[] = [];
      for (let w = 0; w < perEvent; w++) {
        const webhook = await createWebhook(database, agentOwner(agent.id), {
          name: `Bench receiver ${w}`,
          webhookUrl: "http://127.0.0.1:9/unset",
          webhookSecret: WEBHOOK_SECRET,
          events: ["event_phone_call_ended"],
          timeout: 30,
          maxRetries: 3,
          enabled: true,
        });
        webhookIds.push(webhook.id);
      }
      targets.push({ agentId: agent.id, webhookIds });
    }
    const started = performance.now();
    const sequence = Array.from({ length: eventsPerAgent * shape.agents }, (_, i) => targets[i % shape.agents]!);
    await recordEvents(database, sequence, host.dialect === "postgres" ? 8 : 1);
    return {
      dialect: host.dialect,
      url,
      events: shape.deliveries,
      webhooks: shape.agents * perEvent,
      recordSeconds: Math.round(performance.now() - started) / 1000,
    };
  } finally {
    await database.close();
  }
}

/** The pending deliveries of a database as the worker would send them: id and exact body. */
export async function readDeliveries(url: string): Promise<Array<{ deliveryId: string; body: string }>> {
  const database = await openDatabase(url);
  try {
    const rows = await database.db
      .selectFrom("deliveries as d")
      .innerJoin("logs as l", "l.id", "d.current_log_id")
      .select(["d.id as deliveryId", "l.request_payload as body"])
      .where("d.status", "=", "pending")
      .orderBy("d.next_attempt_at")
      .execute();
    return rows;
  } finally {
    await database.close();
  }
}

/**
 * One event per entry of `sequence`, each fanned out to its agent's webhooks, through the intake's own
 * recordEvents, EVENTS_PER_TRANSACTION events per transaction (as the intake's group commit batches them
 * under load), `parallel` transactions at a time.
 */
async function recordEvents(database: Database, sequence: ReadonlyArray<{ agentId: string; webhookIds: string[] }>, parallel: number): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < sequence.length) {
      const batch = sequence.slice(next, next + EVENTS_PER_TRANSACTION);
      next += batch.length;
      const occurredAt = Date.now();
      await recordBatch(
        database,
        batch.map(({ agentId, webhookIds }) => ({
          source: agentOwner(agentId),
          event: "event_phone_call_ended",
          data: CALL_ENDED_DATA,
          occurredAt,
          webhookIds,
          buildPayload: (ids) =>
            eventBody({ deliveryId: ids.deliveryId, eventId: ids.eventId, event: "event_phone_call_ended", agentId, occurredAt, data: CALL_ENDED_DATA }),
        })),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

const EVENTS_PER_TRANSACTION = 50;
