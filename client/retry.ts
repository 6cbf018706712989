// Opt-in retries of `429 Too Many Requests`. A 429 means the server did no work, so every operation,
// POSTs included, can be sent again once the window the server names has passed.
import { parseRetryAfter } from "./protocol/retry-after.js";

export type FetchFn = (input: Request, init?: RequestInit) => Promise<Response>;

export interface RetryOn429Options {
  /** Retries after the first 429; then the 429 is returned as the call's typed error. Default 3. */
  maxRetries?: number;
  /** A wait longer than this is not worth it: the 429 is returned at once instead. Default 60 000 ms. */
  maxDelayMs?: number;
}

const FALLBACK_DELAY_MS = 1_000;

/**
 * How long to wait before retrying `response`: `Retry-After` (seconds or an HTTP date, RFC 9110) first, then
 * `X-RateLimit-Reset` (Unix seconds), else 1 s, 2 s, 4 s… by attempt (from 1). A header that is neither
 * (`1.5`, `-1`, `soon`) is skipped, not read as "no wait".
 */
export function retryDelayMs(response: Response, attempt: number, now: number = Date.now()): number {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = response.headers.get("X-RateLimit-Reset")?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return FALLBACK_DELAY_MS * 2 ** (attempt - 1);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wraps `fetch` so that a 429 is retried up to `maxRetries` times, waiting as the server asks. */
export function retryingOn429(fetch: FetchFn, options: RetryOn429Options = {}): FetchFn {
  const maxRetries = options.maxRetries ?? 3;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  return async (request, init) => {
    // Each attempt sends a clone: a Request's body can be read only once.
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(request.clone(), init);
      if (response.status !== 429 || attempt > maxRetries) return response;
      const delay = retryDelayMs(response, attempt);
      if (delay > maxDelayMs) return response;
      await response.body?.cancel(); // free the connection before waiting
      await sleep(delay);
    }
  };
}
