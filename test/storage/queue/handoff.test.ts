// The intake's handoff at the storage level (record-events.ts, HandoffLease): the deliveries handed over
// are written leased as a claim would lease them and come back ready to send; the others stay unleased
// for a claim; a delivery due after the handoff's `now` is never leased; a handed-over delivery that is
// never sent (its process died) is claimed by any worker once the lease has run out.
import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { recordEvents, type HandoffLease, type RecordEventInput } from "../../../server/storage/queue/record-events.js";
import { agentOwner } from "../../../server/storage/owner.js";
import { addWebhooks, payloadFor, seedWebhook, T0 } from "../fixtures.js";
import { backends } from "../../support/databases.js";
import { LEASE, queueTests } from "./helpers.js";

describe.each(backends)("the intake's handoff on $name", (backend) => {
  let database: Database;
  const { claim, deliveryRow } = queueTests(backend, (opened) => (database = opened));

  const input = (agentId: string, webhookIds: string[], now = T0): RecordEventInput => ({
    source: agentOwner(agentId),
    event: "event_phone_call_ended",
    data: { call_id: "call-uuid" },
    occurredAt: now,
    webhookIds,
    buildPayload: payloadFor,
    now,
  });
  const lease = (limit: number, now = T0): HandoffLease => ({ owner: "intake-worker", now, leaseMs: LEASE, limit });

  it("leases up to `limit` deliveries as a claim would, returns them ready to send, and leaves the rest to a claim", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const others = await addWebhooks(database, agent.id, 4);
    const ids = [webhook.id, ...others.map((w) => w.id)];
    const [recorded] = await recordEvents(database, [input(agent.id, ids)], lease(2));
    expect(recorded!.deliveriesQueued).toBe(5);
    expect(recorded!.handedOver).toHaveLength(2);

    for (const handed of recorded!.handedOver) {
      const ids = recorded!.deliveries.find((d) => d.deliveryId === handed.deliveryId)!;
      expect(handed).toMatchObject({ ...ids, event: "event_phone_call_ended", attempt: 1, payload: payloadFor(ids), leaseExpiresAt: T0 + LEASE });
      expect(await deliveryRow(handed.deliveryId)).toMatchObject({
        status: "pending",
        lease_owner: "intake-worker",
        lease_expires_at: T0 + LEASE,
        next_attempt_at: T0 + LEASE,
      });
    }
    const claimed = await claim("other-worker", T0);
    expect(claimed.map((c) => c.deliveryId).sort()).toEqual(
      recorded!.deliveries.map((d) => d.deliveryId).filter((id) => !recorded!.handedOver.some((h) => h.deliveryId === id)).sort(),
    );
  });

  it("a handed-over delivery carries what a claim at the same moment reads: the webhook as it is in the transaction", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const [handed] = (await recordEvents(database, [input(agent.id, [webhook.id])], lease(1)))[0]!.handedOver;
    await recordEvents(database, [input(agent.id, [webhook.id])]);
    const [claimed] = await claim("other-worker", T0);
    const own = ({ deliveryId, eventId, logId, payload, ...rest }: NonNullable<typeof handed>) => rest;
    expect(own(handed!)).toEqual(own(claimed!));
  });

  it("a handed-over delivery never sent is claimed by another worker once its lease has run out, and only then", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const [recorded] = await recordEvents(database, [input(agent.id, [webhook.id])], lease(10));
    expect(recorded!.handedOver).toHaveLength(1);
    expect(await claim("other-worker", T0 + LEASE - 1)).toEqual([]);
    const [taken] = await claim("other-worker", T0 + LEASE);
    expect(taken).toMatchObject({ deliveryId: recorded!.handedOver[0]!.deliveryId, attempt: 1, logId: recorded!.handedOver[0]!.logId });
  });

  it("never leases a delivery due after the handoff's now; a limit of 0 leases none", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const [later, now] = await recordEvents(database, [input(agent.id, [webhook.id], T0 + 1), input(agent.id, [webhook.id], T0)], lease(10));
    expect(later!.handedOver).toEqual([]);
    expect(now!.handedOver).toHaveLength(1);
    expect(await deliveryRow(later!.deliveries[0]!.deliveryId)).toMatchObject({ lease_owner: null, lease_expires_at: null, next_attempt_at: T0 + 1 });

    const [none] = await recordEvents(database, [input(agent.id, [webhook.id])], lease(0));
    expect(none!.handedOver).toEqual([]);
    expect(await deliveryRow(none!.deliveries[0]!.deliveryId)).toMatchObject({ lease_owner: null, next_attempt_at: T0 });
  });
});
