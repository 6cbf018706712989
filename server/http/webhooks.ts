// Handlers of the Webhooks tag: list, create, show, update, delete, toggle, test.
import type { Request, Response } from "express";
import type { components } from "../../generated/api.js";
import * as store from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";
import { presentWebhook } from "./present.js";

type CreateBody = components["schemas"]["WebhookCreate"];
type UpdateBody = components["schemas"]["WebhookUpdate"];
type TestBody = components["schemas"]["WebhookTestRequest"];

/** API field names → storage fields, for the fields present in the body only (partial update). */
function toInput(body: UpdateBody): Partial<store.WebhookInput> {
  const input: Partial<store.WebhookInput> = {};
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
  const present = (webhook: store.Webhook) => presentWebhook(webhook, ctx.config.errorThreshold);

  return {
    async listWebhooks(_req: Request, res: Response) {
      const webhooks = await store.listWebhooks(ctx.database, res.locals.agent.id);
      res.json({ success: true, data: { webhooks: webhooks.map(present), available_events: ctx.spec.availableEvents } });
    },

    async createWebhook(req: Request, res: Response) {
      // The validator has applied the spec's defaults (timeout, max_retries, enabled).
      const body = req.body as Required<Omit<CreateBody, "webhook_secret">> & Pick<CreateBody, "webhook_secret">;
      const webhook = await store.createWebhook(ctx.database, res.locals.agent.id, {
        ...(toInput(body) as store.WebhookInput),
        webhookSecret: body.webhook_secret ?? null,
      });
      ctx.cache.invalidate(res.locals.agent.id);
      res.status(201).json({ success: true, message: "Webhook created successfully", data: present(webhook) });
    },

    async showWebhook(_req: Request, res: Response) {
      res.json({ success: true, data: present(res.locals.webhook) });
    },

    async updateWebhook(req: Request, res: Response) {
      const webhook = await store.updateWebhook(ctx.database, res.locals.agent.id, res.locals.webhook.id, toInput(req.body));
      if (!webhook) throw notFound(MESSAGES.webhookNotFound); // deleted meanwhile
      ctx.cache.invalidate(res.locals.agent.id);
      res.json({ success: true, message: "Webhook updated successfully", data: present(webhook) });
    },

    async deleteWebhook(_req: Request, res: Response) {
      const deleted = await store.deleteWebhook(ctx.database, res.locals.agent.id, res.locals.webhook.id);
      if (!deleted) throw notFound(MESSAGES.webhookNotFound);
      ctx.cache.invalidate(res.locals.agent.id);
      res.json({ success: true, message: "Webhook deleted successfully" });
    },

    async toggleWebhook(_req: Request, res: Response) {
      const enabled = !res.locals.webhook.enabled;
      const webhook = await store.setWebhookEnabled(ctx.database, res.locals.agent.id, res.locals.webhook.id, enabled);
      if (!webhook) throw notFound(MESSAGES.webhookNotFound);
      ctx.cache.invalidate(res.locals.agent.id);
      res.json({ success: true, message: enabled ? "Webhook enabled" : "Webhook disabled", data: present(webhook) });
    },

    async testWebhook(req: Request, res: Response) {
      const url = (req.body as TestBody | undefined)?.url;
      const result = await ctx.delivery.sendTest(res.locals.agent, res.locals.webhook, url);
      const data =
        result.statusCode === undefined ? {} : { data: { status_code: result.statusCode, response_time: Math.round(result.responseTimeMs) } };
      if (result.ok) res.json({ success: true, message: "Test webhook sent successfully", ...data });
      else res.json({ success: false, message: `Webhook test failed: ${result.error ?? "Unknown error"}`, ...data });
    },
  };
}
