// The delivery engine: intake (event → deliveries, one transaction), the worker that sends them, the test
// and manual-retry operations, and retention. It implements the DeliveryService the API calls.
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Agent } from "../storage/agents.js";
import type { Database } from "../storage/db.js";
import { REQUEST_BUDGET_MS, runBefore } from "../storage/deadline.js";
import { getDeliveryStatus, queueManualRetry } from "../storage/queue/manual-retry.js";
import { findLog, insertTestLog } from "../storage/logs.js";
import { agentOwner } from "../storage/owner.js";
import type { Webhook } from "../storage/webhooks.js";
import { USER_AGENT } from "../version.js";
import { IntakeBatcher } from "./intake-batcher.js";
import { eventBody, TEST_EVENT, testBody } from "./payload.js";
import { retentionCutoff, startRetention } from "./retention.js";
import { createSender, type Sender } from "./send.js";
import type { DeliveryService, EventInput, IngestResult, RetryResult, TestResult } from "./service.js";
import { deliveryHeaders } from "./sign.js";
import type { WebhookCache } from "./webhook-cache.js";
import { DeliveryWorker, type WorkerOptions } from "./worker.js";
import { withDeliveryOptions } from "./options.js";
import { MAX_TEMPLATE_BYTES, renderBody, templateContext } from "./templates.js";
import { getAgent } from "../storage/agents.js";

export interface EngineOptions {
  database: Database;
  cache: WebhookCache;
  config: Pick<Config, "allowPrivateTargets" | "logRetentionDays" | "worker" | "workerConcurrency" | "workerLeaseMs" | "workerPollIntervalMs">;
  logger: Logger;
  /** Tests pass their own (e.g. a short lease); otherwise built from config. */
  sender?: Sender;
  worker?: Partial<Pick<WorkerOptions, "leaseMs" | "pollIntervalMs" | "batchSize" | "owner">>;
  now?: () => number;
}

export interface DeliveryEngine extends DeliveryService {
  readonly worker: DeliveryWorker | undefined;
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
        ...options.worker,
      })
    : undefined;
  let retention: { stop(): Promise<void> } | undefined;
  const intake = new IntakeBatcher(database);

  return {
    worker,

    start() {
      worker?.start();
      retention ??= startRetention({ database, logger, retentionDays: config.logRetentionDays, now });
    },

    async stop() {
      await retention?.stop();
      await worker?.stop();
      await sender.close();
    },

    async ingestEvent(input: EventInput): Promise<IngestResult> {
      const occurredAt = input.occurredAt ?? now();
      const source = agentOwner(input.agentId);
      const webhooks = await cache.webhooksFor(source, input.event);
      // A webhook's template for this event replaces the default body; it is rendered once, here, and the
      // rendered body is what every attempt signs and sends (and the log shows).
      const templated = new Map(webhooks.filter((w) => Object.hasOwn(w.payloadTemplates, input.event)).map((w) => [w.id, w]));
      const agent = templated.size > 0 ? await getAgent(database, input.agentId) : undefined;
      const recorded = await intake.record({
        source,
        event: input.event,
        data: input.data,
        occurredAt,
        idempotencyKey: input.idempotencyKey ?? null,
        webhookIds: webhooks.map((w) => w.id),
        buildPayload: (ids) => {
          const webhook = templated.get(ids.webhookId);
          const envelope = () =>
            eventBody({ deliveryId: ids.deliveryId, eventId: ids.eventId, event: input.event, agentId: input.agentId, occurredAt, data: input.data });
          if (webhook === undefined) return envelope();
          const context = templateContext({
            event: input.event,
            eventId: ids.eventId,
            deliveryId: ids.deliveryId,
            occurredAt,
            agent: { id: input.agentId, name: agent?.name ?? "" },
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
      if (recorded.deliveriesQueued > 0) worker?.notify();
      return { eventId: recorded.eventId, deliveriesQueued: recorded.deliveriesQueued, replayed: recorded.replayed };
    },

    async sendTest(agent: Agent, webhook: Webhook, url?: string): Promise<TestResult> {
      const sentAt = now();
      const body = testBody({ agentId: agent.id, agentName: agent.name, webhookId: webhook.id, webhookName: webhook.name, now: sentAt });
      const headers = withDeliveryOptions(
        deliveryHeaders({
          deliveryId: `test_${webhook.id}_${sentAt}`,
          timestamp: Math.floor(sentAt / 1000),
          body,
          secret: webhook.webhookSecret,
          userAgent: USER_AGENT,
        }),
        webhook,
      );
      const result = await sender.send({ url: url ?? webhook.webhookUrl, body, headers, timeoutMs: webhook.timeout * 1000, method: webhook.httpMethod });
      // The send may rightly take the webhook's whole timeout (the one operation outside the 5 s bound):
      // writing its log gets a database budget of its own, counted from now, not from the request's arrival.
      await runBefore(performance.now() + REQUEST_BUDGET_MS, () => insertTestLog(database, {
        webhookId: webhook.id,
        event: TEST_EVENT,
        requestPayload: body,
        status: result.ok ? "success" : "failed",
        httpStatus: result.status ?? null,
        responseBody: result.responseBody ?? null,
        responseHeaders: result.responseHeaders ?? null,
        error: result.error ?? null,
        durationMs: result.durationMs,
        deliveredAt: result.ok ? now() : null,
        now: sentAt,
      }));
      return { ok: result.ok, statusCode: result.status, responseTimeMs: result.durationMs, error: result.error };
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
  };
}
