// Logs older than the retention (30 days by default) are purged in small batches, so the job never holds
// a long transaction; finished deliveries and their events go with them. A pass that fails (the database
// went away) is tried again with backoff rather than at the next hourly tick.
import type { Logger } from "../logger.js";
import type { Database } from "../storage/db.js";
import { purgeBefore, type Purged } from "../storage/queue/purge.js";
import { Outage } from "./outage.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The first retry after a failed pass; backoff doubles it up to Outage's maximum. */
const RETRY_MIN_MS = 1_000;

export interface RetentionOptions {
  database: Database;
  logger: Logger;
  retentionDays: number;
  batchSize?: number;
  intervalMs?: number;
  /** The engine's clock. */
  now?: () => number;
}

/** One full pass: repeats small batches until nothing older than the cutoff is left. */
export async function purgeExpired(options: RetentionOptions): Promise<Purged> {
  const { database, retentionDays, batchSize = 500, now = Date.now } = options;
  const cutoff = retentionCutoff(retentionDays, now());
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

/** Runs purgeExpired now and every `intervalMs` (default hourly) until stopped. */
export function startRetention(options: RetentionOptions): { stop(): Promise<void> } {
  const outage = new Outage({ logger: options.logger, what: "retention purge", minDelayMs: RETRY_MIN_MS, now: options.now });
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  function tick() {
    running = purgeExpired(options).then(
      (totals) => {
        outage.succeeded();
        if (totals.logs + totals.deliveries + totals.events > 0) options.logger.info(totals, "retention purge");
        schedule(options.intervalMs ?? HOUR_MS);
      },
      (err) => schedule(outage.failed(err)),
    );
  }
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export function retentionCutoff(retentionDays: number, now: number): number {
  return now - retentionDays * DAY_MS;
}
