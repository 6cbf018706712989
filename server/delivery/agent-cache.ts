// An in-process cache of each agent's enabled webhooks, indexed by event, for the intake fan-out.
// "Webhook operations clear the agent cache": every webhook write calls invalidate(agentId), so a change
// is seen by the very next event. Entries also expire after a short TTL, which bounds staleness when
// another process (the CLI, a second server on PostgreSQL) changes webhooks.
import type { Database } from "../storage/db.js";
import { listEnabledWebhooksForAgent, type Webhook } from "../storage/webhooks.js";

const DEFAULT_TTL_MS = 5_000;
const MAX_AGENTS = 10_000;

interface Entry {
  byEvent: Map<string, Webhook[]>;
  loadedAt: number;
}

export class AgentWebhookCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by invalidate, so a load that started before a write cannot store stale rows after it. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly database: Database,
    private readonly ttlMs: number = DEFAULT_TTL_MS,
  ) {}

  /** The agent's enabled webhooks subscribed to `event`. */
  async webhooksFor(agentId: string, event: string, now = Date.now()): Promise<readonly Webhook[]> {
    let entry = this.entries.get(agentId);
    if (!entry || now - entry.loadedAt > this.ttlMs) {
      const generation = this.generations.get(agentId) ?? 0;
      const webhooks = await listEnabledWebhooksForAgent(this.database, agentId);
      entry = { byEvent: indexByEvent(webhooks), loadedAt: now };
      if ((this.generations.get(agentId) ?? 0) === generation) {
        if (this.entries.size >= MAX_AGENTS) this.entries.delete(this.entries.keys().next().value as string);
        this.entries.set(agentId, entry);
      }
    }
    return entry.byEvent.get(event) ?? [];
  }

  invalidate(agentId: string): void {
    this.entries.delete(agentId);
    this.generations.set(agentId, (this.generations.get(agentId) ?? 0) + 1);
  }

  /** Whether the agent's webhooks are currently cached (for tests of invalidation). */
  has(agentId: string): boolean {
    return this.entries.has(agentId);
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
