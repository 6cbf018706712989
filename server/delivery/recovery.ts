// Recovery runs after the API has answered: a webhook's failed deliveries of a range are queued again in
// batches (storage/queue/recover.ts), one short transaction each, yielding to the event loop between them, so
// that 100,000 of them never hold up the API, the intake or the worker. The worker is woken after each batch
// and starts sending while the rest are still being queued. A batch that meets a database outage is tried
// again with backoff (Outage), as the other background loops are; stop() lets the batch under way finish.
import type { Logger } from "../logger.js";
import type { Database } from "../storage/db.js";
import { queueRecoveryBatch, type RecoveryRange } from "../storage/queue/recover.js";
import { Outage } from "./outage.js";

export const RECOVERY_BATCH_SIZE = 500;

export interface RecoveriesOptions {
  database: Database;
  logger: Logger;
  batchSize?: number;
  /** Called after each batch that queued something. */
  onQueued(): void;
  now?: () => number;
}

export class Recoveries {
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: RecoveriesOptions) {}

  /** Starts queueing the range in the background. */
  start(range: RecoveryRange): void {
    const job = this.run(range).catch((err: unknown) => {
      this.options.logger.error({ err, webhookId: range.webhookId }, "recovery stopped");
    });
    const tracked = job.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Resolves once the recoveries under way are idle: the rest of their ranges is not queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** Resolves when every recovery started so far is over (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private async run(range: RecoveryRange): Promise<void> {
    const { database, logger, batchSize = RECOVERY_BATCH_SIZE, now = Date.now } = this.options;
    const outage = new Outage({ logger, what: "recovery", minDelayMs: 250, now });
    let afterId: string | undefined;
    let queued = 0;
    while (!this.stopped) {
      let batch;
      try {
        batch = await queueRecoveryBatch(database, range, { afterId, batchSize, now: now() });
        outage.succeeded();
      } catch (err) {
        await sleep(outage.failed(err, { webhookId: range.webhookId }));
        continue;
      }
      queued += batch.queued;
      if (batch.queued > 0) this.options.onQueued();
      if (!batch.more) break;
      afterId = batch.lastId;
      await new Promise((resolve) => setImmediate(resolve)); // requests and the worker in between batches
    }
    logger.info({ webhookId: range.webhookId, queued, complete: !this.stopped }, "recovery queued");
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
