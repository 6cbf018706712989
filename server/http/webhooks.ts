// Handlers of the Webhooks tag: list, create, show, update, delete, toggle, test.
import type { components } from "talkover-webhooks/types";
import { agentOwner } from "../storage/owner.js";
import { listWebhooks, type Webhook, type WebhookInput } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import { checkDeliveryOptions } from "./delivery-options.js";
import { MESSAGES, notFound, validationFailed } from "./errors.js";
import type { HandlerTable } from "./handler.js";
import { presentWebhook } from "./present.js";

/** API field names → storage fields, for the fields present in the body only (partial update). */
function toInput(body: components["schemas"]["WebhookUpdate"]): Partial<WebhookInput> {
  const input: Partial<WebhookInput> = {};
  if (body.name !== undefined) input.name = body.name;
  if (body.webhook_url !== undefined) input.webhookUrl = body.webhook_url;
  if (body.webhook_secret !== undefined) input.webhookSecret = body.webhook_secret;
  if (body.events !== undefined) input.events = body.events;
  if (body.timeout !== undefined) input.timeout = body.timeout;
  if (body.max_retries !== undefined) input.maxRetries = body.max_retries;
  if (body.enabled !== undefined) input.enabled = body.enabled;
  return input;
}

export function webhookHandlers(ctx: AppContext) {
  const present = (webhook: Webhook) => presentWebhook(webhook, ctx.config.errorThreshold);

  return {
    async listWebhooks(_req, res) {
      const webhooks = await listWebhooks(ctx.database, agentOwner(res.locals.agent.id));
      res.json({ success: true, data: { webhooks: webhooks.map(present), available_events: ctx.spec.availableEvents } });
    },

    async createWebhook(req, res) {
      const { body } = req; // timeout, max_retries and enabled hold the spec's defaults when omitted
      const options = checkDeliveryOptions(ctx.spec, body);
      if (Object.keys(options.errors).length > 0) throw validationFailed(options.errors);
      const webhook = await ctx.webhooks.create(agentOwner(res.locals.agent.id), {
        ...options.changes,
        name: body.name,
        webhookUrl: body.webhook_url,
        webhookSecret: body.webhook_secret ?? null,
        events: body.events,
        timeout: body.timeout,
        maxRetries: body.max_retries,
        enabled: body.enabled,
      });
      res.status(201).json({ success: true, message: "Webhook created successfully", data: present(webhook) });
    },

    async showWebhook(_req, res) {
      res.json({ success: true, data: present(res.locals.webhook) });
    },

    async updateWebhook(req, res) {
      const options = checkDeliveryOptions(ctx.spec, req.body, res.locals.webhook);
      if (Object.keys(options.errors).length > 0) throw validationFailed(options.errors);
      const webhook = await ctx.webhooks.update(agentOwner(res.locals.agent.id), res.locals.webhook.id, { ...toInput(req.body), ...options.changes });
      if (!webhook) throw notFound(MESSAGES.webhookNotFound); // deleted meanwhile
      res.json({ success: true, message: "Webhook updated successfully", data: present(webhook) });
    },

    async deleteWebhook(_req, res) {
      const deleted = await ctx.webhooks.delete(agentOwner(res.locals.agent.id), res.locals.webhook.id);
      if (!deleted) throw notFound(MESSAGES.webhookNotFound);
      res.json({ success: true, message: "Webhook deleted successfully" });
    },

    async toggleWebhook(_req, res) {
      const enabled = !res.locals.webhook.enabled;
      const webhook = await ctx.webhooks.setEnabled(agentOwner(res.locals.agent.id), res.locals.webhook.id, enabled);
      if (!webhook) throw notFound(MESSAGES.webhookNotFound);
      res.json({ success: true, message: enabled ? "Webhook enabled" : "Webhook disabled", data: present(webhook) });
    },

    async testWebhook(req, res) {
      const result = await ctx.delivery.sendTest(res.locals.agent, res.locals.webhook, req.body?.url);
      const data =
        result.statusCode === undefined ? {} : { data: { status_code: result.statusCode, response_time: Math.round(result.responseTimeMs) } };
      if (result.ok) res.json({ success: true, message: "Test webhook sent successfully", ...data });
      else res.json({ success: false, message: `Webhook test failed: ${result.error ?? "Unknown error"}`, ...data });
    },
  } satisfies Partial<HandlerTable>;
}
