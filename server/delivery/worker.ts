// The delivery worker: a loop over the deliveries table. It claims due deliveries in batches under a
// lease, sends them concurrently, and records their outcomes in batches; the next attempt is scheduled in
// the same transaction that records the last. State lives in the database: a worker that dies loses
// nothing, its leases expire and another worker (or its restart) sends the deliveries again.
//
// The claim loop's states (`worker.state`):
//
//   idle ─start()─▶ claiming ─┬─ got a full batch, or notified meanwhile ────────────────▶ claiming
//                             ├─ got less: nothing more is due ─▶ polling ─ pollInterval or notify() ─▶ claiming
//                             ├─ the claim failed ─▶ backingOff ─ pollInterval … 5 s, or notify() ─▶ claiming
//                             ├─ every slot busy ─▶ full ─ a send finishes, a reservation is released
//                             │                            (or pollInterval) ─▶ claiming
//                             └─ sends under way, fewer than half the slots free, the last claim
//                                under MIN_CLAIM_GAP_MS ago ─▶ gathering ─ the gap is over ─▶ claiming
//   any ─stop()─▶ stopping: no more claims nor reservations; the handoffs reserved before are sent, the
//                 sends under way finish and their outcomes are written ─▶ stopped
//
// "gathering" is what makes claims come in batches while sends are under way (refill at half the slots or
// after MIN_CLAIM_GAP_MS): a claim per finished send would cost a transaction per delivery.
//
// The handoff, beside the loop and in any of its states but idle and stopping: this process's intake
// reserve()s free slots before the transaction that records a batch of events, writes up to that many of
// its deliveries leased to this worker (record-events.ts), and after the commit hands them over; they are
// sent at once, with no claim and no wake-up. Slots are counted as busy = sends + reservations + the limit
// of a claim under way, so that claims and handoffs together never exceed `concurrency`; a delivery is
// never leased to wait in memory (its lease could run out before its send), and deliveries beyond the free
// slots stay unleased in the table for a claim (the intake then notify()s). A reservation whose transaction
// failed is released (nothing was leased). A delivery due later than the reservation's `now` is never
// handed over.
//
// Outcomes go through their own group commit, whatever the loop's state: outcomes that finish while a
// write is under way go in the next write together. A write that fails (the database went away) is
// retried with backoff while the deliveries' leases hold; after that they are due again anyway and are
// sent again when the database is back (at-least-once), so the outcomes are dropped with a warning.
import { DEFAULT_CONFIG } from "../config.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/registry.js";
import type { Database } from "../storage/db.js";
import { newId } from "../storage/ids.js";
import { claimDueDeliveries, type ClaimedDelivery } from "../storage/queue/claim.js";
import type { HandoffLease } from "../storage/queue/record-events.js";
import { recordAttempts, type AttemptOutcome } from "../storage/queue/record-attempts.js";
import { GroupCommit } from "./group-commit.js";
import { attemptOutcome } from "./outcome.js";
import { Outage } from "./outage.js";
import type { Sender } from "./send.js";
import { deliveryHeaders } from "./sign.js";
import { withDeliveryOptions } from "./options.js";
import { pause, Wakeup } from "./wakeup.js";

export interface WorkerOptions {
  database: Database;
  sender: Sender;
  logger: Logger;
  userAgent: string;
  /** Deliveries in flight at once in this process. */
  concurrency: number;
  /** Deliveries claimed, and outcomes recorded, per transaction. */
  batchSize?: number;
  /** How long a claim holds: longer than the longest attempt (120 s timeout), or deliveries are sent twice. */
  leaseMs?: number;
  /** How often an idle worker looks for due deliveries (retries, other processes' events). */
  pollIntervalMs?: number;
  owner?: string;
  now?: () => number;
  random?: () => number;
  /** Counts each recorded outcome (talkover_deliveries_total, talkover_delivery_attempt_duration_seconds). */
  metrics?: Metrics;
}

export type WorkerState = "idle" | "claiming" | "polling" | "backingOff" | "full" | "gathering" | "stopping" | "stopped";

const DEFAULTS = { batchSize: 100, leaseMs: DEFAULT_CONFIG.workerLeaseMs, pollIntervalMs: DEFAULT_CONFIG.workerPollIntervalMs };
/** Outcomes wait at most this long for a fuller batch before they are written. */
const FLUSH_DELAY_MS = 5;
/** See "gathering" above. */
const MIN_CLAIM_GAP_MS = 3;

/** Free slots set aside for an intake transaction's deliveries: see "The handoff" above. */
export interface Reservation {
  /** What the transaction leases with: this worker as owner, its clock, its lease, `limit` = the slots. */
  readonly lease: HandoffLease;
  /** After the commit: sends the deliveries leased under `lease` at once, and frees the slots left over. */
  handOver(deliveries: readonly ClaimedDelivery[]): void;
  /** Frees the slots (the transaction failed: nothing was leased). Once handed over, does nothing. */
  release(): void;
}

