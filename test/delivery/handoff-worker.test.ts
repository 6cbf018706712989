// The worker's side of the handoff (worker.ts, "The handoff"): reservations count against `concurrency`
// with the sends under way, a worker that is not running reserves nothing, and stop() waits for a
// reservation made before it, sends what that transaction leased and records it. Real SQLite, real HTTP.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import { createSender } from "../../server/delivery/send.js";
import { DeliveryWorker } from "../../server/delivery/worker.js";
import { openDatabase, type Database } from "../../server/storage/db.js";
import { findLog } from "../../server/storage/logs.js";
import { recordEvents } from "../../server/storage/queue/record-events.js";
import { agentOwner } from "../../server/storage/owner.js";
import { waitFor } from "../engine/harness.js";
import { startReceiver, type Receiver } from "../engine/receiver.js";
import { payloadFor, seedWebhook } from "../storage/fixtures.js";

describe("the worker's handoff slots", () => {
  let database: Database;
  let receiver: Receiver;
  let worker: DeliveryWorker;
  const sender = createSender({ allowPrivateTargets: true });

  beforeEach(async () => {
    database = await openDatabase(":memory:");
    receiver = await startReceiver();
    worker = new DeliveryWorker({ database, sender, logger: createLogger("silent"), userAgent: "test", concurrency: 2, pollIntervalMs: 60_000 });
  });
  afterEach(async () => {
    await worker.stop();
    await receiver.close();
    await database.close();
  });

  async function record(webhookIds: string[], agentId: string, lease?: Parameters<typeof recordEvents>[2]) {
    // Due by the reservation's clock reading, as an event accepted before its batch's transaction is.
    const now = lease?.now ?? Date.now();
    const input = { source: agentOwner(agentId), event: "event_phone_call_ended", data: {}, occurredAt: now, webhookIds, buildPayload: payloadFor, now };
    return (await recordEvents(database, [input], lease))[0]!;
  }

  it("reserves only free slots, and only while running; stop() sends what a reservation made before it leased", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookUrl: receiver.url });
    expect(worker.reserve(5)).toBeUndefined(); // not started
    worker.start();
    await waitFor(() => worker.state === "polling", 5_000, "the worker idle");

    const reservation = worker.reserve(5)!;
    expect(reservation.lease).toMatchObject({ owner: worker.owner, limit: 2 });
    expect(worker.reserve(1)).toBeUndefined(); // both slots reserved

    receiver.respond({ status: 200, delayMs: 200 });
    const stopped = worker.stop();
    expect(worker.reserve(1)).toBeUndefined(); // stopping
    const recorded = await record([webhook.id], agent.id, reservation.lease);
    expect(recorded.handedOver).toHaveLength(1);
    reservation.handOver(recorded.handedOver);
    await stopped;

    expect(receiver.requests).toHaveLength(1);
    expect((await findLog(database, webhook.id, recorded.deliveries[0]!.logId))?.status).toBe("success");
  });

  it("a released reservation frees its slots; a handoff's leftover slots are freed too", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookUrl: receiver.url });
    worker.start();
    await waitFor(() => worker.state === "polling", 5_000, "the worker idle");
    worker.reserve(2)!.release();
    const reservation = worker.reserve(2)!;
    expect(reservation.lease.limit).toBe(2);

    receiver.respond({ status: 200, delayMs: 300 });
    const recorded = await record([webhook.id], agent.id, reservation.lease);
    reservation.handOver(recorded.handedOver);
    // One slot sends, the other is free again.
    const rest = worker.reserve(2);
    expect(rest?.lease.limit).toBe(1);
    rest?.release();
    await waitFor(async () => (await findLog(database, webhook.id, recorded.deliveries[0]!.logId))?.status === "success", 5_000, "delivered");
  });

  it("deliveries handed over cost no claim: a polling worker is not woken by their sends finishing", async () => {
    // Every claim is an UPDATE of deliveries setting a lease_owner; count them on a database of our own.
    let claims = 0;
    const counted = await openDatabase(":memory:", {
      log: (event) => {
        if (/^update "deliveries" set "lease_owner"/.test(event.query.sql)) claims++;
      },
    });
    const polling = new DeliveryWorker({ database: counted, sender, logger: createLogger("silent"), userAgent: "test", concurrency: 4, pollIntervalMs: 60_000 });
    try {
      const { agent, webhook } = await seedWebhook(counted, { webhookUrl: receiver.url });
      polling.start();
      await waitFor(() => polling.state === "polling", 5_000, "the worker idle");
      const before = claims;
      for (let i = 0; i < 5; i++) {
        const reservation = polling.reserve(1)!;
        const now = reservation.lease.now;
        const input = { source: agentOwner(agent.id), event: "event_phone_call_ended", data: {}, occurredAt: now, webhookIds: [webhook.id], buildPayload: payloadFor, now };
        const [recorded] = await recordEvents(counted, [input], reservation.lease);
        reservation.handOver(recorded!.handedOver);
        await waitFor(async () => (await findLog(counted, webhook.id, recorded!.deliveries[0]!.logId))?.status === "success", 5_000, "delivered");
      }
      expect(receiver.requests).toHaveLength(5);
      expect(polling.state).toBe("polling");
      expect(claims - before).toBe(0);
    } finally {
      await polling.stop();
      await counted.close();
    }
  });
});
