// The delivery engine: intake (event → deliveries, one transaction), the worker that sends them, the test
// and manual-retry operations, and retention. It implements the DeliveryService the API calls.
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/registry.js";
import type { Agent } from "../storage/agents.js";
import type { Database } from "../storage/db.js";
import { REQUEST_BUDGET_MS, runBefore } from "../storage/deadline.js";
import { getDeliveryStatus, queueManualRetry } from "../storage/queue/manual-retry.js";
import { findLog, insertTestLog } from "../storage/logs.js";
import { signingSecrets, type Webhook } from "../storage/webhooks.js";
import { USER_AGENT } from "../version.js";
import type { WebhookCache } from "./webhook-cache.js";
import { IntakeBatcher } from "./intake-batcher.js";
import { bodiesById, campaignEventBody, eventBody, TEST_EVENT, testBody } from "./payload.js";
import { retentionCutoff, startRetention } from "./retention.js";
import { createSender, type Sender } from "./send.js";
import { countRecoverable } from "../storage/queue/recover.js";
import { Recoveries } from "./recovery.js";
import type { CampaignEventInput, DeliveryService, EventInput, IngestResult, RecoveryInput, RetryResult, TestResult } from "./service.js";
import { deliveryHeaders } from "./sign.js";
import { DeliveryWorker, type WorkerOptions } from "./worker.js";
import { withDeliveryOptions } from "./options.js";
import { MAX_TEMPLATE_BYTES, renderBody, templateContext } from "./templates.js";
import { getAgent } from "../storage/agents.js";
import type { Campaign } from "../storage/campaigns.js";
import { newId } from "../storage/ids.js";
import { agentOwner, campaignOwner, type Owner } from "../storage/owner.js";
import { campaignDeliveryExample, type CampaignEventName } from "../spec.js";

export interface EngineOptions {
  database: Database;
  cache: WebhookCache;
  config: Pick<Config, "allowPrivateTargets" | "logRetentionDays" | "worker" | "workerConcurrency" | "workerLeaseMs" | "workerPollIntervalMs">;
  logger: Logger;
  /** Tests pass their own (e.g. a short lease); otherwise built from config. */
  sender?: Sender;
  worker?: Partial<Pick<WorkerOptions, "leaseMs" | "pollIntervalMs" | "batchSize" | "owner">>;
  /** Deliveries queued per transaction by a recovery (default RECOVERY_BATCH_SIZE). */
  recoveryBatchSize?: number;
  now?: () => number;
  /** Counts recorded events and attempts (server/metrics/registry.ts); none when absent. */
  metrics?: Metrics;
}

/** One event of either source, as ingest() records it. */
interface IngestInput {
  source: Owner;
  /** An agent event's campaign (events.campaign_id), else null. */
  campaignId: string | null;
  event: string;
  data: Record<string, unknown>;
  occurredAt?: number;
  idempotencyKey?: string;
  /** Every webhook it goes to: subscribed and enabled, as the fan-out cache says. */
  webhooks: readonly Webhook[];
  /** Those of them with a payload template for this event. */
  templated: readonly Webhook[];
  names: { agent: { id: string; name: string }; campaign?: { id: string; name: string } };
  /** The default body of one delivery. */
  envelope(ids: { deliveryId: string; eventId: string }, occurredAt: number): string;
}

export interface DeliveryEngine extends DeliveryService {
  readonly worker: DeliveryWorker | undefined;
  /** The recoveries being queued in the background. */
  readonly recoveries: Recoveries;
  start(): void;
  stop(): Promise<void>;
}

