// Shared bits of the API integration tests.
import type { TestServer } from "../support/server.js";

export const DIALECTS = ["sqlite", "postgres"] as const;

export const validWebhook = {
  name: "My Webhook",
  webhook_url: "https://example.com/webhook",
  webhook_secret: "optional_secret_for_hmac",
  events: ["event_phone_call_started", "event_phone_call_ended"],
  timeout: 30,
  max_retries: 3,
  enabled: true,
};

export const webhooksPath = (t: TestServer, agentId = t.agentId) => `/api/v1/agents/${agentId}/webhooks`;

/** Creates an agent webhook, or a campaign webhook when given its collection's path. */
export async function createWebhook(t: TestServer, body: Record<string, unknown> = validWebhook, path = webhooksPath(t)) {
  const response = await t.api(path, { method: "POST", body });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${response.text}`);
  return response.body.data as { id: string; [key: string]: unknown };
}
