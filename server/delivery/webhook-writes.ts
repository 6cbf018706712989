// Every change to an agent's webhooks goes through here: the intake fans events out from a per-agent cache
// (agent-cache.ts), and a write that forgot to invalidate it would send the next events to the old set.
// The HTTP handlers use it today; a new write path (the CLI, a campaign) must too.
import type { Database } from "../storage/db.js";
import * as store from "../storage/webhooks.js";
import type { Webhook, WebhookInput } from "../storage/webhooks.js";
import type { AgentWebhookCache } from "./agent-cache.js";

export class WebhookWrites {
  constructor(
    private readonly database: Database,
    private readonly cache: Pick<AgentWebhookCache, "invalidate">,
  ) {}

  async create(agentId: string, input: WebhookInput): Promise<Webhook> {
    const webhook = await store.createWebhook(this.database, agentId, input);
    this.cache.invalidate(agentId);
    return webhook;
  }

  /** Only the fields present change. Undefined when the webhook is not found (deleted meanwhile). */
  async update(agentId: string, webhookId: string, changes: Partial<WebhookInput>): Promise<Webhook | undefined> {
    const webhook = await store.updateWebhook(this.database, agentId, webhookId, changes);
    if (webhook) this.cache.invalidate(agentId);
    return webhook;
  }

  /** Disabling cancels the webhook's queued deliveries. Undefined when not found. */
  async setEnabled(agentId: string, webhookId: string, enabled: boolean): Promise<Webhook | undefined> {
    const webhook = await store.setWebhookEnabled(this.database, agentId, webhookId, enabled);
    if (webhook) this.cache.invalidate(agentId);
    return webhook;
  }

  /** Soft delete; cancels the queued deliveries. False when not found. */
  async delete(agentId: string, webhookId: string): Promise<boolean> {
    const deleted = await store.deleteWebhook(this.database, agentId, webhookId);
    if (deleted) this.cache.invalidate(agentId);
    return deleted;
  }
}
