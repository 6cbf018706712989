// What the two webhook resources, an agent's (webhooks.ts, logs.ts) and a campaign's (campaign-webhooks.ts),
// do alike. Their handlers differ only in the owner, the documented messages and the presented model; every
// write, check, log page and retry is here, once.
import { randomBytes } from "node:crypto";
import type { Response } from "express";
import type { components } from "talkover-webhooks/types";
import { WHSEC_PREFIX } from "talkover-webhooks/protocol/secret";
import type { TestResult } from "../delivery/service.js";
import type { Owner } from "../storage/owner.js";
import type { LogTable } from "../storage/schema.js";
import { listLogs, toLog } from "../storage/logs.js";
import { toApiTimestamp } from "../storage/time.js";
import type { Webhook, WebhookInput } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import { checkDeliveryOptions } from "./delivery-options.js";
import { fieldErrorCollector, MESSAGES, notFound, notRetriable, validationFailed } from "./errors.js";
import { toLogFilter, type LogFilterQuery } from "./log-filter.js";
import { logJson, presentLog } from "./present.js";
import { checkRecoveryRange } from "./recovery-range.js";

type Schemas = components["schemas"];
type UpdateBody = Schemas["WebhookUpdate"] | Schemas["CampaignWebhookUpdate"];
/** A create body once the validator has applied the spec's defaults. */
type CreateBody = (Schemas["WebhookCreate"] | Schemas["CampaignWebhookCreate"]) & { timeout: number; max_retries: number; enabled: boolean };

/** API field names → storage fields, for the fields present in the body only (partial update). */
function toInput(body: UpdateBody): Partial<WebhookInput> {
  const input: Partial<WebhookInput> = {};
  if (body.name !== undefined) input.name = body.name;
  if (body.webhook_url !== undefined) input.webhookUrl = body.webhook_url;
  if (body.webhook_secret !== undefined) input.webhookSecret = body.webhook_secret;
  if (body.events !== undefined) input.events = body.events;
  if (body.timeout !== undefined) input.timeout = body.timeout;
  if (body.max_retries !== undefined) input.maxRetries = body.max_retries;
  if (body.enabled !== undefined) input.enabled = body.enabled;
  if ("include_call_events" in body && body.include_call_events !== undefined) input.includeCallEvents = body.include_call_events;
  return input;
}

const HOUR_MS = 3_600_000;

/** A new Standard Webhooks secret: `whsec_` and 24 random bytes in base64 (32 characters). */
export function generateSecret(): string {
  return WHSEC_PREFIX + randomBytes(24).toString("base64");
}

/** A test call's answer: `success` is what the receiver did, `data` is there whenever it answered. */
export function testAnswer(result: TestResult, sentMessage: string): Schemas["WebhookTestResponse"] {
  const data = result.statusCode === undefined ? {} : { data: { status_code: result.statusCode, response_time: Math.round(result.responseTimeMs) } };
  if (result.ok) return { success: true, message: sentMessage, ...data };
  return { success: false, message: `Webhook test failed: ${result.error ?? "Unknown error"}`, ...data };
}

/**
 * The most webhooks one agent or campaign may have: the `maxItems` of its list in openapi.yaml, which the list
 * (not paginated) and the fan-out of one event rely on. Checked by the create's INSERT itself, so that
 * creates at the same moment cannot pass it together (storage/webhooks.ts createWebhookBelowLimit).
 */
export function maxWebhooksPerOwner(ctx: AppContext, kind: Owner["kind"]): number {
  const list = ctx.spec.document.components.schemas[kind === "agent" ? "WebhookListResponse" : "CampaignWebhookListResponse"];
  return list.properties.data.properties.webhooks.maxItems as number;
}

