// Logs older than the retention (30 days by default) are purged in small batches, so the job never holds
// a long transaction; finished deliveries and their events go with them.
import type { Logger } from "../logger.js";
import type { Database } from "../storage/db.js";
import { purgeFinishedDeliveriesBefore } from "../storage/deliveries.js";
import { purgeLogsBefore } from "../storage/logs.js";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  database: Database;
  logger: Logger;
  retentionDays: number;
  batchSize?: number;
  intervalMs?: number;
}

/** One full pass: repeats small batches until nothing older than the cutoff is left. */
export async function purgeExpired(options: RetentionOptions, now = Date.now()): Promise<{ logs: number; deliveries: number; events: number }> {
  const { database, retentionDays, batchSize = 500 } = options;
  const cutoff = retentionCutoff(retentionDays, now);
  const totals = { logs: 0, deliveries: 0, events: 0 };
  for (;;) {
    const logs = await purgeLogsBefore(database, cutoff, batchSize);
    const { deliveries, events } = await purgeFinishedDeliveriesBefore(database, cutoff, batchSize);
    totals.logs += logs;
    totals.deliveries += deliveries;
    totals.events += events;
    if (logs < batchSize && deliveries < batchSize && events < batchSize) return totals;
    await new Promise((resolve) => setImmediate(resolve)); // let requests in between batches
  }
}

/** Runs purgeExpired every `intervalMs` (default hourly) until stopped. */
export function startRetention(options: RetentionOptions): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = purgeExpired(options)
      .then((totals) => {
        if (totals.logs + totals.deliveries + totals.events > 0) options.logger.info(totals, "retention purge");
      })
      .catch((err) => options.logger.error({ err: (err as Error).message }, "retention purge failed"));
  };
  const timer = setInterval(tick, options.intervalMs ?? 3_600_000);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export function retentionCutoff(retentionDays: number, now = Date.now()): number {
  return now - retentionDays * DAY_MS;
}
