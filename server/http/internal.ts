// The Internal tag: Talkover's call platform hands events to the delivery engine.
import type { AppContext } from "./context.js";
import { MESSAGES, notFound } from "./errors.js";
import type { HandlerTable } from "./handler.js";

export function internalHandlers(ctx: AppContext) {
  return {
    async ingestEvent(req, res) {
      const agentId = req.params.agent_id;
      // The intake is the engine's hot path: the agent comes from the shared cache, not a query per event.
      if (!(await ctx.agents.find(agentId))) throw notFound(MESSAGES.agentNotFound);
      const { body } = req;
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
  } satisfies Partial<HandlerTable>;
}