export function webhookResource(ctx: AppContext) {
  return {
    async create(owner: Owner, body: CreateBody): Promise<Webhook> {
      const options = checkDeliveryOptions(ctx.spec, body, undefined, owner.kind);
      if (Object.keys(options.errors).length > 0) throw validationFailed(options.errors);
      const max = maxWebhooksPerOwner(ctx, owner.kind);
      const input: WebhookInput = {
        ...toInput(body),
        ...options.changes,
        name: body.name,
        webhookUrl: body.webhook_url,
        webhookSecret: body.webhook_secret ?? null,
        events: body.events,
        timeout: body.timeout,
        maxRetries: body.max_retries,
        enabled: body.enabled,
      };
      const webhook = await ctx.webhooks.create(owner, input, max);
      if (webhook) return webhook;
      const { errors, add } = fieldErrorCollector(ctx.spec.validationMessages);
      add(`${owner.kind}_id`, "webhook_limit", { owner: owner.kind, max });
      throw validationFailed(errors);
    },

    async update(owner: Owner, stored: Webhook, body: UpdateBody): Promise<Webhook> {
      const options = checkDeliveryOptions(ctx.spec, body, stored, owner.kind);
      if (Object.keys(options.errors).length > 0) throw validationFailed(options.errors);
      const webhook = await ctx.webhooks.update(owner, stored.id, { ...toInput(body), ...options.changes });
      if (!webhook) throw notFound(MESSAGES.webhookNotFound); // deleted meanwhile
      return webhook;
    },

    async remove(owner: Owner, webhook: Webhook): Promise<void> {
      if (!(await ctx.webhooks.delete(owner, webhook.id))) throw notFound(MESSAGES.webhookNotFound);
    },

    /** Flips `enabled`; disabling cancels the queued deliveries. */
    async toggle(owner: Owner, stored: Webhook): Promise<Webhook> {
      const webhook = await ctx.webhooks.setEnabled(owner, stored.id, !stored.enabled);
      if (!webhook) throw notFound(MESSAGES.webhookNotFound);
      return webhook;
    },

    /**
     * One page of the attempt log, as the seed shows it (the validator applied page 1, per_page 25), narrowed
     * by the optional filters; `total` counts the rows that match. With response validation off (production)
     * the page is written as JSON text straight from the stored rows (present.ts logJson, the same bytes);
     * with it on, as objects for the validator to check.
     */
    async sendLogPage(res: Response, webhook: Webhook, query: { page: number; per_page: number } & LogFilterQuery): Promise<void> {
      const { page, per_page: perPage } = query;
      const filter = toLogFilter(ctx.spec, query);
      const read = <Row>(map: (row: LogTable) => Row) => listLogs(ctx.database, webhook.id, { page, perPage }, filter, map);
      const pagination = (total: number): Schemas["Pagination"] => ({ current_page: page, per_page: perPage, total, last_page: Math.max(1, Math.ceil(total / perPage)) });
      if (ctx.config.validateResponses) {
        const { rows, total } = await read((row) => presentLog(toLog(row)));
        const body: Schemas["WebhookLogPage"] = { success: true, data: rows, pagination: pagination(total) };
        res.json(body);
      } else {
        const { rows, total } = await read(logJson);
        res.type("application/json").send(`{"success":true,"data":[${rows.join(",")}],"pagination":${JSON.stringify(pagination(total))}}`);
      }
    },

    /** A new signing secret (generated unless given), the replaced one still signing during the overlap. */
    async rotateSecret(owner: Owner, webhook: Webhook, body: Schemas["WebhookSecretRotateRequest"] | undefined): Promise<Schemas["WebhookSecretRotatedResponse"]> {
      const given = body?.webhook_secret ?? undefined;
      const secret = given ?? generateSecret();
      const overlapMs = ctx.config.secretRotationOverlapHours * HOUR_MS;
      const rotated = await ctx.webhooks.rotateSecret(owner, webhook.id, secret, { now: ctx.delivery.now(), overlapMs });
      if (!rotated) throw notFound(MESSAGES.webhookNotFound); // deleted meanwhile
      const expiresAt = rotated.previousSecretExpiresAt;
      return {
        success: true,
        message: "Webhook secret rotated",
        data: {
          previous_secret_expires_at: rotated.previousSecret === null || expiresAt === null ? null : toApiTimestamp(expiresAt),
          secret_generated: given === undefined,
          // The one place a secret is ever returned: the generated one, this once.
          ...(given === undefined ? { webhook_secret: secret } : {}),
        },
      };
    },

    async retry(webhook: Webhook, logId: string): Promise<{ log_id: string; original_log_id: string; queued_at: string }> {
      const result = await ctx.delivery.retryLog(webhook, logId);
      if (result.outcome === "not_found") throw notFound(MESSAGES.logNotFound);
      if (result.outcome === "not_retriable") throw notRetriable();
      return { log_id: result.logId, original_log_id: result.originalLogId, queued_at: toApiTimestamp(result.queuedAt) };
    },

    /** Queues the webhook's failed deliveries of [since, until) again (in the background); how many. */
    async recover(webhook: Webhook, body: Schemas["WebhookRecoverRequest"]): Promise<{ deliveries_queued: number }> {
      // Judged by the engine's clock, as the count, the queueing and retention that follow are.
      const { errors, range } = checkRecoveryRange(ctx.spec.validationMessages, ctx.config.logRetentionDays, webhook, body, ctx.delivery.now());
      if (Object.keys(errors).length > 0) throw validationFailed(errors);
      const { deliveriesQueued } = await ctx.delivery.recover(webhook, range);
      return { deliveries_queued: deliveriesQueued };
    },
  };
}
