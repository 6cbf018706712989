// The bodies we send, as openapi.yaml's `webhooks:` section documents them. The string built here is the
// exact string signed and sent on every attempt.
import type { components } from "talkover-webhooks/types";
import { toApiTimestamp, toMillisecondTimestamp } from "../storage/time.js";

type Envelope = components["schemas"]["WebhookEnvelope"];
type CampaignEnvelope = components["schemas"]["CampaignWebhookEnvelope"];
type TestEvent = components["schemas"]["WebhookTestEvent"];

export interface EventBodyInput {
  deliveryId: string;
  eventId: string;
  event: string;
  agentId: string;
  /** The call's campaign, when the event was handed over with one. */
  campaignId?: string;
  occurredAt: number;
  data: unknown;
}

/** What opens every envelope: its `id`, the delivery's. An empty id stands in for it in `bodiesById`. */
const ID_MEMBER = '{"id":';
const EMPTY_ID = `${ID_MEMBER}""`;

/**
 * The bodies of one event's deliveries, which differ only in the envelope's first member, the delivery id:
 * the rest (the event's data above all) is serialised once, and each body is the same string `build` gives.
 */
export function bodiesById(build: (deliveryId: string) => string): (deliveryId: string) => string {
  const template = build("");
  if (!template.startsWith(EMPTY_ID)) return build;
  const rest = template.slice(EMPTY_ID.length);
  return (deliveryId) => ID_MEMBER + JSON.stringify(deliveryId) + rest;
}

export function eventBody(input: EventBodyInput): string {
  const envelope: Envelope = {
    id: input.deliveryId,
    event_id: input.eventId,
    event: input.event as Envelope["event"],
    agent_id: input.agentId,
    ...(input.campaignId !== undefined && { campaign_id: input.campaignId }),
    occurred_at: toApiTimestamp(input.occurredAt),
    data: input.data as Envelope["data"],
  };
  return JSON.stringify(envelope);
}

export interface CampaignEventBodyInput {
  deliveryId: string;
  eventId: string;
  event: string;
  campaignId: string;
  /** The campaign's agent; left out of the body when it has none. */
  agentId: string | null;
  occurredAt: number;
  data: unknown;
}

export function campaignEventBody(input: CampaignEventBodyInput): string {
  const envelope: CampaignEnvelope = {
    id: input.deliveryId,
    event_id: input.eventId,
    event: input.event as CampaignEnvelope["event"],
    campaign_id: input.campaignId,
    ...(input.agentId !== null && { agent_id: input.agentId }),
    occurred_at: toApiTimestamp(input.occurredAt),
    data: input.data as CampaignEnvelope["data"],
  };
  return JSON.stringify(envelope);
}

export const TEST_EVENT = "webhook.test";

export function testBody(input: { agentId: string; agentName: string; webhookId: string; webhookName: string; now: number }): string {
  const body: TestEvent = {
    event: TEST_EVENT,
    agent_id: input.agentId,
    agent_name: input.agentName,
    webhook_id: input.webhookId,
    webhook_name: input.webhookName,
    timestamp: toMillisecondTimestamp(input.now),
    test: true,
  };
  return JSON.stringify(body);
}
