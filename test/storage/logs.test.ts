import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../server/storage/db.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { countLogs, findLog, insertTestLog, listLogs } from "../../server/storage/logs.js";
import { purgeBefore } from "../../server/storage/queue/purge.js";
import { backends } from "../support/databases.js";
import { T0, payloadFor, seedWebhook } from "./fixtures.js";
import { agentOwner } from "../../server/storage/owner.js";

describe.each(backends)("logs on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());
  /** The purge's log-row count (deliveries and events are tested in deliveries.test.ts). */
  const purgeLogsBefore = async (database: Database, cutoffMs: number, batchSize: number) => (await purgeBefore(database, cutoffMs, batchSize)).logs;

  async function finishedTestLogs(webhookId: string, count: number, start = T0) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const log = await insertTestLog(database, {
        webhookId,
        event: "webhook.test",
        requestPayload: JSON.stringify({ n: i }),
        status: "success",
        httpStatus: 200,
        durationMs: 10,
        deliveredAt: start + i * 1000,
        now: start + i * 1000,
      });
      ids.push(log.id);
    }
    return ids;
  }

  it("pages are newest first, ordered by created_at then id", async () => {
    const { webhook } = await seedWebhook(database);
    const ids = await finishedTestLogs(webhook.id, 7);
    const newestFirst = [...ids].reverse();
    const page1 = await listLogs(database, webhook.id, { page: 1, perPage: 3 });
    const page3 = await listLogs(database, webhook.id, { page: 3, perPage: 3 });
    expect(page1.rows.map((r) => r.id)).toEqual(newestFirst.slice(0, 3));
    expect(page3.rows.map((r) => r.id)).toEqual(newestFirst.slice(6));
    expect(page1.total).toBe(7);
  });

  it("rows created in the same millisecond come newest first by id", async () => {
    const { webhook } = await seedWebhook(database);
    const a = await insertTestLog(database, { webhookId: webhook.id, event: "webhook.test", requestPayload: "{}", status: "success", durationMs: 1, now: T0 });
    const b = await insertTestLog(database, { webhookId: webhook.id, event: "webhook.test", requestPayload: "{}", status: "failed", durationMs: 1, now: T0 });
    expect((await listLogs(database, webhook.id, { page: 1, perPage: 10 })).rows.map((r) => r.id)).toEqual([b.id, a.id]);
  });

  it("total comes from the webhook's counter, not from counting rows", async () => {
    const { webhook } = await seedWebhook(database);
    await finishedTestLogs(webhook.id, 3);
    // Tampering with the counter shows that listing does not count: it reads the counter.
    await database.db.updateTable("webhooks").set({ logs_total: 1000 }).where("id", "=", webhook.id).execute();
    expect((await listLogs(database, webhook.id, { page: 1, perPage: 25 })).total).toBe(1000);
  });

  it("a page at or past the counter's end is empty, with the counter's total, even if rows remain", async () => {
    const { webhook } = await seedWebhook(database);
    expect(await listLogs(database, webhook.id, { page: 1, perPage: 25 })).toEqual({ rows: [], total: 0 });
    await finishedTestLogs(webhook.id, 3);
    // The page is cut by the counter (read in the page's own statement), not by the rows found.
    await database.db.updateTable("webhooks").set({ logs_total: 2 }).where("id", "=", webhook.id).execute();
    expect(await listLogs(database, webhook.id, { page: 2, perPage: 2 })).toEqual({ rows: [], total: 2 });
    expect((await listLogs(database, webhook.id, { page: 1, perPage: 2 })).rows).toHaveLength(2);
  });

  it("every write that inserts log rows keeps the counter equal to the row count", async () => {
    const { agent, webhook } = await seedWebhook(database);
    await finishedTestLogs(webhook.id, 2);
    await recordEvent(database, {
      source: agentOwner(agent.id),
      event: "event_phone_call_started",
      data: {},
      occurredAt: T0,
      webhookIds: [webhook.id],
      buildPayload: payloadFor,
      now: T0,
    });
    expect(await countLogs(database, webhook.id)).toBe(3);
    expect(await rowCount(webhook.id)).toBe(3);
  });

  it("purge deletes at most batchSize of the oldest rows per call and keeps the counter right", async () => {
    const { webhook } = await seedWebhook(database);
    const ids = await finishedTestLogs(webhook.id, 10); // created at T0 … T0 + 9 s
    const cutoff = T0 + 7000; // rows 0..6 are older

    expect(await purgeLogsBefore(database, cutoff, 3)).toBe(3);
    expect(await findLog(database, webhook.id, ids[0]!)).toBeUndefined();
    expect(await findLog(database, webhook.id, ids[3]!)).toBeDefined();
    expect(await countLogs(database, webhook.id)).toBe(7);

    expect(await purgeLogsBefore(database, cutoff, 3)).toBe(3);
    expect(await purgeLogsBefore(database, cutoff, 3)).toBe(1);
    expect(await purgeLogsBefore(database, cutoff, 3)).toBe(0);
    expect(await countLogs(database, webhook.id)).toBe(3);
    expect(await rowCount(webhook.id)).toBe(3);
    const left = await listLogs(database, webhook.id, { page: 1, perPage: 25 });
    expect(left.rows.map((r) => r.id)).toEqual([ids[9], ids[8], ids[7]]);
    expect(left.total).toBe(3);
  });

  it("purge keeps the log rows of attempts still queued", async () => {
    const { agent, webhook } = await seedWebhook(database);
    await recordEvent(database, {
      source: agentOwner(agent.id),
      event: "event_phone_call_started",
      data: {},
      occurredAt: T0,
      webhookIds: [webhook.id],
      buildPayload: payloadFor,
      now: T0,
    });
    expect(await purgeLogsBefore(database, T0 + 1_000_000, 100)).toBe(0);
    expect(await countLogs(database, webhook.id)).toBe(1);
  });

  it("purge keeps each webhook's counter right when a batch spans webhooks", async () => {
    const first = await seedWebhook(database);
    const second = await seedWebhook(database);
    await finishedTestLogs(first.webhook.id, 4, T0);
    await finishedTestLogs(second.webhook.id, 4, T0 + 500);
    expect(await purgeLogsBefore(database, T0 + 10_000, 5)).toBe(5);
    expect((await countLogs(database, first.webhook.id)) + (await countLogs(database, second.webhook.id))).toBe(3);
    expect(await countLogs(database, first.webhook.id)).toBe(await rowCount(first.webhook.id));
    expect(await countLogs(database, second.webhook.id)).toBe(await rowCount(second.webhook.id));
  });

  it("a test log is a finished attempt with no delivery", async () => {
    const { webhook } = await seedWebhook(database);
    const log = await insertTestLog(database, {
      webhookId: webhook.id,
      event: "webhook.test",
      requestPayload: '{"event":"webhook.test","test":true}',
      status: "failed",
      httpStatus: 500,
      responseBody: "Internal Server Error",
      responseHeaders: { "content-type": "text/plain" },
      error: "HTTP 500 Internal Server Error",
      durationMs: 150.4,
      now: T0,
    });
    expect(await findLog(database, webhook.id, log.id)).toEqual({
      id: log.id,
      webhookId: webhook.id,
      deliveryId: null,
      event: "webhook.test",
      attempt: 1,
      status: "failed",
      httpStatus: 500,
      requestPayload: '{"event":"webhook.test","test":true}',
      responseBody: "Internal Server Error",
      responseHeaders: { "content-type": "text/plain" },
      error: "HTTP 500 Internal Server Error",
      durationMs: 150,
      deliveredAt: null,
      createdAt: T0,
    });
  });

  it("a log is not found through another webhook", async () => {
    const mine = await seedWebhook(database);
    const theirs = await seedWebhook(database);
    const [id] = await finishedTestLogs(mine.webhook.id, 1);
    expect(await findLog(database, theirs.webhook.id, id!)).toBeUndefined();
  });

  async function rowCount(webhookId: string): Promise<number> {
    const row = await database.db
      .selectFrom("logs")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("webhook_id", "=", webhookId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
});
