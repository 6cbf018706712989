// The delivery worker: a loop over the deliveries table. It claims due deliveries in batches under a
// lease, sends them concurrently, and records their outcomes in batches; the next attempt is scheduled in
// the same transaction that records the last. State lives in the database: a worker that dies loses
// nothing, its leases expire and another worker (or its restart) sends the deliveries again.
import type { Logger } from "../logger.js";
import type { Database } from "../storage/db.js";
import { claimDueDeliveries, type ClaimedDelivery } from "../storage/queue/claim.js";
import { recordAttempts, type AttemptOutcome } from "../storage/queue/record-attempts.js";
import { newId } from "../storage/ids.js";
import { attemptOutcome } from "./outcome.js";
import type { Sender } from "./send.js";
import { deliveryHeaders } from "./sign.js";

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
}

const DEFAULTS = { batchSize: 100, leaseMs: 180_000, pollIntervalMs: 250 };
/** Outcomes wait at most this long for a fuller batch before they are written. */
const FLUSH_DELAY_MS = 5;
/**
 * With sends under way and few free slots, claim again only after this long: a claim per finished send
 * would cost a transaction per delivery; waiting a little lets the claims come in batches.
 */
const MIN_CLAIM_GAP_MS = 3;

export class DeliveryWorker {
  readonly owner: string;
  private readonly options: Required<Omit<WorkerOptions, "owner">>;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly sends = new Set<Promise<void>>();
  private outcomes: AttemptOutcome[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private lastClaimAt = 0;

  constructor(options: WorkerOptions) {
    this.owner = options.owner ?? `worker-${newId()}`;
    this.options = { now: Date.now, random: Math.random, ...DEFAULTS, ...stripUndefined(options) } as Required<Omit<WorkerOptions, "owner">>;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Something became due (an event was accepted, a retry queued): look now rather than at the next poll. */
  notify(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming, lets the attempts under way finish (each bounded by its timeout), records them. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loopDone;
    await Promise.all(this.sends);
    while (this.outcomes.length > 0 || this.flushing) await this.flush();
  }

  private async loop(): Promise<void> {
    const { database, batchSize, leaseMs, pollIntervalMs, concurrency, now, logger } = this.options;
    // Refill in batches: with sends under way, wait for half the slots (or a batch) to free up, or for
    // MIN_CLAIM_GAP_MS since the last claim, whichever comes first.
    const refillAt = Math.min(batchSize, Math.ceil(concurrency / 2));
    while (this.running) {
      const free = concurrency - this.inFlight;
      const sinceClaim = performance.now() - this.lastClaimAt;
      if (free <= 0) {
        await this.sleep(pollIntervalMs); // a finished send wakes us
        continue;
      }
      if (this.inFlight > 0 && free < refillAt && sinceClaim < MIN_CLAIM_GAP_MS) {
        await this.sleep(MIN_CLAIM_GAP_MS - sinceClaim, { keepWoken: true });
        continue;
      }
      const limit = Math.min(batchSize, free);
      this.woken = false;
      this.lastClaimAt = performance.now();
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await claimDueDeliveries(database, { owner: this.owner, limit, leaseMs, now: now() });
      } catch (err) {
        logger.error({ err: (err as Error).message }, "claiming deliveries failed");
        await this.sleep(pollIntervalMs);
        continue;
      }
      for (const delivery of claimed) this.dispatch(delivery);
      if (claimed.length < limit && !this.woken) await this.sleep(pollIntervalMs);
    }
  }

  private dispatch(delivery: ClaimedDelivery): void {
    const { sender, userAgent, now, random, logger } = this.options;
    this.inFlight++;
    const send = (async () => {
      let outcome: AttemptOutcome;
      try {
        const headers = deliveryHeaders({
          deliveryId: delivery.deliveryId,
          timestamp: Math.floor(now() / 1000),
          body: delivery.payload,
          secret: delivery.webhookSecret,
          userAgent,
        });
        const result = await sender.send({ url: delivery.webhookUrl, body: delivery.payload, headers, timeoutMs: delivery.timeout * 1000 });
        outcome = attemptOutcome(delivery, result, now(), random);
      } catch (err) {
        // Only a bug or an unusable secret gets here (send() never rejects): the attempt fails, retried as usual.
        logger.error({ deliveryId: delivery.deliveryId, err: (err as Error).message }, "delivery attempt could not be made");
        outcome = attemptOutcome(delivery, { ok: false, durationMs: 0, error: `Delivery could not be sent: ${(err as Error).message}` }, now(), random);
      }
      this.outcomes.push(outcome);
      this.scheduleFlush();
    })().finally(() => {
      this.inFlight--;
      this.sends.delete(send);
      this.wakeUp?.();
    });
    this.sends.add(send);
  }

  private scheduleFlush(): void {
    if (this.outcomes.length >= this.options.batchSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Writes the buffered outcomes, a batch per transaction, one writer at a time. */
  private flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing ??= this.writeOutcomes().finally(() => {
      this.flushing = undefined;
      if (this.outcomes.length > 0) this.scheduleFlush(); // pushed while the last write was finishing
    });
    return this.flushing;
  }

  private async writeOutcomes(): Promise<void> {
    const { database, batchSize, now, logger } = this.options;
    while (this.outcomes.length > 0) {
      const batch = this.outcomes.splice(0, batchSize);
      try {
        const { skipped } = await recordAttempts(database, { owner: this.owner, outcomes: batch, now: now() });
        if (skipped.length > 0) logger.warn({ skipped: skipped.length }, "outcomes skipped: their leases had expired");
      } catch (err) {
        // Not lost: the leases expire and the deliveries are attempted again (at-least-once).
        logger.error({ err: (err as Error).message, outcomes: batch.length }, "recording outcomes failed");
      }
    }
  }

  /** Waits `ms`, or less when notified; with keepWoken, the full `ms`, and a notification waits for the next claim. */
  private sleep(ms: number, { keepWoken = false } = {}): Promise<void> {
    if (keepWoken) return new Promise((resolve) => setTimeout(resolve, ms));
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = undefined;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
