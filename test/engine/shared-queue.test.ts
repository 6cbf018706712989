// Two worker processes on one PostgreSQL database share its queue: 2,000 events, each delivered exactly
// once (counted by webhook-id at the receiver), none missing, both processes taking part. PostgreSQL only:
// SQLite is the one-process backend.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../server/config.js";
import { WebhookCache } from "../../server/delivery/webhook-cache.js";
import { createDeliveryEngine } from "../../server/delivery/engine.js";
import { createLogger } from "../../server/logger.js";
import { openDatabase } from "../../server/storage/db.js";
import { waitFor } from "./harness.js";
import { burstEvent, deliveryStatusCounts, eventIdOf, freshDatabaseUrl, inParallel, Scope, seed, spawnWorker, stopWorker } from "./processes.js";
import { startReceiver } from "./receiver.js";

describe("postgres", () => {
  it("two worker processes on one PostgreSQL database deliver 2,000 events once each, none missing", async ({ onTestFinished }) => {
    const EVENTS = 2_000;
    const scope = new Scope(onTestFinished);
    try {
      const receiver = await startReceiver();
      scope.add(() => receiver.close());
      const databaseUrl = await freshDatabaseUrl(scope, "postgres");
      const { all } = await seed(databaseUrl, receiver.url, 2);
      const workers = await Promise.all([
        spawnWorker(scope, { DATABASE_URL: databaseUrl, WORKER_OWNER: "alpha" }),
        spawnWorker(scope, { DATABASE_URL: databaseUrl, WORKER_OWNER: "beta" }),
      ]);

      // Intake from a third party while both workers run (as `talkover-webhooks emit` does: the engine
      // without a worker), so the workers find the events by polling and race for them.
      const intake = await openDatabase(databaseUrl, { migrate: false, maxConnections: 8 });
      const engine = createDeliveryEngine({
        database: intake,
        cache: new WebhookCache(intake),
        config: { ...DEFAULT_CONFIG, worker: false },
        logger: createLogger("silent"),
      });
      const accepted = new Set<string>();
      try {
        await inParallel(EVENTS, 8, async (i) => {
          const result = await engine.ingestEvent({ agentId: all[i % all.length]!.agentId, ...burstEvent(i) });
          expect(result.deliveriesQueued).toBe(1);
          accepted.add(result.eventId);
        });
      } finally {
        await engine.stop();
        await intake.close();
      }
      expect(accepted.size).toBe(EVENTS);

      await waitFor(() => receiver.countsById().size === EVENTS, 60_000, `${EVENTS} distinct deliveries`);
      await waitFor(async () => (await deliveryStatusCounts(databaseUrl)).success === EVENTS, 15_000, "all deliveries recorded");
      // SIGTERM lets each finish and record what it has under way: nothing more may arrive after this.
      await Promise.all(workers.map(stopWorker));

      const counts = receiver.countsById();
      expect(counts.size).toBe(EVENTS);
      expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
      expect(receiver.requests).toHaveLength(EVENTS);
      expect(new Set(receiver.requests.map((r) => eventIdOf(r.body)))).toEqual(accepted);
      // Both processes took part.
      const byWorker = new Map<string, number>();
      for (const r of receiver.requests) {
        const owner = String(r.headers["x-test-worker"]);
        byWorker.set(owner, (byWorker.get(owner) ?? 0) + 1);
      }
      expect([...byWorker.keys()].sort()).toEqual(["alpha", "beta"]);
      expect(await deliveryStatusCounts(databaseUrl)).toEqual({ success: EVENTS });
    } finally {
      await scope.close();
    }
  }, 300_000);
});
