// An in-process cache of each owner's (agent's or campaign's) enabled webhooks, indexed by event, for the
// intake fan-out; a campaign's entry also holds its webhooks that take its calls' agent events.
// "Webhook operations clear the agent cache": every webhook write calls invalidate(owner), so a change
// is seen by the very next event. Entries also expire after a short TTL, which bounds staleness when
// another process (the CLI, a second server on PostgreSQL) changes webhooks: an entry older than the TTL is
// never served. So that a busy owner's events do not wait for its reload (1,000 webhooks take tens of ms),
// an entry in the last fifth of its TTL is still served while one reload runs in the background; concurrent misses of
// one owner share one load.
import type { Database } from "../storage/db.js";
import { campaignOwner, ownerKey, type Owner } from "../storage/owner.js";
import { listCallEventWebhooks, listEnabledWebhooks, type Webhook } from "../storage/webhooks.js";

const DEFAULT_TTL_MS = 5_000;
const MAX_OWNERS = 10_000;
/** The part of the TTL after which an event starts a background reload: late, so a busy owner reloads about once per TTL. */
const REFRESH_AFTER = 0.8;

interface Entry {
  byEvent: Map<string, Webhook[]>;
  /** A campaign's webhooks with include_call_events; empty for an agent. */
  callEvents: readonly Webhook[];
  loadedAt: number;
}

interface Load {
  generation: number;
  entry: Promise<Entry>;
}

export class WebhookCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by invalidate, so a load that started before a write cannot store stale rows after it. */
  private readonly generations = new Map<string, number>();
  /** The load running per owner, shared by the events that wait for it. */
  private readonly loads = new Map<string, Load>();

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
    this.loads.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Whether the owner's webhooks are currently cached (for tests of invalidation). */
  has(owner: Owner): boolean {
    return this.entries.has(ownerKey(owner));
  }

  private entry(owner: Owner, now: number): Promise<Entry> | Entry {
    const key = ownerKey(owner);
    const entry = this.entries.get(key);
    const age = entry === undefined ? Infinity : now - entry.loadedAt;
    if (age <= this.ttlMs) {
      // A failed background reload leaves the entry as it is: it expires at the TTL and is then loaded in the request.
      if (age > this.ttlMs * REFRESH_AFTER) this.load(key, owner, now).catch(() => {});
      return entry!;
    }
    return this.load(key, owner, now);
  }

  /** The running load of the owner's webhooks if one started since the last invalidate, else a new one. */
  private load(key: string, owner: Owner, now: number): Promise<Entry> {
    const generation = this.generations.get(key) ?? 0;
    const running = this.loads.get(key);
    if (running !== undefined && running.generation === generation) return running.entry;
    const load: Load = { generation, entry: undefined! };
    load.entry = (async (): Promise<Entry> => {
      try {
        const webhooks = await listEnabledWebhooks(this.database, owner);
        const callEvents = owner.kind === "campaign" ? await listCallEventWebhooks(this.database, owner.id) : [];
        const loaded = { byEvent: indexByEvent(webhooks), callEvents, loadedAt: now };
        if ((this.generations.get(key) ?? 0) === generation) {
          if (!this.entries.has(key) && this.entries.size >= MAX_OWNERS) this.entries.delete(this.entries.keys().next().value as string);
          this.entries.set(key, loaded);
        }
        return loaded;
      } finally {
        if (this.loads.get(key) === load) this.loads.delete(key);
      }
    })();
    this.loads.set(key, load);
    return load.entry;
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
