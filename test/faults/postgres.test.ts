// Fault injection on PostgreSQL, on a server of this file's own (other tests share the global one): it is
// shut down (fast shutdown, as a restart, an upgrade or a failover does) and started again, and the
// server's connections are killed with pg_terminate_backend, all under a steady stream of intake events.
// The API server runs as a child process, so that a crash is seen as a crash. Asserted after each fault:
// the process is alive; every refusal is a 503 with Retry-After and the JSON envelope; no request took
// more than 5 s; /healthz stayed 200; /readyz was 503 during and 200 within 5 s after; every accepted
// event was delivered, once per idempotency key and always under one webhook-id.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { Scope, seed, spawnWorker, stopWorker } from "../engine/processes.js";
import { startReceiver, type Receiver } from "../engine/receiver.js";
import { createDatabase, startPostgres, type RestartablePostgresServer } from "../support/postgres.js";
import { expectAlive, expectAllDelivered, expectRefusalsWellFormed, expectRodeThrough, Probe, Producer, RECOVERY_BOUND_MS, sleep, summary } from "./harness.js";

const DOWN_MS = 4_000;

let postgres: RestartablePostgresServer;

beforeAll(async () => {
  postgres = await startPostgres({ restartable: true });
}, 120_000);

afterAll(async () => {
  await postgres?.stop();
});

interface Setup {
  scope: Scope;
  receiver: Receiver;
  databaseUrl: string;
  agentId: string;
}

async function setUp(onTestFinished: TestContext["onTestFinished"]): Promise<Setup> {
  const scope = new Scope(onTestFinished);
  const receiver = await startReceiver();
  scope.add(() => receiver.close());
  // Answers take a little while, so that deliveries are in flight when the database goes.
  receiver.respond({ status: 200, delayMs: 100 });
  const fresh = await createDatabase(postgres.url);
  const databaseUrl = fresh.url;
  const { agentId } = await seed(databaseUrl, receiver.url);
  return { scope, receiver, databaseUrl, agentId };
}

/** A server process on the database, with a short lease so that deliveries stranded by the fault are re-sent soon. */
const spawnServer = (scope: Scope, databaseUrl: string, owner: string, concurrency = 16) =>
  spawnWorker(scope, { DATABASE_URL: databaseUrl, WORKER_OWNER: owner, WORKER_LEASE_MS: "3000", WORKER_CONCURRENCY: String(concurrency) });

/** Stops PostgreSQL, keeps it down DOWN_MS, starts it; checks /readyz went 503 and came back within the bound. */
async function restartUnder(readyz: Probe[]): Promise<void> {
  const stoppedAt = Date.now();
  await postgres.shutDown();
  for (const probe of readyz) await probe.waitFor(503, stoppedAt, 15_000);
  await sleep(DOWN_MS - (Date.now() - stoppedAt));
  await postgres.startAgain();
  const upAt = Date.now();
  for (const probe of readyz) {
    const ready = await probe.waitFor(200, upAt, 20_000);
    expect(ready.at - upAt, `${probe.url} back to 200 after the restart`).toBeLessThan(RECOVERY_BOUND_MS);
  }
}

