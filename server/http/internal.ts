// The Internal tag: Talkover's call platform hands events to the delivery engine.
import type { Request, Response } from "express";
import type { components } from "../../generated/api.js";
import { getAgent } from "../storage/agents.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";
import { TtlCache } from "./ttl-cache.js";

type EventIntake = components["schemas"]["EventIntake"];

export function internalHandlers(ctx: AppContext) {
  // Agents are never deleted: one that exists can be remembered (the intake is the engine's hot path).
  const agents = new TtlCache<string, true>(60_000);
  return {
    async ingestEvent(req: Request, res: Response) {
      const agentId = String(req.params.agent_id);
      const exists = await agents.get(agentId, async () => ((await getAgent(ctx.database, agentId)) ? true : undefined));
      if (!exists) throw notFound(MESSAGES.agentNotFound);
      const body = req.body as EventIntake;
      const result = await ctx.delivery.ingestEvent({
        agentId,
        event: body.event,
        data: body.data,
        occurredAt: body.occurred_at === undefined ? undefined : Date.parse(body.occurred_at),
        idempotencyKey: body.idempotency_key,
      });
      res.status(202).json({
        success: true,
        message: "Event accepted",
        data: { event_id: result.eventId, deliveries_queued: result.deliveriesQueued, replayed: result.replayed },
      });
    },
  };
}
