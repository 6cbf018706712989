// A server process SIGKILLed in the middle of a burst loses nothing: every event it accepted (202) is
// delivered at least once by the process started after it, which re-sends only the attempts that were in
// flight when it died. Real processes (worker-process.ts), SQLite file and PostgreSQL, side by side.
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { waitFor } from "./harness.js";
import {
  deliveryStatusCounts,
  eventIdOf,
  freshDatabaseUrl,
  inParallel,
  ingestOverHttp,
  Scope,
  seed,
  spawnWorker,
  stopWorker,
} from "./processes.js";
import { startReceiver } from "./receiver.js";

describe.concurrent.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  it("a worker SIGKILLed in the middle of a burst loses nothing: the next process delivers every accepted event", async ({ onTestFinished }) => {
    const EVENTS = 500;
    const ANSWERED = 150;
    const CONCURRENCY = 16;
    const scope = new Scope(onTestFinished);
    try {
      const receiver = await startReceiver();
      scope.add(() => receiver.close());
      // The first 150 deliveries are answered; then the receiver hangs, so the process dies with a full
      // set of attempts in flight and the rest of the burst not yet attempted.
      receiver.respond(...Array<number>(ANSWERED).fill(200), { never: true });
      const databaseUrl = await freshDatabaseUrl(scope, dialect);
      const { agentId, webhookId, token } = await seed(databaseUrl, receiver.url);

      // A 2 s lease (the default is 180 s) so that the second process may take over the killed one's claims soon.
      const first = await spawnWorker(scope, {
        DATABASE_URL: databaseUrl,
        WORKER_OWNER: "first",
        WORKER_LEASE_MS: "2000",
        WORKER_CONCURRENCY: String(CONCURRENCY),
      });
      const accepted = new Set<string>();
      await inParallel(EVENTS, 8, async (i) => void accepted.add(await ingestOverHttp(first.url, agentId, i)));
      expect(accepted.size).toBe(EVENTS);

      // Kill it once it has the receiver's hung attempts in flight and has recorded every answered one.
      await receiver.waitForRequests(ANSWERED + CONCURRENCY, 30_000);
      const answeredIds = new Set(receiver.requests.slice(0, ANSWERED).map((r) => String(r.headers["webhook-id"])));
      await waitFor(async () => (await deliveryStatusCounts(databaseUrl)).success === answeredIds.size, 15_000, "answered attempts recorded");
      first.child.kill("SIGKILL");
      await first.exited;
      const beforeKill = receiver.requests.length;
      // In flight and never answered: these deliveries are leased to a dead process.
      const killedInFlight = new Set(
        receiver.requests
          .slice(ANSWERED)
          .map((r) => String(r.headers["webhook-id"]))
          .filter((id) => !answeredIds.has(id)),
      );
      expect(killedInFlight.size).toBeGreaterThan(0);
      expect(receiver.countsById().size).toBeLessThan(EVENTS);

      receiver.respond(200);
      const second = await spawnWorker(scope, { DATABASE_URL: databaseUrl, WORKER_OWNER: "second", WORKER_LEASE_MS: "2000" });
      await waitFor(() => receiver.countsById().size === EVENTS, 60_000, `${EVENTS} distinct deliveries`);
      await waitFor(async () => (await deliveryStatusCounts(databaseUrl)).success === EVENTS, 15_000, "all deliveries recorded");

      // None lost: every accepted event arrived.
      expect(new Set(receiver.requests.map((r) => eventIdOf(r.body)))).toEqual(accepted);
      // At least once, and no more than that: of what the first process had sent, the second sends again
      // exactly the attempts that died in flight (once their leases expired), nothing that had succeeded.
      const seenBeforeKill = new Set(receiver.requests.slice(0, beforeKill).map((r) => String(r.headers["webhook-id"])));
      const afterKill = receiver.requests.slice(beforeKill);
      expect(afterKill.every((r) => r.headers["x-test-worker"] === "second")).toBe(true);
      const resent = new Set(afterKill.map((r) => String(r.headers["webhook-id"])).filter((id) => seenBeforeKill.has(id)));
      expect(resent).toEqual(killedInFlight);

      // The log agrees: one row per delivery (the killed attempt's row was completed by the second process).
      const logs = await fetch(`${second.url}/api/v1/agents/${agentId}/webhooks/${webhookId}/logs?per_page=1`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.json() as Promise<{ pagination: { total: number } }>);
      expect(logs.pagination.total).toBe(EVENTS);
      await stopWorker(second);
      expect(await deliveryStatusCounts(databaseUrl)).toEqual({ success: EVENTS });
    } finally {
      await scope.close();
    }
  }, 300_000);
});
