// The names a consumer needs, as aliases of the types openapi-typescript generates from openapi.yaml.
// Never copy a shape here by hand: when the document changes, `npm run generate` changes these too.
import type { components, operations, paths, webhooks } from "../generated/api.js";

export type { components, operations, paths, webhooks };

type Schemas = components["schemas"];

// Resources and requests
export type Webhook = Schemas["Webhook"];
export type WebhookCreate = Schemas["WebhookCreate"];
export type WebhookUpdate = Schemas["WebhookUpdate"];
export type WebhookStatus = Schemas["WebhookStatus"];
export type WebhookTestRequest = Schemas["WebhookTestRequest"];
export type WebhookLog = Schemas["WebhookLog"];
export type WebhookLogStatus = Schemas["WebhookLogStatus"];
export type Pagination = Schemas["Pagination"];
export type EventIntake = Schemas["EventIntake"];

// Campaign webhooks: an agent webhook's model with `campaign_id`, campaign `events` and `include_call_events`
export type CampaignWebhook = Schemas["CampaignWebhook"];
export type CampaignWebhookCreate = Schemas["CampaignWebhookCreate"];
export type CampaignWebhookUpdate = Schemas["CampaignWebhookUpdate"];
export type CampaignEventIntake = Schemas["CampaignEventIntake"];

// Delivery options
export type HttpMethod = Schemas["HttpMethod"];
export type AuthorizationScheme = Schemas["AuthorizationScheme"];
export type AuthorizationCredentials = Schemas["AuthorizationCredentials"];
export type CustomHeader = Schemas["CustomHeader"];
/** Event name → template; a key outside the events catalogue is a compile error. */
export type PayloadTemplates = Schemas["PayloadTemplates"];

/** One of the 22 agent events a webhook can subscribe to (`event_phone_call_started`, …). */
export type WebhookEventName = Schemas["WebhookEventType"];
export type AvailableEvents = Schemas["AvailableEvents"];
/** One of the 13 events a campaign webhook can subscribe to (`campaign.started`, `campaign_call.failed`, …). */
export type CampaignEventName = Schemas["CampaignEventType"];

// Response bodies
export type WebhookListResponse = Schemas["WebhookListResponse"];
export type WebhookResponse = Schemas["WebhookResponse"];
export type WebhookCreatedResponse = Schemas["WebhookCreatedResponse"];
export type WebhookUpdatedResponse = Schemas["WebhookUpdatedResponse"];
export type WebhookToggledResponse = Schemas["WebhookToggledResponse"];
export type WebhookTestResponse = Schemas["WebhookTestResponse"];
export type WebhookLogPage = Schemas["WebhookLogPage"];
export type RetryQueuedResponse = Schemas["RetryQueuedResponse"];
export type EventAcceptedResponse = Schemas["EventAcceptedResponse"];
export type SuccessMessage = Schemas["SuccessMessage"];
export type CampaignWebhookListResponse = Schemas["CampaignWebhookListResponse"];
export type CampaignWebhookResponse = Schemas["CampaignWebhookResponse"];
export type CampaignWebhookCreatedResponse = Schemas["CampaignWebhookCreatedResponse"];
export type CampaignWebhookUpdatedResponse = Schemas["CampaignWebhookUpdatedResponse"];
export type CampaignWebhookToggledResponse = Schemas["CampaignWebhookToggledResponse"];
export type CampaignWebhookTestResponse = Schemas["CampaignWebhookTestResponse"];
export type CampaignRetryQueuedResponse = Schemas["CampaignRetryQueuedResponse"];
export type HealthStatus = Schemas["HealthStatus"];

// Error bodies (returned as `error` by the client, never thrown)
export type ErrorMessage = Schemas["ErrorMessage"];
export type AuthError = Schemas["AuthError"];
export type ValidationError = Schemas["ValidationError"];
export type NotRetriableError = Schemas["NotRetriableError"];

/**
 * Every body Talkover POSTs to a receiver: the union of the `webhooks:` section of openapi.yaml
 * (the 22 agent `*Event` schemas, the 13 campaign ones and `WebhookTestEvent`). Narrow it with
 * `switch (delivery.event)`; `event_recording` is both an agent and a campaign event, so
 * `DeliveryOf<"event_recording">` is either body.
 */
export type WebhookDelivery = {
  [Name in keyof webhooks]: webhooks[Name]["post"]["requestBody"]["content"]["application/json"];
}[keyof webhooks];

/** The `event` of a delivery: an agent event name, or `webhook.test`. */
export type WebhookDeliveryEvent = WebhookDelivery["event"];

/** The delivery body of one event: `DeliveryOf<"event_phone_call_ended">` is `PhoneCallEndedEvent`. */
export type DeliveryOf<Event extends WebhookDeliveryEvent> = Extract<WebhookDelivery, { event: Event }>;

export type WebhookTestEvent = Schemas["WebhookTestEvent"];
export type WebhookEnvelope = Schemas["WebhookEnvelope"];
