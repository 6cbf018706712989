// Secret rotation in storage (migration 0005): the replaced secret and its expiry, the secrets a delivery
// is signed with at a given time, a plain change of secret ending the overlap, and the claim handing the
// worker the list, judged at the claim's `now` (both databases).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../server/storage/db.js";
import { agentOwner } from "../../server/storage/owner.js";
import { claimDueDeliveries } from "../../server/storage/queue/claim.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { findWebhook, rotateWebhookSecret, signingSecrets, updateWebhook } from "../../server/storage/webhooks.js";
import { backends } from "../support/databases.js";
import { T0, payloadFor, seedWebhook } from "./fixtures.js";

const OLD = "optional_secret_for_hmac";
const NEW = "whsec_" + Buffer.from("a new 24-byte signing k.").toString("base64");
const OVERLAP = 24 * 3_600_000;

describe("signingSecrets", () => {
  const rotated = { webhookSecret: NEW, previousSecret: OLD, previousSecretExpiresAt: T0 + OVERLAP };
  it("is the current secret, then the previous one until its expiry (exclusive)", () => {
    expect(signingSecrets(rotated, T0)).toEqual([NEW, OLD]);
    expect(signingSecrets(rotated, T0 + OVERLAP - 1)).toEqual([NEW, OLD]);
    expect(signingSecrets(rotated, T0 + OVERLAP)).toEqual([NEW]);
  });
  it("is empty for an unsigned webhook, and never holds an empty secret", () => {
    expect(signingSecrets({ webhookSecret: null, previousSecret: null, previousSecretExpiresAt: null }, T0)).toEqual([]);
    expect(signingSecrets({ webhookSecret: "", previousSecret: "", previousSecretExpiresAt: T0 + 1 }, T0)).toEqual([]);
  });
});

describe.each(backends)("secret rotation on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  it("keeps the replaced secret until now + overlap; a second rotation drops the oldest", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookSecret: OLD });
    const owner = agentOwner(agent.id);
    const once = await rotateWebhookSecret(database, owner, webhook.id, NEW, { now: T0 + 10, overlapMs: OVERLAP });
    expect(once).toMatchObject({ webhookSecret: NEW, previousSecret: OLD, previousSecretExpiresAt: T0 + 10 + OVERLAP, updatedAt: T0 + 10 });
    expect(await findWebhook(database, owner, webhook.id)).toEqual(once);

    const twice = await rotateWebhookSecret(database, owner, webhook.id, "third", { now: T0 + 20, overlapMs: OVERLAP });
    expect(twice).toMatchObject({ webhookSecret: "third", previousSecret: NEW, previousSecretExpiresAt: T0 + 20 + OVERLAP });
  });

  it("a webhook without a secret gets one and no previous secret; an unknown one is undefined", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookSecret: null });
    const owner = agentOwner(agent.id);
    expect(await rotateWebhookSecret(database, owner, webhook.id, NEW, { now: T0 + 1, overlapMs: OVERLAP })).toMatchObject({
      webhookSecret: NEW,
      previousSecret: null,
      previousSecretExpiresAt: null,
    });
    expect(await rotateWebhookSecret(database, owner, "0191b1d0-0000-7000-8000-000000000000", NEW, { overlapMs: OVERLAP })).toBeUndefined();
  });

  it("an update with webhookSecret (a value or null) ends the overlap; other updates keep it", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookSecret: OLD });
    const owner = agentOwner(agent.id);
    await rotateWebhookSecret(database, owner, webhook.id, NEW, { now: T0 + 1, overlapMs: OVERLAP });
    expect(await updateWebhook(database, owner, webhook.id, { name: "Renamed" }, { now: T0 + 2 })).toMatchObject({ previousSecret: OLD });
    expect(await updateWebhook(database, owner, webhook.id, { webhookSecret: "replaced" }, { now: T0 + 3 })).toMatchObject({
      webhookSecret: "replaced",
      previousSecret: null,
      previousSecretExpiresAt: null,
    });
    await rotateWebhookSecret(database, owner, webhook.id, NEW, { now: T0 + 4, overlapMs: OVERLAP });
    expect(await updateWebhook(database, owner, webhook.id, { webhookSecret: null }, { now: T0 + 5 })).toMatchObject({
      webhookSecret: null,
      previousSecret: null,
      previousSecretExpiresAt: null,
    });
  });

  it("the claim hands the worker both secrets during the overlap and the current one after it", async () => {
    const { agent, webhook } = await seedWebhook(database, { webhookSecret: OLD });
    const owner = agentOwner(agent.id);
    await rotateWebhookSecret(database, owner, webhook.id, NEW, { now: T0, overlapMs: OVERLAP });
    const emit = (now: number) =>
      recordEvent(database, { source: owner, event: "event_phone_call_ended", data: {}, occurredAt: now, webhookIds: [webhook.id], buildPayload: payloadFor, now });
    await emit(T0 + 1);
    const [during] = await claimDueDeliveries(database, { owner: "w", limit: 10, leaseMs: 60_000, now: T0 + 2 });
    expect(during!.webhookSecrets).toEqual([NEW, OLD]);
    await emit(T0 + OVERLAP);
    const [after] = await claimDueDeliveries(database, { owner: "w", limit: 10, leaseMs: 60_000, now: T0 + OVERLAP });
    expect(after!.webhookSecrets).toEqual([NEW]);
  });
});
