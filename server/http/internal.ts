// The Internal tag: Talkover's call and campaign platforms hand events to the delivery engine.
import type { IngestResult } from "../delivery/service.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound, validationFailed } from "./errors.js";
import { eventLimits } from "./event-limits.js";
import type { HandlerTable } from "./handler.js";

const accepted = (result: IngestResult) => ({
  success: true as const,
  message: "Event accepted" as const,
  data: { event_id: result.eventId, deliveries_queued: result.deliveriesQueued, replayed: result.replayed },
});

const occurredAt = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

export function internalHandlers(ctx: AppContext) {
  const limits = eventLimits(ctx.spec);
  /** A value of the event's data past a limit its `webhooks:` entry declares is a 422: nothing is stored. */
  const checkData = (kind: "agent" | "campaign", event: string, data: unknown) => {
    const errors = limits.check(kind, event, data);
    if (errors) throw validationFailed(errors);
  };
  return {
    async ingestEvent(req, res) {
      const agentId = req.params.agent_id;
      // The intake is the engine's hot path: the agent comes from the shared cache, not a query per event.
      const agent = await ctx.agents.find(agentId);
      if (!agent) throw notFound(MESSAGES.agentNotFound);
      const { body } = req;
      checkData("agent", body.event, body.data);
      // A campaign of another environment is answered as one that does not exist: never a leak.
      if (body.campaign_id !== undefined && !(await ctx.campaigns.findInEnvironment(agent.environmentId, body.campaign_id))) {
        throw validationFailed({ campaign_id: ["The selected campaign id is invalid."] });
      }
      const result = await ctx.delivery.ingestEvent({
        agentId,
        campaignId: body.campaign_id,
        event: body.event,
        data: body.data,
        occurredAt: occurredAt(body.occurred_at),
        idempotencyKey: body.idempotency_key,
      });
      res.status(202).json(accepted(result));
    },

    async ingestCampaignEvent(req, res) {
      const campaign = await ctx.campaigns.find(req.params.campaign_id);
      if (!campaign) throw notFound(MESSAGES.campaignNotFound);
      const { body } = req;
      checkData("campaign", body.event, body.data);
      const result = await ctx.delivery.ingestCampaignEvent({
        campaign,
        event: body.event,
        data: body.data,
        occurredAt: occurredAt(body.occurred_at),
        idempotencyKey: body.idempotency_key,
      });
      res.status(202).json(accepted(result));
    },
  } satisfies Partial<HandlerTable>;
}
