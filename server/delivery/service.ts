// What the API asks of the delivery engine. The HTTP layer knows only this interface; the engine knows
// nothing of HTTP requests from users.
import type { Agent } from "../storage/agents.js";
import type { Campaign } from "../storage/campaigns.js";
import type { Webhook } from "../storage/webhooks.js";

/** An agent's event (a call's): to the agent's webhooks, and to its campaign's with include_call_events. */
export interface EventInput {
  agentId: string;
  /** The campaign the call belongs to, already checked to be of the agent's environment. */
  campaignId?: string;
  event: string;
  data: Record<string, unknown>;
  /** Epoch ms; defaults to now. */
  occurredAt?: number;
  idempotencyKey?: string;
}

/** A campaign's own event: to the campaign's webhooks subscribed to it. */
export interface CampaignEventInput {
  campaign: Campaign;
  event: string;
  data: Record<string, unknown>;
  /** Epoch ms; defaults to now. */
  occurredAt?: number;
  idempotencyKey?: string;
}

export interface IngestResult {
  eventId: string;
  deliveriesQueued: number;
  replayed: boolean;
}

export interface TestResult {
  ok: boolean;
  /** The receiver's status, when it answered. */
  statusCode?: number;
  responseTimeMs: number;
  /** Why it failed, in words ("Connection timeout", "HTTP 500 Internal Server Error"). */
  error?: string;
}

export type RetryResult =
  | { outcome: "queued"; logId: string; originalLogId: string; queuedAt: number }
  | { outcome: "not_found" }
  /** The API answers every case alike (422 LOG_NOT_RETRIABLE), so no reason is carried. */
  | { outcome: "not_retriable" };

/** A recovery's range of delivery creation times, [sinceMs, untilMs), already checked by the API. */
export interface RecoveryInput {
  sinceMs: number;
  /** Defaults to now; a later time means now. */
  untilMs?: number;
}

export interface DeliveryService {
  /** Stores the event and one delivery per subscribed, enabled webhook, in one transaction. */
  ingestEvent(input: EventInput): Promise<IngestResult>;
  /** The same for a campaign's event; idempotency keys are per campaign. */
  ingestCampaignEvent(input: CampaignEventInput): Promise<IngestResult>;
  /** Sends the test body to the webhook (or `url`) now, and logs the attempt. */
  sendTest(agent: Agent, webhook: Webhook, url?: string): Promise<TestResult>;
  /** Sends the example body of the campaign webhook's first event now, and logs the attempt. */
  sendCampaignTest(campaign: Campaign, webhook: Webhook): Promise<TestResult>;
  /** Queues a new attempt of the delivery behind a log row. */
  retryLog(webhook: Webhook, logId: string): Promise<RetryResult>;
  /**
   * Counts the webhook's failed deliveries of the range and queues them again in the background, in
   * batches; returns the count.
   */
  recover(webhook: Webhook, input: RecoveryInput): Promise<{ deliveriesQueued: number }>;
  /** The engine's clock (epoch ms): a secret rotation's overlap starts and ends by it, as deliveries are signed by it. */
  now(): number;
}
