// Fault injection on SQLite: while another connection holds the file's write lock (BEGIN EXCLUSIVE, as a
// backup, the sqlite3 shell or a migration from a second process does) for 8 seconds, the server (a
// child process, so a crash or a freeze is seen as one) keeps its event loop: /healthz stays 200 and
// fast, writes get a documented 503 with Retry-After within 5 s, /readyz is 503 during the lock and 200
// within 5 s after it, and every event the intake accepted is delivered once the lock is gone.
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createTalkoverClient } from "../../client/index.js";
import { freshDatabaseUrl, Scope, seed, spawnWorker } from "../engine/processes.js";
import { startReceiver } from "../engine/receiver.js";
import { expectRodeThrough, Probe, Producer, RECOVERY_BOUND_MS, sleep, summary } from "./harness.js";

const LOCK_HELD_MS = 8_000;

describe("sqlite: another connection holds the write lock", () => {
  it("the process neither freezes nor crashes: 503 with Retry-After during the lock, nothing lost after it", async ({ onTestFinished }) => {
    const scope = new Scope(onTestFinished);
    try {
      const receiver = await startReceiver();
      scope.add(() => receiver.close());
      const file = await freshDatabaseUrl(scope, "sqlite");
      const { agentId, webhookId, token } = await seed(file, receiver.url);
      const server = await spawnWorker(scope, { DATABASE_URL: file, WORKER_LEASE_MS: "3000", WORKER_CONCURRENCY: "16" });

      const healthz = new Probe(`${server.url}/healthz`, 50);
      const readyz = new Probe(`${server.url}/readyz`, 200);
      const producer = new Producer(server.url, agentId, "sqlite-lock").start();
      scope.add(async () => {
        await producer.stop(1_000);
        await healthz.stop();
        await readyz.stop();
      });
      await sleep(2_000);

      // The lock, from this process: a connection of its own on the same file.
      const other = new BetterSqlite3(file);
      scope.add(async () => other.close());
      other.pragma("busy_timeout = 10000"); // wait for the server's transaction under way, if any
      other.exec("BEGIN EXCLUSIVE");
      const lockedAt = Date.now();
      await readyz.waitFor(503, lockedAt, 10_000);
      // An integrator's write during the lock, through the client's opt-in 503 retries: refused, then done.
      const statuses: number[] = [];
      const client = createTalkoverClient({
        baseUrl: server.url,
        token,
        retryOn503: { maxRetries: 10 },
        fetch: async (request) => {
          const response = await fetch(request);
          statuses.push(response.status);
          return response;
        },
      });
      const renamed = client.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
        params: { path: { agent_id: agentId, webhook_id: webhookId } },
        body: { name: "Renamed during the lock" },
      });
      await sleep(LOCK_HELD_MS - (Date.now() - lockedAt));
      other.exec("COMMIT");
      const releasedAt = Date.now();

      const ready = await readyz.waitFor(200, releasedAt, 15_000);
      const { data: webhook, response: renameAnswer } = await renamed;
      expect(renameAnswer.status, `the client's statuses: ${statuses.join(", ")}`).toBe(200);
      expect(statuses[0], "the first try met the lock").toBe(503);
      expect(webhook?.data.name).toBe("Renamed during the lock");
      expect(ready.at - releasedAt, "/readyz back to 200 after the lock").toBeLessThan(RECOVERY_BOUND_MS);
      await sleep(2_000);
      await producer.stop();
      await healthz.stop();
      await readyz.stop();

      console.info(`sqlite lock: ${summary(producer, healthz)}; /readyz 200 ${ready.at - releasedAt} ms after the lock`);
      // The lock was felt: the intake refused while it was held, and /healthz answered all along.
      expect(producer.refusals.length).toBeGreaterThan(0);
      // Answered in every quarter of the lock: a loop frozen by the lock would answer none until its end.
      const quarter = (releasedAt - lockedAt) / 4;
      const answeredIn = [0, 1, 2, 3].map((q) => healthz.results.filter((r) => r.status === 200 && r.at >= lockedAt + q * quarter && r.at < lockedAt + (q + 1) * quarter).length);
      expect(answeredIn.every((n) => n > 0), `/healthz answers per quarter of the lock: ${answeredIn.join(", ")}`).toBe(true);
      await expectRodeThrough(server, { producer, healthz, receiver, agentId });
    } finally {
      await scope.close();
    }
  }, 180_000);
});