interface PendingOutcome {
  outcome: AttemptOutcome;
  /** Past this, retrying the write is pointless: the delivery is due again and will be sent again. */
  leaseExpiresAt: number;
}

export class DeliveryWorker {
  readonly owner: string;
  private readonly options: Required<Omit<WorkerOptions, "owner" | "metrics">>;
  private readonly metrics: Metrics | undefined;
  private current: WorkerState = "idle";
  private loopDone: Promise<void> = Promise.resolve();
  private readonly sends = new Set<Promise<void>>();
  private lastClaimAt = 0;
  /** Slots reserved by handoffs not yet handed over, and the limit of the claim under way (see the header). */
  private reserved = 0;
  private claimLimit = 0;
  /** Reservations not yet handed over or released: stop() waits for them. */
  private readonly reservations = new Set<Promise<void>>();
  /** Wakes the claim loop: notify() signals, a freed slot nudges a loop that is `full` (slotFreed). */
  private readonly wakeup = new Wakeup();
  /** Wakes the outcome writer's backoff at stop(). */
  private readonly writerWakeup = new Wakeup();
  private readonly outcomes: GroupCommit<PendingOutcome>;
  private readonly claimOutage: Outage;
  private readonly writeOutage: Outage;

  constructor(options: WorkerOptions) {
    this.owner = options.owner ?? `worker-${newId()}`;
    this.options = { now: Date.now, random: Math.random, ...DEFAULTS, ...stripUndefined(options) } as Required<Omit<WorkerOptions, "owner" | "metrics">>;
    this.metrics = options.metrics;
    const { logger, pollIntervalMs, now, random, batchSize } = this.options;
    const backoff = { logger, minDelayMs: pollIntervalMs, now, random };
    this.claimOutage = new Outage({ ...backoff, what: "claiming deliveries" });
    this.writeOutage = new Outage({ ...backoff, what: "recording outcomes" });
    this.outcomes = new GroupCommit({ write: (batch) => this.writeOutcomes(batch), maxBatch: batchSize, delayMs: FLUSH_DELAY_MS });
  }

  get state(): WorkerState {
    return this.current;
  }

  start(): void {
    if (this.current !== "idle") return;
    this.current = "claiming";
    // The loop handles database errors itself; this catch is for a bug there, which must not end the process.
    this.loopDone = this.loop().catch((err) => {
      this.options.logger.error({ err: (err as Error).message }, "the delivery worker's loop stopped");
    });
  }

  /** Something became due (an event was accepted, a retry queued): look now rather than at the next poll. */
  notify(): void {
    this.wakeup.signal();
  }

  /**
   * Sets aside up to `max` free slots for deliveries an intake transaction is about to record (see "The
   * handoff" above); undefined when none is free, or the worker is not running.
   */
  reserve(max: number): Reservation | undefined {
    if (this.current === "idle" || this.stopping) return undefined;
    const free = this.options.concurrency - this.sends.size - this.reserved - this.claimLimit;
    const slots = Math.min(max, free);
    if (slots <= 0) return undefined;
    this.reserved += slots;
    let open = true;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.reservations.add(settled);
    const close = (used: number) => {
      if (!open) return false;
      if (used > slots) throw new Error(`handoff: ${used} deliveries for ${slots} reserved slots`);
      open = false;
      this.reserved -= slots;
      this.reservations.delete(settled);
      settle();
      return true;
    };
    return {
      lease: { owner: this.owner, now: this.options.now(), leaseMs: this.options.leaseMs, limit: slots },
      handOver: (deliveries) => {
        if (!close(deliveries.length)) return;
        for (const delivery of deliveries) this.dispatch(delivery, "handoff");
        if (deliveries.length < slots) this.slotFreed();
      },
      release: () => {
        if (close(0)) this.slotFreed();
      },
    };
  }

  /** Stops claiming, lets the attempts under way finish (each bounded by its timeout), records them. */
  async stop(): Promise<void> {
    if (this.current === "stopped") return;
    this.current = "stopping";
    this.wakeup.signal();
    this.writerWakeup.signal();
    await this.loopDone;
    // Deliveries already leased to this worker by a transaction under way are sent, not left to their lease.
    await Promise.all(this.reservations);
    await Promise.all(this.sends);
    await this.outcomes.drain();
    this.current = "stopped";
  }

  private get stopping(): boolean {
    return this.current === "stopping" || this.current === "stopped";
  }

