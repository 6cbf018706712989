// The intake's handoff (worker.ts, "The handoff"), over real HTTP on both databases: a delivery accepted by
// a process that runs a worker is leased to that worker in the intake's transaction and sent without a
// claim; a burst larger than the free slots hands over as many as there are free slots and leaves the rest
// to claims, never more than `concurrency` attempts at once. Claims and handoffs are counted by
// talkover_delivery_attempts_started_total{via} (GET /metrics), not by timing. The worker polls once a
// minute here: no claim is under way when an event arrives, so what is handed over is exactly the free slots.
import { describe, expect, it } from "vitest";
import type { Dialect } from "../../server/storage/db.js";
import { parseExposition, sampleValue } from "../support/prometheus.js";
import { SERVICE_TOKEN } from "../support/server.js";
import { engineTests, waitFor, type EngineTestServer } from "./harness.js";
import type { Receiver } from "./receiver.js";

const CONCURRENCY = 4;
const LEASE_MS = 30_000;

async function started(url: string): Promise<{ claim: number; handoff: number }> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${SERVICE_TOKEN}` } });
  const families = parseExposition(await response.text());
  const via = (name: string) => sampleValue(families, "talkover_delivery_attempts_started_total", { via: name }) ?? NaN;
  return { claim: via("claim"), handoff: via("handoff") };
}

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  let t: EngineTestServer;
  let receiver: Receiver;
  engineTests(
    dialect,
    async (server, newReceiver) => {
      t = server;
      receiver = await newReceiver();
      await waitFor(() => t.server.engine.worker?.state === "polling", 10_000, "the worker idle");
    },
    { config: { workerConcurrency: CONCURRENCY }, engine: { worker: { pollIntervalMs: 60_000, leaseMs: LEASE_MS } } },
  );

  const deliveryRows = () =>
    t.server.database.db.selectFrom("deliveries").select(["id", "lease_owner", "lease_expires_at", "next_attempt_at", "created_at"]).execute();

  it("an accepted delivery is leased to this process's worker in the intake's transaction and sent without a claim", async () => {
    receiver.respond({ status: 200, delayMs: 300 });
    const webhook = await t.createWebhook({ webhook_url: receiver.url });
    expect(await t.ingest()).toMatchObject({ deliveries_queued: 1 });

    // Answered 202: the row is already leased to this worker, as a claim would lease it.
    const [row] = await deliveryRows();
    expect(row!.lease_owner).toBe(t.server.engine.worker!.owner);
    expect(Number(row!.next_attempt_at)).toBe(Number(row!.lease_expires_at));
    const leaseMs = Number(row!.lease_expires_at) - Number(row!.created_at);
    expect(leaseMs).toBeGreaterThanOrEqual(LEASE_MS);
    expect(leaseMs).toBeLessThan(LEASE_MS + 5_000);

    const [log] = await t.settledLogs(webhook.id, 1);
    expect(log).toMatchObject({ attempt: 1, status: "success", http_status: 200 });
    expect(receiver.requests).toHaveLength(1);
    expect(await started(t.url)).toEqual({ claim: 0, handoff: 1 });
  });

  it("a burst larger than the free slots: the free slots' worth is handed over, the rest is claimed, never over the limit", async () => {
    const WEBHOOKS = 10;
    receiver.respond({ status: 200, delayMs: 200 });
    for (let i = 0; i < WEBHOOKS; i++) await t.createWebhook({ name: `burst ${i}`, webhook_url: receiver.url });
    // One event, ten deliveries, one transaction, four free slots.
    expect(await t.ingest()).toMatchObject({ deliveries_queued: WEBHOOKS });
    const rows = await deliveryRows();
    expect(rows.filter((r) => r.lease_owner === t.server.engine.worker!.owner)).toHaveLength(CONCURRENCY);
    expect(rows.filter((r) => r.lease_owner === null)).toHaveLength(WEBHOOKS - CONCURRENCY);

    await waitFor(() => receiver.countsById().size === WEBHOOKS, 15_000, `${WEBHOOKS} deliveries`);
    await waitFor(async () => (await started(t.url)).claim === WEBHOOKS - CONCURRENCY, 10_000, "the rest claimed");
    expect(await started(t.url)).toEqual({ claim: WEBHOOKS - CONCURRENCY, handoff: CONCURRENCY });
    expect(receiver.maxOpen).toBeLessThanOrEqual(CONCURRENCY);
    expect([...receiver.countsById().values()].every((n) => n === 1)).toBe(true);
  });

  it("a worker with every slot busy is handed nothing: the delivery waits in the table, unleased, for a claim", async () => {
    receiver.respond({ status: 200, delayMs: 500 });
    for (let i = 0; i < CONCURRENCY; i++) await t.createWebhook({ name: `busy ${i}`, webhook_url: receiver.url });
    expect(await t.ingest()).toMatchObject({ deliveries_queued: CONCURRENCY });
    expect(await t.ingest()).toMatchObject({ deliveries_queued: CONCURRENCY });
    const rows = await deliveryRows();
    expect(rows.filter((r) => r.lease_owner !== null)).toHaveLength(CONCURRENCY);
    await waitFor(() => receiver.countsById().size === 2 * CONCURRENCY, 15_000, "every delivery");
    await waitFor(async () => (await started(t.url)).claim === CONCURRENCY, 10_000, "the second event's claimed");
    expect(await started(t.url)).toEqual({ claim: CONCURRENCY, handoff: CONCURRENCY });
    expect(receiver.maxOpen).toBeLessThanOrEqual(CONCURRENCY);
  });
});