export function createDeliveryEngine(options: EngineOptions): DeliveryEngine {
  const { database, cache, config, logger } = options;
  const now = options.now ?? Date.now;
  const sender = options.sender ?? createSender({ allowPrivateTargets: config.allowPrivateTargets });
  const worker = config.worker
    ? new DeliveryWorker({
        database,
        sender,
        logger,
        userAgent: USER_AGENT,
        concurrency: config.workerConcurrency,
        leaseMs: config.workerLeaseMs,
        pollIntervalMs: config.workerPollIntervalMs,
        now,
        metrics: options.metrics,
        ...options.worker,
      })
    : undefined;
  let retention: { stop(): Promise<void> } | undefined;
  // Deliveries accepted here go to this process's worker at once, as far as it has free slots.
  const intake = new IntakeBatcher(database, worker);
  const recoveries = new Recoveries({ database, logger, batchSize: options.recoveryBatchSize, onQueued: () => worker?.notify(), now });

  /** Records an event and its deliveries (group commit), each body built once from its ids, and wakes the worker. */
  async function ingest(input: IngestInput): Promise<IngestResult> {
    const occurredAt = input.occurredAt ?? now();
    // A webhook's template for this event replaces the default body; it is rendered once, here, and the
    // rendered body is what every attempt signs and sends (and the log shows).
    const templated = new Map(input.templated.map((w) => [w.id, w]));
    // The default bodies of one event differ only in the delivery id: built from one serialisation.
    let bodies: { eventId: string; byDeliveryId: (deliveryId: string) => string } | undefined;
    const defaultBody = (ids: { deliveryId: string; eventId: string }) => {
      if (bodies?.eventId !== ids.eventId) {
        const { eventId } = ids;
        bodies = { eventId, byDeliveryId: bodiesById((deliveryId) => input.envelope({ deliveryId, eventId }, occurredAt)) };
      }
      return bodies.byDeliveryId(ids.deliveryId);
    };
    const recorded = await intake.record({
      source: input.source,
      campaignId: input.campaignId,
      event: input.event,
      data: input.data,
      occurredAt,
      idempotencyKey: input.idempotencyKey ?? null,
      webhookIds: input.webhooks.map((w) => w.id),
      buildPayload: (ids) => {
        const webhook = templated.get(ids.webhookId);
        const envelope = () => defaultBody(ids);
        if (webhook === undefined) return envelope();
        const context = templateContext({
          event: input.event,
          eventId: ids.eventId,
          deliveryId: ids.deliveryId,
          occurredAt,
          ...input.names,
          webhook,
          data: input.data,
        });
        const body = renderBody(webhook.payloadTemplates[input.event], context);
        if (Buffer.byteLength(body, "utf8") <= MAX_TEMPLATE_BYTES) return body;
        // Over the limit once the event's values are in: the default body goes instead (no values logged).
        logger.warn({ webhookId: webhook.id, event: input.event }, "payload template rendered over 64 KiB; the default body is sent");
        return envelope();
      },
      now: now(),
    });
    // Deliveries not handed over (no free slot) wait in the table: the worker claims them.
    if (recorded.deliveriesQueued > recorded.handedOver.length) worker?.notify();
    if (!recorded.replayed) options.metrics?.eventIngested(recorded.deliveriesQueued);
    return { eventId: recorded.eventId, deliveriesQueued: recorded.deliveriesQueued, replayed: recorded.replayed };
  }

  /** Sends one body to the webhook (or `url`) now, signed and with its delivery options, and logs the attempt. */
  async function sendNow(webhook: Webhook, test: { event: string; body: string; deliveryId: string; sentAt: number; url?: string }): Promise<TestResult> {
    const { body, sentAt } = test;
    const headers = withDeliveryOptions(
      deliveryHeaders({ deliveryId: test.deliveryId, timestamp: Math.floor(sentAt / 1000), body, secrets: signingSecrets(webhook, sentAt), userAgent: USER_AGENT }),
      webhook,
    );
    const result = await sender.send({ url: test.url ?? webhook.webhookUrl, body, headers, timeoutMs: webhook.timeout * 1000, method: webhook.httpMethod });
    // The send may rightly take the webhook's whole timeout (the one operation outside the 5 s bound):
    // writing its log gets a database budget of its own, counted from now, not from the request's arrival.
    await runBefore(performance.now() + REQUEST_BUDGET_MS, () =>
      insertTestLog(database, {
        webhookId: webhook.id,
        event: test.event,
        requestPayload: body,
        status: result.ok ? "success" : "failed",
        httpStatus: result.status ?? null,
        responseBody: result.responseBody ?? null,
        responseHeaders: result.responseHeaders ?? null,
        error: result.error ?? null,
        durationMs: result.durationMs,
        deliveredAt: result.ok ? now() : null,
        now: sentAt,
      }),
    );
    return { ok: result.ok, statusCode: result.status, responseTimeMs: result.durationMs, error: result.error };
  }

  return {
    worker,
    recoveries,
    now,

    start() {
      worker?.start();
      retention ??= startRetention({ database, logger, retentionDays: config.logRetentionDays, now });
    },

    async stop() {
      await recoveries.stop();
      await retention?.stop();
      await worker?.stop();
      await sender.close();
    },

    async ingestEvent(input: EventInput): Promise<IngestResult> {
      const source = agentOwner(input.agentId);
      const own = await cache.webhooksFor(source, input.event);
      // A call of a campaign also goes to the campaign's webhooks that asked for its per-call events, once each.
      const viaCampaign = input.campaignId === undefined ? [] : await cache.callEventWebhooksFor(input.campaignId);
      const templated = own.filter((w) => Object.hasOwn(w.payloadTemplates, input.event));
      const agent = templated.length > 0 ? await getAgent(database, input.agentId) : undefined;
      return ingest({
        source,
        campaignId: input.campaignId ?? null,
        event: input.event,
        data: input.data,
        occurredAt: input.occurredAt,
        idempotencyKey: input.idempotencyKey,
        webhooks: [...own, ...viaCampaign],
        templated,
        names: { agent: { id: input.agentId, name: agent?.name ?? "" } },
        envelope: (ids, occurredAt) =>
          eventBody({ ...ids, event: input.event, agentId: input.agentId, campaignId: input.campaignId, occurredAt, data: input.data }),
      });
    },

    async ingestCampaignEvent(input: CampaignEventInput): Promise<IngestResult> {
      const { campaign } = input;
      const source = campaignOwner(campaign.id);
      const webhooks = await cache.webhooksFor(source, input.event);
      const templated = webhooks.filter((w) => Object.hasOwn(w.payloadTemplates, input.event));
      const agent = templated.length > 0 && campaign.agentId !== null ? await getAgent(database, campaign.agentId) : undefined;
      return ingest({
        source,
        campaignId: null,
        event: input.event,
        data: input.data,
        occurredAt: input.occurredAt,
        idempotencyKey: input.idempotencyKey,
        webhooks,
        templated,
        names: { agent: { id: campaign.agentId ?? "", name: agent?.name ?? "" }, campaign: { id: campaign.id, name: campaign.name } },
        envelope: (ids, occurredAt) =>
          campaignEventBody({ ...ids, event: input.event, campaignId: campaign.id, agentId: campaign.agentId, occurredAt, data: input.data }),
      });
    },

    async sendTest(agent: Agent, webhook: Webhook, url?: string): Promise<TestResult> {
      const sentAt = now();
      const body = testBody({ agentId: agent.id, agentName: agent.name, webhookId: webhook.id, webhookName: webhook.name, now: sentAt });
      return sendNow(webhook, { event: TEST_EVENT, body, deliveryId: `test_${webhook.id}_${sentAt}`, sentAt, url });
    },

    async sendCampaignTest(campaign: Campaign, webhook: Webhook): Promise<TestResult> {
      const sentAt = now();
      // "One synthetic event matching the webhook's subscribed events": its first, with the spec's example body.
      const event = webhook.events[0]!;
      const deliveryId = newId(sentAt);
      const example = campaignDeliveryExample(event as CampaignEventName);
      const body = campaignEventBody({
        deliveryId,
        eventId: newId(sentAt),
        event,
        campaignId: campaign.id,
        agentId: campaign.agentId,
        occurredAt: sentAt,
        data: example.data,
      });
      return sendNow(webhook, { event, body, deliveryId, sentAt });
    },

    async retryLog(webhook: Webhook, logId: string): Promise<RetryResult> {
      const log = await findLog(database, webhook.id, logId);
      if (!log) return { outcome: "not_found" };
      // Not retried: a success, a test delivery (it has no delivery), a disabled webhook, a log past
      // retention, a delivery that has succeeded since, or one that retention has removed.
      const notRetriable: RetryResult = { outcome: "not_retriable" };
      if (log.status === "success" || log.deliveryId === null || !webhook.enabled) return notRetriable;
      if (log.createdAt < retentionCutoff(config.logRetentionDays, now())) return notRetriable;
      if ((await getDeliveryStatus(database, log.deliveryId)) === "success") return notRetriable;
      const queued = await queueManualRetry(database, { webhookId: webhook.id, logId, now: now() });
      if (!queued.queued) return queued.reason === "log_not_found" ? { outcome: "not_found" } : notRetriable;
      worker?.notify();
      return { outcome: "queued", logId: queued.logId, originalLogId: queued.originalLogId, queuedAt: queued.queuedAt };
    },

    async recover(webhook: Webhook, input: RecoveryInput): Promise<{ deliveriesQueued: number }> {
      const asOf = now();
      const range = { webhookId: webhook.id, sinceMs: input.sinceMs, untilMs: Math.min(input.untilMs ?? asOf, asOf), asOf };
      const deliveriesQueued = await countRecoverable(database, range);
      if (deliveriesQueued > 0) recoveries.start(range);
      return { deliveriesQueued };
    },
  };
}
