// An in-process cache of each owner's (agent's or campaign's) enabled webhooks, indexed by event, for the
// intake fan-out; a campaign's entry also holds its webhooks that take its calls' agent events.
// "Webhook operations clear the agent cache": every webhook write calls invalidate(owner), so a change
// is seen by the very next event. Entries also expire after a short TTL, which bounds staleness when
// another process (the CLI, a second server on PostgreSQL) changes webhooks.
import type { Database } from "../storage/db.js";
import { campaignOwner, ownerKey, type Owner } from "../storage/owner.js";
import { listCallEventWebhooks, listEnabledWebhooks, type Webhook } from "../storage/webhooks.js";

const DEFAULT_TTL_MS = 5_000;
const MAX_OWNERS = 10_000;

interface Entry {
  byEvent: Map<string, Webhook[]>;
  /** A campaign's webhooks with include_call_events; empty for an agent. */
  callEvents: readonly Webhook[];
  loadedAt: number;
}

export class WebhookCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by invalidate, so a load that started before a write cannot store stale rows after it. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly database: Database,
    private readonly ttlMs: number = DEFAULT_TTL_MS,
  ) {}

  /** The owner's enabled webhooks subscribed to `event`. */
  async webhooksFor(owner: Owner, event: string, now = Date.now()): Promise<readonly Webhook[]> {
    return (await this.entry(owner, now)).byEvent.get(event) ?? [];
  }

  /** The campaign's enabled webhooks with include_call_events, oldest first (whatever their events list). */
  async callEventWebhooksFor(campaignId: string, now = Date.now()): Promise<readonly Webhook[]> {
    return (await this.entry(campaignOwner(campaignId), now)).callEvents;
  }

  invalidate(owner: Owner): void {
    const key = ownerKey(owner);
    this.entries.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Whether the owner's webhooks are currently cached (for tests of invalidation). */
  has(owner: Owner): boolean {
    return this.entries.has(ownerKey(owner));
  }

  private async entry(owner: Owner, now: number): Promise<Entry> {
    const key = ownerKey(owner);
    let entry = this.entries.get(key);
    if (!entry || now - entry.loadedAt > this.ttlMs) {
      const generation = this.generations.get(key) ?? 0;
      const webhooks = await listEnabledWebhooks(this.database, owner);
      const callEvents = owner.kind === "campaign" ? await listCallEventWebhooks(this.database, owner.id) : [];
      entry = { byEvent: indexByEvent(webhooks), callEvents, loadedAt: now };
      if ((this.generations.get(key) ?? 0) === generation) {
        if (this.entries.size >= MAX_OWNERS) this.entries.delete(this.entries.keys().next().value as string);
        this.entries.set(key, entry);
      }
    }
    return entry;
  }
}

function indexByEvent(webhooks: readonly Webhook[]): Map<string, Webhook[]> {
  const byEvent = new Map<string, Webhook[]>();
  for (const webhook of webhooks) {
    for (const event of webhook.events) {
      const list = byEvent.get(event);
      if (list) list.push(webhook);
      else byEvent.set(event, [webhook]);
    }
  }
  return byEvent;
}
