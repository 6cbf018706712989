// log_counts against the log itself, on both databases: after every kind of write that inserts, deletes or
// changes the status of log rows (intake, the three outcomes, a retrying outcome of a disabled webhook, manual
// retry, recovery, cancel by disable and delete, the claim's cancellation, purge, test logs), (1) the counts
// table equals a recount of the logs table by the migration's own GROUP BY, at every level, and (2) every
// filtered total listLogs gives equals the rows counted one by one, for every status and event filter and
// since/until at, just before and just after minute, hour and day edges and the rows themselves.
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../server/storage/db.js";
import { countFilteredLogs, insertTestLog, listLogs, type LogFilter } from "../../../server/storage/logs.js";
import { logCountsFillSql } from "../../../server/storage/migrations.js";
import { agentOwner } from "../../../server/storage/owner.js";
import { claimDueDeliveries } from "../../../server/storage/queue/claim.js";
import { queueManualRetry } from "../../../server/storage/queue/manual-retry.js";
import { purgeBefore } from "../../../server/storage/queue/purge.js";
import { queueRecoveryBatch } from "../../../server/storage/queue/recover.js";
import { recordAttempts } from "../../../server/storage/queue/record-attempts.js";
import { recordEvents } from "../../../server/storage/queue/record-events.js";
import type { LogStatus } from "../../../server/storage/schema.js";
import { deleteWebhook, setWebhookEnabled } from "../../../server/storage/webhooks.js";
import { backends } from "../../support/databases.js";
import { addWebhooks, payloadFor, seedWebhook } from "../fixtures.js";
import { LEASE, queueTests } from "./helpers.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Midnight UTC: the rows sit around a day, an hour and minutes edges. */
const DAY_EDGE = Date.UTC(2025, 8, 4);
const STATUSES: LogStatus[] = ["pending", "success", "failed", "retrying"];
const EVENTS = ["event_phone_call_started", "event_phone_call_ended"];
/** When the rows are created (two events each, to two webhooks): both sides of each edge, and on it. */
const TIMES = [
  DAY_EDGE - HOUR - 1,
  DAY_EDGE - HOUR,
  DAY_EDGE - MINUTE - 1,
  DAY_EDGE - 30_000,
  DAY_EDGE - 1,
  DAY_EDGE,
  DAY_EDGE + MINUTE - 1,
  DAY_EDGE + MINUTE,
  DAY_EDGE + 2 * MINUTE + 7,
  DAY_EDGE + HOUR + 1,
  DAY_EDGE + 24 * HOUR + 5,
];
const LATER = DAY_EDGE + 24 * HOUR + MINUTE;
const EDGES = [DAY_EDGE - HOUR, DAY_EDGE - MINUTE, DAY_EDGE, DAY_EDGE + MINUTE, DAY_EDGE + 2 * MINUTE, DAY_EDGE + HOUR, DAY_EDGE + 24 * HOUR];

interface LogRow {
  webhook_id: string;
  status: string;
  event: string;
  created_at: number;
}

