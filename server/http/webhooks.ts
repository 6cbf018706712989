// Handlers of the Webhooks tag (an agent's webhooks): list, create, show, update, delete, toggle, rotate secret, test.
// What they do is webhook-resource.ts, shared with campaign webhooks; here are the agent's messages and model.
import { agentOwner } from "../storage/owner.js";
import { listWebhooks, type Webhook } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import type { HandlerTable } from "./handler.js";
import { presentWebhook } from "./present.js";
import { testAnswer, webhookResource } from "./webhook-resource.js";

export function webhookHandlers(ctx: AppContext) {
  const present = (webhook: Webhook) => presentWebhook(webhook, ctx.config.errorThreshold);
  const resource = webhookResource(ctx);

  return {
    async listWebhooks(_req, res) {
      const webhooks = await listWebhooks(ctx.database, agentOwner(res.locals.agent.id));
      res.json({ success: true, data: { webhooks: webhooks.map(present), available_events: ctx.spec.availableEvents } });
    },

    async createWebhook(req, res) {
      const webhook = await resource.create(agentOwner(res.locals.agent.id), req.body);
      res.status(201).json({ success: true, message: "Webhook created successfully", data: present(webhook) });
    },

    async showWebhook(_req, res) {
      res.json({ success: true, data: present(res.locals.webhook) });
    },

    async updateWebhook(req, res) {
      const webhook = await resource.update(agentOwner(res.locals.agent.id), res.locals.webhook, req.body);
      res.json({ success: true, message: "Webhook updated successfully", data: present(webhook) });
    },

    async deleteWebhook(_req, res) {
      await resource.remove(agentOwner(res.locals.agent.id), res.locals.webhook);
      res.json({ success: true, message: "Webhook deleted successfully" });
    },

    async toggleWebhook(_req, res) {
      const webhook = await resource.toggle(agentOwner(res.locals.agent.id), res.locals.webhook);
      res.json({ success: true, message: webhook.enabled ? "Webhook enabled" : "Webhook disabled", data: present(webhook) });
    },

    async rotateWebhookSecret(req, res) {
      res.json(await resource.rotateSecret(agentOwner(res.locals.agent.id), res.locals.webhook, req.body));
    },

    async testWebhook(req, res) {
      const result = await ctx.delivery.sendTest(res.locals.agent, res.locals.webhook, req.body?.url);
      res.json(testAnswer(result, "Test webhook sent successfully"));
    },

    async listWebhookLogs(req, res) {
      await resource.sendLogPage(res, res.locals.webhook, req.query);
    },

    async retryWebhookLog(req, res) {
      const data = await resource.retry(res.locals.webhook, req.params.log_id);
      res.json({ success: true, message: "Webhook retry queued successfully", data });
    },

    async recoverWebhook(req, res) {
      const data = await resource.recover(res.locals.webhook, req.body);
      res.status(202).json({ success: true, message: "Webhook recovery queued", data });
    },
  } satisfies Partial<HandlerTable>;
}
