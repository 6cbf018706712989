// From what the receiver did to what the log says: success, retrying (with when), or failed.
import type { ClaimedDelivery } from "../storage/queue/claim.js";
import type { AttemptOutcome } from "../storage/queue/record-attempts.js";
import { nextAttemptDelayMs } from "./schedule.js";
import type { SendResult } from "./send.js";

export function attemptOutcome(delivery: ClaimedDelivery, result: SendResult, now: number, random = Math.random): AttemptOutcome {
  const base = {
    deliveryId: delivery.deliveryId,
    logId: delivery.logId,
    webhookId: delivery.webhookId,
    httpStatus: result.status ?? null,
    responseBody: result.responseBody ?? null,
    responseHeaders: result.responseHeaders ?? null,
    durationMs: Math.round(result.durationMs),
  };
  if (result.ok) return { ...base, status: "success", deliveredAt: now };
  // attempt counts from 1: max_retries = 3 allows attempts 1 to 4.
  if (delivery.attempt <= delivery.maxRetries) {
    const delay = nextAttemptDelayMs(delivery.attempt, { retryAfterMs: result.retryAfterMs, random });
    return { ...base, status: "retrying", error: result.error ?? null, nextAttemptAt: now + delay };
  }
  return { ...base, status: "failed", error: result.error ?? null };
}
