// Resolves the agent and webhook of the path before validation (as route-model binding does): an unknown
// or foreign agent is a 404 whatever the body, and handlers receive loaded records.
import type { RequestHandler } from "express";
import { findAgentInEnvironment, type Agent } from "../storage/agents.js";
import type { Environment } from "../storage/environments.js";
import { findWebhook } from "../storage/webhooks.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";
import { TtlCache } from "./ttl-cache.js";

/** Agents never change environment and are never deleted, so a found agent can be remembered a while. */
const AGENT_CACHE_TTL_MS = 60_000;

export function loadAgent(ctx: AppContext): RequestHandler {
  const known = new TtlCache<string, Agent>(AGENT_CACHE_TTL_MS);
  return async (req, res, next) => {
    const environment = res.locals.environment as Environment;
    const agentId = String(req.params.agent_id);
    const agent = await known.get(`${environment.id}/${agentId}`, () => findAgentInEnvironment(ctx.database, environment.id, agentId));
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
