// Resolves the agent and webhook of the path before validation (as route-model binding does): an unknown
// or foreign agent is a 404 whatever the body, and handlers receive loaded records.
import type { RequestHandler } from "express";
import { findAgentInEnvironment } from "../storage/agents.js";
import type { Environment } from "../storage/environments.js";
import { findWebhook } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";

export function loadAgent(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const environment = res.locals.environment as Environment;
    const agent = await findAgentInEnvironment(ctx.database, environment.id, String(req.params.agent_id));
    if (!agent) throw notFound(MESSAGES.agentNotFound);
    res.locals.agent = agent;
    next();
  };
}

export function loadWebhook(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const webhook = await findWebhook(ctx.database, res.locals.agent.id, String(req.params.webhook_id));
    if (!webhook) throw notFound(MESSAGES.webhookNotFound);
    res.locals.webhook = webhook;
    next();
  };
}
