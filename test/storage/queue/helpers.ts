// The set-up of the tests of test/storage/queue/: a fresh database per test, and shortcuts over the queue's
// operations bound to it.
import { afterEach, beforeEach } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { claimDueDeliveries, type ClaimedDelivery } from "../../../server/storage/queue/claim.js";
import type { AttemptOutcome } from "../../../server/storage/queue/record-attempts.js";
import { recordEvent } from "../../../server/storage/queue/record-events.js";
import type { Backend } from "../../support/databases.js";
import { T0, payloadFor } from "../fixtures.js";
import { agentOwner, type Owner } from "../../../server/storage/owner.js";

export const LEASE = 30_000;

/** Opens a database of `backend` before each test of the block (handed to `opened`) and closes it after. */
export function queueTests(backend: Backend, opened: (database: Database) => void) {
  let current: Database;
  beforeEach(async () => {
    current = await backend.open();
    opened(current);
  });
  afterEach(() => current.close());
  const database = () => current;

  function emit(agentId: string, webhookIds: string[], options: { now?: number; idempotencyKey?: string } = {}) {
    return emitFrom(agentOwner(agentId), webhookIds, options);
  }

  /** An event of any source; `campaignId` is the campaign of an agent's call. */
  function emitFrom(source: Owner, webhookIds: string[], options: { now?: number; idempotencyKey?: string; campaignId?: string } = {}) {
    const now = options.now ?? T0;
    return recordEvent(database(), {
      source,
      campaignId: options.campaignId,
      event: "event_phone_call_ended",
      data: { call_id: "call-uuid", duration: 45 },
      occurredAt: now - 5,
      idempotencyKey: options.idempotencyKey,
      webhookIds,
      buildPayload: payloadFor,
      now,
    });
  }

  function claim(owner: string, now: number, limit = 100) {
    return claimDueDeliveries(database(), { owner, limit, leaseMs: LEASE, now });
  }

  function outcome(d: ClaimedDelivery, status: AttemptOutcome["status"], extra: Partial<AttemptOutcome> = {}): AttemptOutcome {
    const failed = status !== "success";
    return {
      deliveryId: d.deliveryId,
      logId: d.logId,
      webhookId: d.webhookId,
      status,
      httpStatus: failed ? 500 : 200,
      responseBody: failed ? "Internal Server Error" : '{"received":true}',
      responseHeaders: { "content-type": "application/json" },
      error: failed ? "HTTP 500 Internal Server Error" : null,
      durationMs: 142,
      deliveredAt: failed ? null : T0 + 142,
      ...extra,
    };
  }

  async function deliveryRow(id: string) {
    return database().db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  }

  return { emit, emitFrom, claim, outcome, deliveryRow };
}
