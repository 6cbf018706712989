/**
 * Retry schedule.
 *
 * After a failed attempt n (1-based), the next attempt is scheduled after
 *
 *     delay(n) = min(5 s × 2^(n−1), 1 h) × jitter,  jitter uniform in [0.8, 1.2],  never more than 1 h
 *
 * | failed attempt | nominal delay | with jitter          | next attempt, nominal time after the first |
 * |---------------:|--------------:|----------------------|-------------------------------------------:|
 * |              1 |           5 s | 4–6 s                |                                        5 s |
 * |              2 |          10 s | 8–12 s               |                                       15 s |
 * |              3 |          20 s | 16–24 s              |                                       35 s |
 * |              4 |          40 s | 32–48 s              |                                   1 m 15 s |
 * |              5 |      1 m 20 s | 64–96 s              |                                   2 m 35 s |
 * |              6 |      2 m 40 s | 2 m 8 s – 3 m 12 s   |                                   5 m 15 s |
 * |              7 |      5 m 20 s | 4 m 16 s – 6 m 24 s  |                                  10 m 35 s |
 * |              8 |     10 m 40 s | 8 m 32 s – 12 m 48 s |                                  21 m 15 s |
 * |              9 |     21 m 20 s | 17 m 4 s – 25 m 36 s |                                  42 m 35 s |
 * |             10 |     42 m 40 s | 34 m 8 s – 51 m 12 s |                              1 h 25 m 15 s |
 * |            11+ |           1 h | 48–60 min            |                                 + 1 h each |
 *
 * The jitter spreads out the retries of many deliveries that failed together (a receiver outage), so they
 * don't all come back in the same second.
 *
 * `Retry-After`: when a 429 or 503 response carries one (seconds or an HTTP date), the next attempt waits
 * at least that long, clamped to [1 s, 1 h]: a receiver can slow us down but not park a delivery for days,
 * and the computed delay still applies when it is longer.
 *
 * How many attempts are made before giving up is the caller's policy, not this function's.
 */

export const BASE_DELAY_MS = 5_000;
export const MAX_DELAY_MS = 3_600_000;
export const MIN_RETRY_AFTER_MS = 1_000;
const JITTER = 0.2;

export interface NextAttemptOptions {
  /** From the failed attempt's `Retry-After` header, if any. */
  retryAfterMs?: number | undefined;
  /** Source of uniform [0, 1) numbers; injected by tests. */
  random?: () => number;
}

/** Milliseconds to wait before the next attempt, after attempt `attempt` (1-based) has failed. */
export function nextAttemptDelayMs(attempt: number, { retryAfterMs, random = Math.random }: NextAttemptOptions = {}): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer ≥ 1, got ${attempt}`);

  // 2 ** large is Infinity, which min() handles.
  const nominal = Math.min(BASE_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS);
  let delay = Math.min(nominal * (1 - JITTER + 2 * JITTER * random()), MAX_DELAY_MS);

  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
    delay = Math.max(delay, Math.min(Math.max(retryAfterMs, MIN_RETRY_AFTER_MS), MAX_DELAY_MS));
  }
  return Math.round(delay);
}
