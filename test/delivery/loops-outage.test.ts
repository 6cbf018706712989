// The background loops live through a database that goes away: the worker's claims and outcome writes and
// retention back off, say so once, and pick up by themselves when the database is back. The outage is simulated by a Database
// whose every use fails while `down` is set (the real fault tests over PostgreSQL and SQLite belong to the
// database-fault suite).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../../server/logger.js";
import { startRetention } from "../../server/delivery/retention.js";
import { DeliveryWorker } from "../../server/delivery/worker.js";
import type { Sender, SendResult } from "../../server/delivery/send.js";
import { openDatabase, type Database } from "../../server/storage/db.js";
import { findLog } from "../../server/storage/logs.js";
import { recordEvent } from "../../server/storage/queue/record-events.js";
import { waitFor } from "../engine/harness.js";
import { payloadFor, seedWebhook } from "../storage/fixtures.js";
import { agentOwner } from "../../server/storage/owner.js";

function flakyDatabase(real: Database) {
  const state = { down: false };
  const database: Database = {
    get db() {
      if (state.down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      return real.db;
    },
    dialect: real.dialect,
    close: () => real.close(),
  };
  return { database, state };
}

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (_fields: unknown, message: string) => lines.push({ level, message });
  const logger = { warn: at("warn"), info: at("info"), error: at("error"), debug: at("debug") } as unknown as Logger;
  return { lines, logger, about: (what: string) => lines.filter((l) => l.message.startsWith(what)).map((l) => l.level) };
}

/** A sender whose attempts succeed when the test lets them go. */
function gatedSender() {
  const sent: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sender: Sender = {
    async send(request): Promise<SendResult> {
      sent.push(request.body);
      await gate;
      return { ok: true, status: 200, durationMs: 1 };
    },
    close: async () => {},
  };
  return { sender, sent, release };
}

describe("the worker through a database outage", () => {
  let real: Database;
  let worker: DeliveryWorker | undefined;
  beforeEach(async () => {
    real = await openDatabase(":memory:");
  });
  afterEach(async () => {
    await worker?.stop();
    await real.close();
  });

  async function queueOne() {
    const { agent, webhook } = await seedWebhook(real);
    const now = Date.now();
    const recorded = await recordEvent(real, {
      source: agentOwner(agent.id),
      event: "event_phone_call_ended",
      data: {},
      occurredAt: now,
      webhookIds: [webhook.id],
      buildPayload: payloadFor,
      now,
    });
    return { webhookId: webhook.id, logId: recorded.deliveries[0]!.logId };
  }

  it("claims back off while it is down, with one warning, and deliver once it is back, with one info line", async () => {
    const { database, state } = flakyDatabase(real);
    const { lines, logger, about } = recordingLogger();
    const { sender, sent, release } = gatedSender();
    release();
    const { webhookId, logId } = await queueOne();
    state.down = true;
    worker = new DeliveryWorker({ database, sender, logger, userAgent: "test", concurrency: 4, pollIntervalMs: 10 });
    worker.start();
    await waitFor(() => worker!.state === "backingOff", 5_000, "backing off");
    await new Promise((resolve) => setTimeout(resolve, 200)); // several failed claims
    expect(about("claiming deliveries")).toEqual(["warn"]);
    expect(sent).toHaveLength(0);

    state.down = false;
    await waitFor(async () => (await findLog(real, webhookId, logId))?.status === "success", 10_000, "delivered");
    expect(sent).toHaveLength(1);
    expect(about("claiming deliveries")).toEqual(["warn", "info"]);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("an outcome that cannot be written is retried with backoff, not lost and not sent twice", async () => {
    const { database, state } = flakyDatabase(real);
    const { logger, about } = recordingLogger();
    const { sender, sent, release } = gatedSender();
    const { webhookId, logId } = await queueOne();
    worker = new DeliveryWorker({ database, sender, logger, userAgent: "test", concurrency: 4, pollIntervalMs: 10 });
    worker.start();
    await waitFor(() => sent.length === 1, 5_000, "the attempt under way");
    state.down = true;
    release(); // the attempt succeeds while the database is away
    await waitFor(() => about("recording outcomes").length > 0, 5_000, "a failed outcome write");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(about("recording outcomes")).toEqual(["warn"]);

    state.down = false;
    await waitFor(async () => (await findLog(real, webhookId, logId))?.status === "success", 10_000, "the outcome recorded");
    expect(about("recording outcomes")).toEqual(["warn", "info"]);
    expect(sent).toHaveLength(1);
  });
});

describe("retention through a database outage", () => {
  it("retries a failed pass with backoff instead of waiting for the next hourly tick, and says so once", async () => {
    const real = await openDatabase(":memory:");
    const { database, state } = flakyDatabase(real);
    const { about, logger } = recordingLogger();
    state.down = true;
    const retention = startRetention({ database, logger, retentionDays: 30 });
    try {
      await waitFor(() => about("retention purge").length > 0, 5_000, "a failed pass");
      state.down = false;
      await waitFor(() => about("retention purge").includes("info"), 10_000, "a pass after the outage");
      expect(about("retention purge")).toEqual(["warn", "info"]);
    } finally {
      await retention.stop();
      await real.close();
    }
  });
});
