// Resolves the owner (agent or campaign) and webhook of the path before validation (as route-model binding
// does): an unknown or foreign owner is a 404 whatever the body, and handlers receive loaded records.
import type { RequestHandler } from "express";
import { agentOwner, campaignOwner, type Owner } from "../storage/owner.js";
import { findWebhook } from "../storage/webhooks.js";
import type { AppContext, Resolved } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";

type Binding<Path, Has extends keyof Resolved> = RequestHandler<Path, unknown, unknown, unknown, Pick<Resolved, Has> & Partial<Resolved>>;

export function loadAgent(ctx: AppContext): Binding<{ agent_id: string }, "environment"> {
  return async (req, res, next) => {
    const agent = await ctx.agents.findInEnvironment(res.locals.environment.id, req.params.agent_id);
    if (!agent) throw notFound(MESSAGES.agentNotFound);
    res.locals.agent = agent;
    next();
  };
}

export function loadCampaign(ctx: AppContext): Binding<{ campaign_id: string }, "environment"> {
  return async (req, res, next) => {
    const campaign = await ctx.campaigns.findInEnvironment(res.locals.environment.id, req.params.campaign_id);
    if (!campaign) throw notFound(MESSAGES.campaignNotFound);
    res.locals.campaign = campaign;
    next();
  };
}

/** The webhook of the path, among those of the owner that loadAgent or loadCampaign resolved before it. */
export function loadWebhook(ctx: AppContext, kind: Owner["kind"]): Binding<{ webhook_id: string }, "environment"> {
  return async (req, res, next) => {
    const owner = kind === "agent" ? agentOwner(res.locals.agent!.id) : campaignOwner(res.locals.campaign!.id);
    const webhook = await findWebhook(ctx.database, owner, req.params.webhook_id);
    if (!webhook) throw notFound(MESSAGES.webhookNotFound);
    res.locals.webhook = webhook;
    next();
  };
}
