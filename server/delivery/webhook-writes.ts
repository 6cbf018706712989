// Every change to an owner's webhooks goes through here: the intake fans events out from a per-owner cache
// (webhook-cache.ts), and a write that forgot to invalidate it would send the next events to the old set.
// The HTTP handlers use it today; a new write path (the CLI, a campaign's handlers) must too.
import type { Database } from "../storage/db.js";
import type { Owner } from "../storage/owner.js";
import * as store from "../storage/webhooks.js";
import type { Webhook, WebhookInput } from "../storage/webhooks.js";
import type { WebhookCache } from "./webhook-cache.js";

export class WebhookWrites {
  constructor(
    private readonly database: Database,
    private readonly cache: Pick<WebhookCache, "invalidate">,
  ) {}

  /** Undefined when the owner already has `max` webhooks (nothing written). */
  async create(owner: Owner, input: WebhookInput, max: number): Promise<Webhook | undefined> {
    const webhook = await store.createWebhookBelowLimit(this.database, owner, input, max);
    if (webhook) this.cache.invalidate(owner);
    return webhook;
  }

  /** Only the fields present change. Undefined when the webhook is not found (deleted meanwhile). */
  async update(owner: Owner, webhookId: string, changes: Partial<WebhookInput>): Promise<Webhook | undefined> {
    const webhook = await store.updateWebhook(this.database, owner, webhookId, changes);
    if (webhook) this.cache.invalidate(owner);
    return webhook;
  }

  /** A new signing secret, the replaced one still signing for overlapMs. Undefined when not found. */
  async rotateSecret(owner: Owner, webhookId: string, secret: string, options: { now: number; overlapMs: number }): Promise<Webhook | undefined> {
    const webhook = await store.rotateWebhookSecret(this.database, owner, webhookId, secret, options);
    if (webhook) this.cache.invalidate(owner);
    return webhook;
  }

  /** Disabling cancels the webhook's queued deliveries. Undefined when not found. */
  async setEnabled(owner: Owner, webhookId: string, enabled: boolean): Promise<Webhook | undefined> {
    const webhook = await store.setWebhookEnabled(this.database, owner, webhookId, enabled);
    if (webhook) this.cache.invalidate(owner);
    return webhook;
  }

  /** Soft delete; cancels the queued deliveries. False when not found. */
  async delete(owner: Owner, webhookId: string): Promise<boolean> {
    const deleted = await store.deleteWebhook(this.database, owner, webhookId);
    if (deleted) this.cache.invalidate(owner);
    return deleted;
  }
}
