// The intake's fan-out cache: a write through this process is seen by the very next event; a change made
// elsewhere (another process: no invalidate here) is seen within the TTL, and a busy owner's events are not
// held up by its reload.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebhookCache } from "../../server/delivery/webhook-cache.js";
import { WebhookWrites } from "../../server/delivery/webhook-writes.js";
import type { Database } from "../../server/storage/db.js";
import { agentOwner } from "../../server/storage/owner.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { T0, seedWebhook, webhookInput } from "./fixtures.js";

const TTL = 5_000;
/** Past this age an entry is served while it is reloaded. */
const REFRESH = 4_000;
const EVENT = "event_phone_call_ended";

describe.each(backends)("the webhook cache on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  const ids = (webhooks: readonly { id: string }[]) => webhooks.map((w) => w.id);

  it("an entry in the last fifth of its TTL is served as it is while one reload runs; the reload's rows are served after it", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const owner = agentOwner(agent.id);
    const cache = new WebhookCache(database, TTL);
    expect(ids(await cache.webhooksFor(owner, EVENT, T0))).toEqual([webhook.id]);
    // Another process adds a webhook: this cache is not told.
    const added = await createWebhook(database, owner, webhookInput({ name: "Added elsewhere" }), { now: T0 + 1 });
    expect(ids(await cache.webhooksFor(owner, EVENT, T0 + REFRESH))).toEqual([webhook.id]);
    expect(ids(await cache.webhooksFor(owner, EVENT, T0 + REFRESH + 1))).toEqual([webhook.id]);
    await vi.waitFor(async () => expect(ids(await cache.webhooksFor(owner, EVENT, T0 + REFRESH + 2))).toEqual([webhook.id, added.id]));
  });

  it("an entry older than the TTL is never served: the event waits for the reload", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const owner = agentOwner(agent.id);
    const cache = new WebhookCache(database, TTL);
    await cache.webhooksFor(owner, EVENT, T0);
    const added = await createWebhook(database, owner, webhookInput({ name: "Added elsewhere" }), { now: T0 + 1 });
    expect(ids(await cache.webhooksFor(owner, EVENT, T0 + TTL + 1))).toEqual([webhook.id, added.id]);
  });

  it("a write through this process is seen by the next event, also when a reload that began before it ends after it", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const owner = agentOwner(agent.id);
    const cache = new WebhookCache(database, TTL);
    const writes = new WebhookWrites(database, cache);
    await cache.webhooksFor(owner, EVENT, T0);
    // Starts a background reload, then disables the webhook before that reload can have finished.
    const stale = cache.webhooksFor(owner, EVENT, T0 + REFRESH + 1);
    await writes.setEnabled(owner, webhook.id, false);
    expect(ids(await stale)).toEqual([webhook.id]);
    expect(await cache.webhooksFor(owner, EVENT, T0 + REFRESH + 2)).toEqual([]);
    // Whatever the earlier reload read, it is not stored over the write.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.webhooksFor(owner, EVENT, T0 + REFRESH + 3)).toEqual([]);
  });

  it("events that miss together share one load", async () => {
    const { agent, webhook } = await seedWebhook(database);
    const owner = agentOwner(agent.id);
    const cache = new WebhookCache(database, TTL);
    const select = vi.spyOn(database.db, "selectFrom");
    const all = await Promise.all([1, 2, 3].map(() => cache.webhooksFor(owner, EVENT, T0)));
    expect(all.map(ids)).toEqual([[webhook.id], [webhook.id], [webhook.id]]);
    expect(select).toHaveBeenCalledTimes(1);
  });
});
