// Resolves the agent and webhook of the path before validation (as route-model binding does): an unknown
// or foreign agent is a 404 whatever the body, and handlers receive loaded records.
import type { RequestHandler } from "express";
import { agentOwner } from "../storage/owner.js";
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

export function loadWebhook(ctx: AppContext): Binding<{ webhook_id: string }, "environment" | "agent"> {
  return async (req, res, next) => {
    const webhook = await findWebhook(ctx.database, agentOwner(res.locals.agent.id), req.params.webhook_id);
    if (!webhook) throw notFound(MESSAGES.webhookNotFound);
    res.locals.webhook = webhook;
    next();
  };
}
