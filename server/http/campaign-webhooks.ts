// Handlers of the Campaign webhooks tag: the nine operations of Talkover's campaign webhook pages. What they
// do is webhook-resource.ts, shared with agent webhooks; here are the campaign's messages and model.
import { campaignOwner } from "../storage/owner.js";
import { listWebhooks, type Webhook } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import type { HandlerTable } from "./handler.js";
import { presentCampaignWebhook } from "./present.js";
import { testAnswer, webhookResource } from "./webhook-resource.js";

export function campaignWebhookHandlers(ctx: AppContext) {
  const present = (webhook: Webhook) => presentCampaignWebhook(webhook, ctx.config.errorThreshold);
  const resource = webhookResource(ctx);
  const campaignEvents = ctx.spec.campaignEvents;

  return {
    async listCampaignWebhooks(_req, res) {
      const webhooks = await listWebhooks(ctx.database, campaignOwner(res.locals.campaign.id));
      res.json({ success: true, data: { webhooks: webhooks.map(present), available_events: [...campaignEvents] } });
    },

    async createCampaignWebhook(req, res) {
      const webhook = await resource.create(campaignOwner(res.locals.campaign.id), req.body);
      res.status(201).json({ success: true, message: "Webhook created successfully", data: present(webhook) });
    },

    async showCampaignWebhook(_req, res) {
      res.json({ success: true, data: present(res.locals.webhook) });
    },

    async updateCampaignWebhook(req, res) {
      const webhook = await resource.update(campaignOwner(res.locals.campaign.id), res.locals.webhook, req.body);
      res.json({ success: true, message: "Webhook updated successfully", data: present(webhook) });
    },

    async deleteCampaignWebhook(_req, res) {
      await resource.remove(campaignOwner(res.locals.campaign.id), res.locals.webhook);
      res.json({ success: true, message: "Campaign webhook deleted" });
    },

    async toggleCampaignWebhook(_req, res) {
      const webhook = await resource.toggle(campaignOwner(res.locals.campaign.id), res.locals.webhook);
      res.json({ success: true, message: webhook.enabled ? "Webhook enabled" : "Webhook disabled", data: present(webhook) });
    },

    async rotateCampaignWebhookSecret(req, res) {
      res.json(await resource.rotateSecret(campaignOwner(res.locals.campaign.id), res.locals.webhook, req.body));
    },

    async testCampaignWebhook(_req, res) {
      const result = await ctx.delivery.sendCampaignTest(res.locals.campaign, res.locals.webhook);
      res.json(testAnswer(result, "Test payload dispatched"));
    },

    async listCampaignWebhookLogs(req, res) {
      await resource.sendLogPage(res, res.locals.webhook, req.query);
    },

    async retryCampaignWebhookLog(req, res) {
      const data = await resource.retry(res.locals.webhook, req.params.log_id);
      res.json({ success: true, message: "Webhook retry queued", data });
    },

    async recoverCampaignWebhook(req, res) {
      const data = await resource.recover(res.locals.webhook, req.body);
      res.status(202).json({ success: true, message: "Webhook recovery queued", data });
    },
  } satisfies Partial<HandlerTable>;
}