  private async loop(): Promise<void> {
    const { database, batchSize, leaseMs, pollIntervalMs, concurrency, now } = this.options;
    const refillAt = Math.min(batchSize, Math.ceil(concurrency / 2));
    while (!this.stopping) {
      const inFlight = this.sends.size + this.reserved;
      const free = concurrency - inFlight;
      const sinceClaim = performance.now() - this.lastClaimAt;
      if (free <= 0) {
        await this.wait("full", () => this.wakeup.sleep(pollIntervalMs)); // a finished send nudges
        continue;
      }
      if (inFlight > 0 && free < refillAt && sinceClaim < MIN_CLAIM_GAP_MS) {
        // Neither a notify() nor a finished send cuts this short: a signal waits for the claim.
        await this.wait("gathering", () => pause(MIN_CLAIM_GAP_MS - sinceClaim));
        continue;
      }
      const limit = Math.min(batchSize, free);
      this.current = "claiming";
      this.wakeup.take();
      this.lastClaimAt = performance.now();
      let claimed: ClaimedDelivery[];
      this.claimLimit = limit;
      try {
        claimed = await claimDueDeliveries(database, { owner: this.owner, limit, leaseMs, now: now() });
        this.claimOutage.succeeded();
      } catch (err) {
        this.claimLimit = 0;
        const delay = this.claimOutage.failed(err);
        await this.wait("backingOff", () => this.wakeup.sleep(delay));
        continue;
      }
      this.claimLimit = 0;
      for (const delivery of claimed) this.dispatch(delivery, "claim");
      if (claimed.length < limit) await this.wait("polling", () => this.wakeup.sleep(pollIntervalMs));
    }
  }

  /**
   * A slot came free (a send finished, a reservation was released or not used up): news only to a loop
   * that waits for a slot. A polling loop found nothing due, and a backing-off one waits for the
   * database: a free slot changes neither, so they are not woken (a claim per finished send would be an
   * empty write transaction per delivery handed over).
   */
  private slotFreed(): void {
    if (this.current === "full") this.wakeup.nudge();
  }

  private async wait(state: WorkerState, sleep: () => Promise<void>): Promise<void> {
    if (this.stopping) return;
    this.current = state;
    await sleep();
  }

  private dispatch(delivery: ClaimedDelivery, via: "claim" | "handoff"): void {
    const { sender, userAgent, now, random, logger } = this.options;
    this.metrics?.attemptStarted(via);
    const send = (async () => {
      let outcome: AttemptOutcome;
      try {
        const headers = withDeliveryOptions(
          deliveryHeaders({
            deliveryId: delivery.deliveryId,
            timestamp: Math.floor(now() / 1000),
            body: delivery.payload,
            secrets: delivery.webhookSecrets,
            userAgent,
          }),
          delivery,
        );
        const result = await sender.send({
          url: delivery.webhookUrl,
          body: delivery.payload,
          headers,
          timeoutMs: delivery.timeout * 1000,
          method: delivery.httpMethod,
        });
        outcome = attemptOutcome(delivery, result, now(), random);
      } catch (err) {
        // Only a bug or an unusable secret gets here (send() never rejects): the attempt fails, retried as usual.
        logger.error({ deliveryId: delivery.deliveryId, err: (err as Error).message }, "delivery attempt could not be made");
        outcome = attemptOutcome(delivery, { ok: false, durationMs: 0, error: `Delivery could not be sent: ${(err as Error).message}` }, now(), random);
      }
      // writeOutcomes never rejects; the catch is for a bug there, which must not end the process.
      this.outcomes
        .add({ outcome, leaseExpiresAt: delivery.leaseExpiresAt })
        .catch((err) => logger.error({ err: (err as Error).message }, "recording outcomes failed"));
    })().finally(() => {
      this.sends.delete(send);
      this.slotFreed();
    });
    this.sends.add(send);
  }

  /** Counts the outcomes just written (not those skipped: another worker's claim records those). */
  private count(outcomes: readonly AttemptOutcome[], skipped: readonly string[]): void {
    const metrics = this.metrics;
    if (metrics === undefined) return;
    const notWritten = skipped.length > 0 ? new Set(skipped) : undefined;
    for (const outcome of outcomes) {
      if (notWritten?.has(outcome.deliveryId) !== true) metrics.attemptRecorded(outcome.status, outcome.durationMs);
    }
  }

  /** One batch of outcomes, retried with backoff while their leases hold (see the header). */
  private async writeOutcomes(batch: PendingOutcome[]): Promise<void[]> {
    const { database, now, logger } = this.options;
    const outcomes = batch.map((p) => p.outcome);
    const firstExpiry = Math.min(...batch.map((p) => p.leaseExpiresAt));
    for (;;) {
      try {
        const { skipped } = await recordAttempts(database, { owner: this.owner, outcomes, now: now() });
        this.writeOutage.succeeded();
        if (skipped.length > 0) logger.warn({ skipped: skipped.length }, "outcomes skipped: their leases had expired");
        this.count(outcomes, skipped);
        return [];
      } catch (err) {
        const delay = this.writeOutage.failed(err, { outcomes: outcomes.length });
        if (this.stopping || now() + delay >= firstExpiry) {
          logger.warn({ outcomes: outcomes.length }, "outcomes not recorded: their deliveries will be sent again once their leases expire");
          return [];
        }
        await this.writerWakeup.sleep(delay);
      }
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