/** Terminates every session of `database` but the caller's own, as an operator, PgBouncer or a failover does. */
async function terminateBackends(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

describe("postgres faults", () => {
  it("a restart of PostgreSQL under a steady stream of events, twice: no crash, 503 with Retry-After, nothing lost", async ({ onTestFinished }) => {
    const { scope, receiver, databaseUrl, agentId } = await setUp(onTestFinished);
    try {
      const server = await spawnServer(scope, databaseUrl, "only");
      const healthz = new Probe(`${server.url}/healthz`, 100);
      const readyz = new Probe(`${server.url}/readyz`, 200);
      const producer = new Producer(server.url, agentId, "restart").start();
      scope.add(async () => {
        await producer.stop(1_000);
        await healthz.stop();
        await readyz.stop();
      });

      for (let round = 0; round < 2; round++) {
        await sleep(2_000);
        await restartUnder([readyz]);
        expectAlive(server);
      }
      await sleep(2_000);
      await producer.stop();
      await healthz.stop();
      await readyz.stop();
      console.info(`postgres restart: ${summary(producer, healthz)}`);
      expect(producer.refusals.length).toBeGreaterThan(0);
      await expectRodeThrough(server, { producer, healthz, receiver, agentId });
    } finally {
      await scope.close();
    }
  }, 240_000);

  it("pg_terminate_backend on the server's connections, idle and busy: no crash, 503 at most, nothing lost", async ({ onTestFinished }) => {
    const { scope, receiver, databaseUrl, agentId } = await setUp(onTestFinished);
    try {
      const server = await spawnServer(scope, databaseUrl, "only");
      const healthz = new Probe(`${server.url}/healthz`, 100);
      const producer = new Producer(server.url, agentId, "terminate").start();
      scope.add(async () => {
        await producer.stop(1_000);
        await healthz.stop();
      });

      let terminated = 0;
      for (let round = 0; round < 5; round++) {
        await sleep(1_500);
        terminated += await terminateBackends(databaseUrl);
        expectAlive(server);
      }
      expect(terminated).toBeGreaterThan(0);
      await sleep(2_000);
      // Ready again without a restart: the pool dropped the dead connections and opened new ones.
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      await producer.stop();
      await healthz.stop();
      console.info(`postgres terminate (${terminated} sessions): ${summary(producer, healthz)}`);
      await expectRodeThrough(server, { producer, healthz, receiver, agentId });
    } finally {
      await scope.close();
    }
  }, 240_000);

  it("two server processes on one PostgreSQL both stay up through its restart and both deliver afterwards", async ({ onTestFinished }) => {
    const { scope, receiver, databaseUrl, agentId } = await setUp(onTestFinished);
    try {
      // Few slots each, so that neither process can take the whole queue.
      const first = await spawnServer(scope, databaseUrl, "first", 4);
      const second = await spawnServer(scope, databaseUrl, "second", 4);
      const readyz = [new Probe(`${first.url}/readyz`, 200), new Probe(`${second.url}/readyz`, 200)];
      const producer = new Producer(first.url, agentId, "two").start();
      const producer2 = new Producer(second.url, agentId, "two-b").start();
      scope.add(async () => {
        await Promise.all([producer.stop(1_000), producer2.stop(1_000), ...readyz.map((p) => p.stop())]);
      });

      await sleep(2_000);
      await restartUnder(readyz);
      expectAlive(first);
      expectAlive(second);
      await sleep(1_000);
      await Promise.all([producer.stop(), producer2.stop()]);
      await Promise.all(readyz.map((p) => p.stop()));
      const answers = [...producer.answers, ...producer2.answers];
      console.log(
        `two processes, postgres restart: ${producer.accepted.size + producer2.accepted.size} events accepted, ` +
          `${producer.refusals.length + producer2.refusals.length} refusals (503), slowest answer ${Math.round(Math.max(...answers.map((a) => a.ms)))} ms`,
      );

      // After the restart: a burst through each, delivered by both processes.
      const afterRestart = receiver.requests.length;
      await Promise.all([producer.burst(100, first.url), producer2.burst(100, second.url)]);
      expectRefusalsWellFormed(producer);
      expectRefusalsWellFormed(producer2);
      await expectAllDelivered(receiver, [...producer.accepted.values(), ...producer2.accepted.values()]);
      const deliverers = new Set(receiver.requests.slice(afterRestart).map((r) => r.headers["x-test-worker"]));
      expect(deliverers).toEqual(new Set(["first", "second"]));

      expectAlive(first);
      expectAlive(second);
      await Promise.all([stopWorker(first), stopWorker(second)]);
      expect([first.child.exitCode, second.child.exitCode]).toEqual([0, 0]);
    } finally {
      await scope.close();
    }
  }, 240_000);
});
