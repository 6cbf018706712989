// Helpers of the multi-process tests: fresh databases, seeding, spawning real server processes
// (worker-process.ts), intake over HTTP, and reading the deliveries table. Everything a test starts is
// registered in its Scope and torn down by scope.close(), so tests can run concurrently.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase, type Dialect } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { POSTGRES_URL_ENV } from "../support/global-postgres.js";
import { createDatabase } from "../support/postgres.js";
import { SERVICE_TOKEN } from "../support/server.js";
import { CALL_ENDED_DATA } from "./harness.js";
import { agentOwner } from "../../server/storage/owner.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./worker-process.ts", import.meta.url));

export interface WorkerProcess {
  url: string;
  owner: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** What the process wrote to stderr (its logs). */
  output(): string;
}

/**
 * What one test started; close() undoes it, last first. Made with the test's own `onTestFinished` (from
 * its context argument: in a `describe.concurrent` file the imported one binds to whichever test is
 * current), it also closes when the test ends without reaching its own close(): a timeout abandons the
 * test's function, and its worker processes would outlive the run. Closing twice is a no-op.
 */
export class Scope {
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  constructor(onTestFinished?: (fn: () => Promise<void>) => void) {
    onTestFinished?.(() => this.close());
  }
  add(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }
  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  }
}

function postgresServerUrl(): string {
  let injected: string | undefined;
  try {
    injected = inject("talkoverPostgresUrl");
  } catch {
    injected = undefined;
  }
  const url = process.env[POSTGRES_URL_ENV] || injected || process.env.TEST_DATABASE_URL;
  if (!url) throw new Error("no PostgreSQL server: run through vitest (globalSetup) or set TEST_DATABASE_URL");
  return url;
}

/** A fresh database of this dialect (a PostgreSQL database, or an SQLite file in a temp dir), removed by the scope. */
export async function freshDatabaseUrl(scope: Scope, dialect: Dialect): Promise<string> {
  if (dialect === "postgres") {
    const fresh = await createDatabase(postgresServerUrl());
    scope.add(fresh.drop);
    return fresh.url;
  }
  const dir = await mkdtemp(join(tmpdir(), "talkover-engine-"));
  scope.add(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "talkover.db");
}

/**
 * Migrates the database and adds an environment with `agents` agents, each with one webhook to
 * `webhookUrl` subscribed to event_phone_call_ended.
 */
export async function seed(databaseUrl: string, webhookUrl: string, agents = 1) {
  const database = await openDatabase(databaseUrl);
  try {
    const environment = await createEnvironment(database, { name: "Processes" });
    const seeded: Array<{ agentId: string; webhookId: string }> = [];
    for (let i = 0; i < agents; i++) {
      const agent = await createAgent(database, { environmentId: environment.id, name: `Agent ${i}` });
      const webhook = await createWebhook(database, agentOwner(agent.id), {
        name: "Burst",
        webhookUrl,
        webhookSecret: "optional_secret_for_hmac",
        events: ["event_phone_call_ended"],
        timeout: 30,
        maxRetries: 3,
        enabled: true,
      });
      seeded.push({ agentId: agent.id, webhookId: webhook.id });
    }
    return { token: environment.token, ...seeded[0]!, all: seeded };
  } finally {
    await database.close();
  }
}

/**
 * Starts `node --conditions=talkover-source --import tsx test/engine/worker-process.ts` (startServer, as `serve` runs it) with the
 * given environment on top of: PORT=0, HOST=127.0.0.1, private targets allowed, the tests' service
 * token, LOG_LEVEL=warn, no response validation. Resolves once it listens. The scope SIGKILLs it if it is still running.
 */
export async function spawnWorker(scope: Scope, env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--conditions=talkover-source", "--import", "tsx", SCRIPT], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      TALKOVER_ALLOW_PRIVATE_TARGETS: "true",
      TALKOVER_SERVICE_TOKEN: SERVICE_TOKEN,
      LOG_LEVEL: "warn",
      // As in production (NODE_ENV=production): these tests are about the queue, not the API's responses.
      VALIDATE_RESPONSES: "false",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  scope.add(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const ready = await new Promise<{ url: string; owner: string }>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`worker process did not start in 120 s:\n${output}`)), 120_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return { ...ready, child, exited, output: () => output };
}

/** SIGTERM: the process finishes its attempts under way, records them and exits. */
export async function stopWorker(worker: WorkerProcess): Promise<void> {
  worker.child.kill("SIGTERM");
  await worker.exited;
}

/** Runs `work` over 0..count-1 with at most `concurrency` at once. */
export async function inParallel(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Event number `i` for an agent: event_phone_call_ended with its own call_id. */
export function burstEvent(i: number) {
  return { event: "event_phone_call_ended", data: { ...CALL_ENDED_DATA, call_id: `call-${i}` } };
}

/** Hands event `i` to a server's intake (POST /internal/v1/agents/{id}/events); returns its event_id (202 required). */
export async function ingestOverHttp(url: string, agentId: string, i: number): Promise<string> {
  const response = await fetch(`${url}/internal/v1/agents/${agentId}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${SERVICE_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ ...burstEvent(i), idempotency_key: `burst-${i}` }),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`ingest ${i}: ${response.status} ${text}`);
  return JSON.parse(text).data.event_id;
}

/** Deliveries by status, read from the database itself. */
export async function deliveryStatusCounts(databaseUrl: string): Promise<Record<string, number>> {
  const database = await openDatabase(databaseUrl, { migrate: false, maxConnections: 1 });
  try {
    const rows = await database.db.selectFrom("deliveries").select("status").execute();
    const counts: Record<string, number> = {};
    for (const { status } of rows) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  } finally {
    await database.close();
  }
}

export const eventIdOf = (body: string): string => JSON.parse(body).event_id;
