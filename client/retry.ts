// Opt-in retries of the two answers that say "nothing was done, come back later":
// - `429 Too Many Requests`: the limiter refused before any work, so every operation, POSTs included, can
//   be sent again once the window the server names has passed.
// - `503 Service Unavailable` (the database went away; README "When the database goes away"): almost always
//   nothing was stored, but a connection that breaks during the commit itself may have stored the write.
//   So a 503 is retried only where sending twice does no harm: the idempotent methods of RFC 9110 §9.2.2
//   (GET, HEAD, OPTIONS, PUT, DELETE) and an intake POST that carries an `idempotency_key` (the server
//   records a key's event once). Creating, toggling (a PATCH that flips), testing and retrying are not
//   repeated: their 503 is returned as the call's typed error, for the caller to read back and decide.
import { parseRetryAfter } from "./protocol/retry-after.js";

export type FetchFn = (input: Request, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Retries after the first refusal; then the refusal is returned as the call's typed error. Default 3. */
  maxRetries?: number;
  /** A wait longer than this is not worth it: the refusal is returned at once instead. Default 60 000 ms. */
  maxDelayMs?: number;
}

/** @deprecated The same options under their general name, `RetryOptions`. */
export type RetryOn429Options = RetryOptions;

/** Which refusals a client retries, each with its own limits; an absent key is not retried. */
export interface RetryPolicy {
  on429?: RetryOptions;
  on503?: RetryOptions;
}

const FALLBACK_DELAY_MS = 1_000;
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const INTAKE_PATH = /\/internal\/v1\/(?:agents|campaigns)\/[^/]+\/events$/;

/**
 * How long to wait before retrying `response`: `Retry-After` (seconds or an HTTP date, RFC 9110) first, then,
 * for a 429 only, `X-RateLimit-Reset` (Unix seconds: when the rate window reopens, which says nothing about a
 * 503), else 1 s, 2 s, 4 s… by attempt (from 1). A header that is neither (`1.5`, `-1`, `soon`) is skipped,
 * not read as "no wait".
 */
export function retryDelayMs(response: Response, attempt: number, now: number = Date.now()): number {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), now);
  if (retryAfter !== undefined) return retryAfter;
  const reset = response.status === 429 ? response.headers.get("X-RateLimit-Reset")?.trim() : undefined;
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return FALLBACK_DELAY_MS * 2 ** (attempt - 1);
}

/** True when sending `request` twice does no harm (see the header): what a 503 may be retried for. */
export async function safeToRepeat(request: Request): Promise<boolean> {
  if (IDEMPOTENT_METHODS.has(request.method)) return true;
  if (request.method !== "POST" || !INTAKE_PATH.test(new URL(request.url).pathname)) return false;
  try {
    const body: unknown = await request.clone().json();
    const key = (body as { idempotency_key?: unknown } | null)?.idempotency_key;
    return typeof key === "string" && key !== "";
  } catch {
    return false; // no JSON body: the server refuses it anyway, and there is no key to make it safe
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wraps `fetch` so that the refusals `policy` names are retried, waiting as the server asks. */
export function retrying(fetch: FetchFn, policy: RetryPolicy): FetchFn {
  return async (request, init) => {
    let repeatable: boolean | undefined; // asked once, on the first 503
    // Each attempt sends a clone: a Request's body can be read only once.
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(request.clone(), init);
      const options = response.status === 429 ? policy.on429 : response.status === 503 ? policy.on503 : undefined;
      if (options === undefined || attempt > (options.maxRetries ?? 3)) return response;
      if (response.status === 503 && !(repeatable ??= await safeToRepeat(request))) return response;
      const delay = retryDelayMs(response, attempt);
      if (delay > (options.maxDelayMs ?? 60_000)) return response;
      await response.body?.cancel(); // free the connection before waiting
      await sleep(delay);
    }
  };
}
