// How a background loop (the worker's claims and outcome writes, retention) lives through a database that
// has gone away: it backs off, retrying after min → max (doubling, with jitter so that several processes do
// not come back in step), and it says so once. The first failure of an outage is one warning, the failures
// after it are counted, not logged, and the first success after it is one info line with how long it
// lasted. A database restart is then two lines in the log, not one per tick.
import type { Logger } from "../logger.js";

export interface OutageOptions {
  logger: Logger;
  /** What failed, for the log lines: "claiming deliveries", "retention purge". */
  what: string;
  /** The first retry's delay. */
  minDelayMs: number;
  /** The longest delay between retries. */
  maxDelayMs?: number;
  now?: () => number;
  random?: () => number;
}

/** ± this share of each delay. */
const JITTER = 0.2;

export class Outage {
  private failures = 0;
  private since = 0;
  private lastError = "";
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: OutageOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** True from the first failure until the next success. */
  get ongoing(): boolean {
    return this.failures > 0;
  }

  /** Records a failure (one warning per outage) and returns how long to wait before the next try. */
  failed(err: unknown, details: Record<string, unknown> = {}): number {
    this.lastError = errorText(err);
    if (this.failures === 0) {
      this.since = this.now();
      this.options.logger.warn({ err: this.lastError, ...details }, `${this.options.what} failed: backing off until the database answers`);
    }
    this.failures++;
    const { minDelayMs, maxDelayMs = 5_000 } = this.options;
    const nominal = Math.min(minDelayMs * 2 ** (this.failures - 1), maxDelayMs);
    return Math.round(Math.min(nominal * (1 - JITTER + 2 * JITTER * this.random()), maxDelayMs));
  }

  /** Records a success: ends an outage, with one line. */
  succeeded(): void {
    if (this.failures === 0) return;
    this.options.logger.info(
      { failures: this.failures, outageMs: this.now() - this.since, lastErr: this.lastError },
      `${this.options.what} recovered`,
    );
    this.failures = 0;
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? `${code}: ${err.message}` : err.message;
}
