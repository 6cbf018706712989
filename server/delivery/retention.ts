// Logs older than the retention (30 days by default) are purged in small batches, so the job never holds
// a long transaction; finished deliveries and their events go with them.
import type { Logger } from "../logger.js";
import type { Database } from "../storage/db.js";
import { purgeBefore, type Purged } from "../storage/queue/purge.js";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  database: Database;
  logger: Logger;
  retentionDays: number;
  batchSize?: number;
  intervalMs?: number;
}

/** One full pass: repeats small batches until nothing older than the cutoff is left. */
export async function purgeExpired(options: RetentionOptions, now = Date.now()): Promise<Purged> {
  const { database, retentionDays, batchSize = 500 } = options;
  const cutoff = retentionCutoff(retentionDays, now);
  const totals: Purged = { logs: 0, deliveries: 0, events: 0 };
  for (;;) {
    const purged = await purgeBefore(database, cutoff, batchSize);
    totals.logs += purged.logs;
    totals.deliveries += purged.deliveries;
    totals.events += purged.events;
    if (purged.logs < batchSize && purged.deliveries < batchSize && purged.events < batchSize) return totals;
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