describe.each(backends)("log counts on $name", (backend) => {
  let database: Database;
  const { claim, outcome } = queueTests(backend, (opened) => (database = opened));

  /** The counts table (zero rows aside) equals the migration's recount of the logs table. */
  async function expectCountsTable(label: string) {
    const recount: string[] = [];
    for (const statement of logCountsFillSql(false)) {
      const select = statement.replace(/^INSERT INTO log_counts \([^)]*\) /, "");
      const rows = await sql<Record<string, unknown>>`${sql.raw(select)}`.execute(database.db);
      for (const r of rows.rows) recount.push([r.webhook_id, r.level, r.bucket, r.status, r.event, r.n].map(String).join("|"));
    }
    const stored = await database.db.selectFrom("log_counts").select(["webhook_id", "level", "bucket", "status", "event", "n"]).where("n", "<>", 0).execute();
    expect(stored.map((r) => Object.values(r).map(String).join("|")).sort(), label).toEqual(recount.sort());
  }

  /**
   * Every filtered total equals the matching rows counted one by one: every status and event filter with no
   * window and with since or until at, 1 ms before and 1 ms after each edge, and at each row time (whose
   * neighbours are rows or edges too); and windows between those instants with a few filters.
   */
  async function expectTotals(label: string, webhookIds: string[]) {
    await expectCountsTable(label);
    const rows = (await database.db.selectFrom("logs").select(["webhook_id", "status", "event", "created_at"]).execute()).map(
      (r): LogRow => ({ ...r, created_at: Number(r.created_at) }),
    );
    const instants = new Set<number>();
    for (const t of EDGES) for (const d of [-1, 0, 1]) instants.add(t + d);
    for (const t of [...TIMES, LATER]) instants.add(t);
    const points = [...instants].sort((a, b) => a - b);
    const keys: Array<Pick<LogFilter, "status" | "event">> = [{}];
    for (const status of STATUSES) keys.push({ status }, ...EVENTS.map((event) => ({ status, event })));
    for (const event of EVENTS) keys.push({ event });
    const filters: LogFilter[] = [];
    for (const key of keys) {
      if (Object.keys(key).length > 0) filters.push(key);
      for (const p of points) filters.push({ ...key, since: p }, { ...key, until: p });
    }
    const fewKeys = [{}, { status: "failed" as const }, { event: EVENTS[1] }, { status: "pending" as const, event: EVENTS[0] }];
    for (let i = 0; i < points.length; i += 4) {
      for (let j = i; j < points.length; j += 3) for (const key of fewKeys) filters.push({ ...key, since: points[i], until: points[j] });
    }
    filters.push({ since: DAY_EDGE - 3 * 24 * HOUR, until: DAY_EDGE + 3 * 24 * HOUR }, { status: "success", since: DAY_EDGE - HOUR - 1, until: LATER + 1 });
    for (const webhookId of webhookIds) {
      {
        for (const filter of filters) {
          const expected = rows.filter(
            (r) =>
              r.webhook_id === webhookId &&
              (filter.status === undefined || r.status === filter.status) &&
              (filter.event === undefined || r.event === filter.event) &&
              (filter.since === undefined || r.created_at >= filter.since) &&
              (filter.until === undefined || r.created_at < filter.until),
          ).length;
          expect(await countFilteredLogs(database, webhookId, filter), `${label}: ${webhookId} ${JSON.stringify(filter)}`).toBe(expected);
        }
      }
      // listLogs answers with the same totals.
      const failed = rows.filter((r) => r.webhook_id === webhookId && r.status === "failed" && r.created_at >= DAY_EDGE).length;
      expect((await listLogs(database, webhookId, { page: 1, perPage: 2 }, { status: "failed", since: DAY_EDGE })).total, label).toBe(failed);
    }
  }

  async function emitAt(agentId: string, webhookIds: string[], times: readonly number[]) {
    for (const [i, at] of times.entries()) {
      await recordEvents(
        database,
        EVENTS.map((event) => ({ source: agentOwner(agentId), event, data: { i }, occurredAt: at, webhookIds, buildPayload: payloadFor, now: at + (i % 2) })),
      );
    }
  }

  it("stay exact through every write to the log", async () => {
    const { agent, webhook: a } = await seedWebhook(database, {}, DAY_EDGE - 2 * HOUR);
    const [b, c] = await addWebhooks(database, agent.id, 2, DAY_EDGE - 2 * HOUR);
    const hooks = [a.id, b!.id, c!.id];
    const owner = agentOwner(agent.id);

    await emitAt(agent.id, [a.id, b!.id], TIMES);
    await expectTotals("intake", hooks);

    // Outcomes of all three kinds; the retries' pending rows are created at `later`.
    const later = LATER;
    const first = await claim("w1", later, 30);
    expect(first.length).toBe(30);
    const kinds = ["success", "failed", "retrying"] as const;
    await recordAttempts(database, {
      owner: "w1",
      outcomes: first.map((d, i) => outcome(d, kinds[i % 3]!, kinds[i % 3] === "retrying" ? { nextAttemptAt: later + 10 } : {})),
      now: later,
    });
    await expectTotals("outcomes", hooks);

    // b's remaining deliveries: some leased, then b disabled (cancel), then a retrying outcome for it (recorded as failed).
    const leased = (await claimDueDeliveries(database, { owner: "w2", limit: 100, leaseMs: LEASE, now: later + 20 })).filter((d) => d.webhookId === b!.id);
    await setWebhookEnabled(database, owner, b!.id, false, { now: later + 21 });
    await expectTotals("cancel by disable", hooks);
    await recordAttempts(database, { owner: "w2", outcomes: leased.map((d) => outcome(d, "retrying", { nextAttemptAt: later + 99 })), now: later + 22 });
    await expectTotals("retrying of a disabled webhook", hooks);

    // The claim's own cancellation: c disabled behind the cancel's back, then its queued delivery claimed.
    await emitAt(agent.id, [c!.id], [later + 30]);
    await database.db.updateTable("webhooks").set({ enabled: backend.name === "postgres" ? (false as never) : (0 as never) }).where("id", "=", c!.id).execute();
    expect(await claim("w3", later + 40)).toEqual(expect.not.arrayContaining([expect.objectContaining({ webhookId: c!.id })]));
    await expectTotals("claim cancels", hooks);

    // Finish a's open deliveries as failed, then retry one by hand and recover the rest.
    for (;;) {
      const open = (await claim("w4", later + 2 * HOUR, 100)).filter((d) => d.webhookId === a.id);
      if (open.length === 0) break;
      await recordAttempts(database, { owner: "w4", outcomes: open.map((d) => outcome(d, "failed")), now: later + 2 * HOUR });
    }
    const failedLog = await database.db.selectFrom("logs").select("id").where("webhook_id", "=", a.id).where("status", "=", "failed").orderBy("id").executeTakeFirstOrThrow();
    const retried = await queueManualRetry(database, { webhookId: a.id, logId: failedLog.id, now: later + 3 * HOUR });
    expect(retried).toMatchObject({ queued: true, alreadyQueued: false });
    await expectTotals("manual retry", hooks);
    const recovered = await queueRecoveryBatch(
      database,
      { webhookId: a.id, sinceMs: DAY_EDGE - 2 * HOUR, untilMs: later + 4 * HOUR, asOf: later + 4 * HOUR },
      { batchSize: 5, now: later + 4 * HOUR },
    );
    expect(recovered.queued).toBe(5);
    await expectTotals("recover", hooks);

    await insertTestLog(database, { webhookId: a.id, event: "webhook.test", requestPayload: "{}", status: "success", durationMs: 3, now: DAY_EDGE - 1 });
    await insertTestLog(database, { webhookId: a.id, event: "webhook.test", requestPayload: "{}", status: "failed", durationMs: 3, now: DAY_EDGE + MINUTE });
    await expectTotals("test logs", [a.id]);

    await deleteWebhook(database, owner, a.id, { now: later + 5 * HOUR });
    await expectTotals("webhook delete", hooks);

    // Retention in small batches, across the edges; the buckets it empties leave no count rows behind.
    for (const cutoff of [DAY_EDGE - MINUTE, DAY_EDGE + 1, DAY_EDGE + HOUR + 2, later + 6 * HOUR]) {
      for (;;) {
        const purged = await purgeBefore(database, cutoff, 3);
        await expectCountsTable(`purge batch before ${new Date(cutoff).toISOString()}`);
        if (purged.logs < 3) break;
      }
      await expectTotals(`purge before ${new Date(cutoff).toISOString()}`, hooks);
    }
    // Every attempt had ended (the deletes cancelled the queued ones): the log is empty, and so are the counts.
    const left = await database.db.selectFrom("logs").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(0);
    expect(await database.db.selectFrom("log_counts").selectAll().execute()).toEqual([]);
  }, 600_000);
});
