// Group commit for the intake: events that arrive while a transaction is being written wait for the next
// one, and go in together. Alone, an event is written at once (the next turn of the event loop); under
// load, one transaction carries many, so the intake keeps up without a transaction per event. A failed
// write is every caller's error (nothing of the batch was written); each may retry.
//
// Each event answers within the request bound (the budget: server/storage/deadline.ts): one that has
// waited INTAKE_MAX_QUEUE_MS since its request arrived when its batch starts is answered 503 without being written, and a batch's
// database work stops REQUEST_BUDGET_MS after its earliest event's request arrived. So an event never waits for
// more than one write before its own, nor for that write's whole timeouts (a batch that waits for a
// connection no longer holds the next batch's events past their bound).
//
// With a worker in this process, each batch's deliveries are handed over to it (worker.ts, "The handoff"):
// free slots reserved before the transaction, deliveries leased in it, sent right after the commit.
import { currentDeadline, INTAKE_MAX_QUEUE_MS, REQUEST_BUDGET_MS, runBefore } from "../storage/deadline.js";
import type { Database } from "../storage/db.js";
import { recordEvents, type RecordEventInput, type RecordedEvent } from "../storage/queue/record-events.js";
import { DatabaseUnavailableError } from "../storage/unavailable.js";
import { GroupCommit } from "./group-commit.js";
import type { DeliveryWorker } from "./worker.js";

/** Events per transaction at most: bounds a transaction's length and the wait of the first event in it. */
const MAX_BATCH = 200;

export class IntakeBatcher {
  private readonly commit: GroupCommit<RecordEventInput, RecordedEvent>;

  constructor(database: Database, worker?: Pick<DeliveryWorker, "reserve">) {
    const write = async (inputs: RecordEventInput[]): Promise<RecordedEvent[]> => {
      // At most one slot per delivery the batch can queue (webhooks found inactive in the transaction queue none).
      const reservation = worker?.reserve(inputs.reduce((n, input) => n + new Set(input.webhookIds).size, 0));
      try {
        const recorded = await recordEvents(database, inputs, reservation?.lease);
        reservation?.handOver(recorded.flatMap((r) => r.handedOver));
        return recorded;
      } finally {
        reservation?.release();
      }
    };
    this.commit = new GroupCommit({
      // The write runs bound by its deadline, whatever request's context started the group commit.
      write: (inputs, deadline) => runBefore(deadline ?? Infinity, () => write(inputs)),
      maxBatch: MAX_BATCH,
      deadline: {
        maxQueueMs: INTAKE_MAX_QUEUE_MS,
        budgetMs: REQUEST_BUDGET_MS,
        expired: (waitedMs) =>
          new DatabaseUnavailableError(`The event waited ${Math.round(waitedMs)} ms for the database and was not recorded`),
      },
    });
  }

  record(input: RecordEventInput): Promise<RecordedEvent> {
    // The wait counts from the request's arrival (its deadline less the budget), not from here: the
    // request may already have waited for the database (authentication, the agent's webhooks).
    const deadline = currentDeadline();
    return this.commit.add(input, deadline === undefined ? undefined : deadline - REQUEST_BUDGET_MS);
  }
}
