// The attempt log's filters (status, event, since, until) on both log listings, on SQLite and PostgreSQL:
// each filter at and past its boundaries, combinations, and pagination totals that count the matching rows.
// Rows are written straight into the logs table (with logs_total and log_counts kept right), so statuses, events and
// creation times are exactly those the assertions name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../../server/storage/db.js";
import { newId } from "../../server/storage/ids.js";
import { LogCountDeltas, recordLogChanges } from "../../server/storage/queue/log-counts.js";
import type { LogStatus } from "../../server/storage/schema.js";
import { toApiTimestamp } from "../../server/storage/time.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { createWebhook, DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

/** A fixed instant for the since/until ordering checks (no row is needed there). */
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const iso = (ms: number) => toApiTimestamp(ms);

interface Row {
  status: LogStatus;
  event: string;
  at: number;
}

/** 12 rows, one a second from `start`: statuses and events cycle, so every filter has a known answer. */
function fixture(start: number, events: readonly string[]): Row[] {
  const statuses: LogStatus[] = ["success", "failed", "retrying", "pending"];
  return Array.from({ length: 12 }, (_, i) => ({ status: statuses[i % 4]!, event: events[i % events.length]!, at: start + i * 1000 }));
}

async function insertRows(t: TestServer, webhookId: string, rows: Row[]): Promise<void> {
  await inTransaction(t.server.database, async (tx) => {
    const counts = new LogCountDeltas();
    for (const row of rows) {
      counts.add({ webhook_id: webhookId, event: row.event, created_at: row.at }, row.status);
      await tx.db
        .insertInto("logs")
        .values({
          id: newId(row.at),
          webhook_id: webhookId,
          delivery_id: null,
          event: row.event,
          attempt: 1,
          status: row.status,
          http_status: null,
          request_payload: "{}",
          response_body: null,
          response_headers: null,
          error: null,
          duration_ms: null,
          delivered_at: null,
          created_at: row.at,
        })
        .execute();
    }
    await recordLogChanges(tx, counts);
  });
}

const RESOURCES = [
  { name: "agent", operation: "listWebhookLogs", events: ["event_phone_call_started", "event_phone_call_ended", "webhook.test"] },
  { name: "campaign", operation: "listCampaignWebhookLogs", events: ["campaign.started", "event_phone_call_ended", "webhook.test"] },
] as const;

describe.each(DIALECTS)("log filters on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  describe.each(RESOURCES)("$name webhook logs", (resource) => {
    let base: string;
    let rows: Row[];
    const start = Date.now() - 3_600_000; // within retention: the server's purge leaves the rows alone

    beforeAll(async () => {
      const path = resource.name === "agent" ? webhooksPath(t) : `/api/v1/campaigns/${t.campaignId}/webhooks`;
      const body = resource.name === "agent" ? validWebhook : { ...validWebhook, events: ["campaign.started"], include_call_events: true };
      const created = await createWebhook(t, body, path);
      base = `${path}/${created.id}/logs`;
      rows = fixture(start, resource.events);
      await insertRows(t, created.id, rows);
    });

    /** The page, checked against the spec's WebhookLogPage, and the rows the fixture says should match. */
    async function list(query: Record<string, string | number>) {
      const r = await t.api(`${base}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`);
      expect(r.status, r.text).toBe(200);
      expect(componentErrors("WebhookLogPage", r.body)).toEqual([]);
      return r.body as { data: Array<{ status: string; event: string; created_at: string }>; pagination: Record<string, number> };
    }
    const newestFirst = (matching: Row[]) => [...matching].sort((a, b) => b.at - a.at).map((r) => iso(r.at));

    it("without filters: every row, total from the counter", async () => {
      const page = await list({});
      expect(page.pagination).toEqual({ current_page: 1, per_page: 25, total: 12, last_page: 1 });
    });

    it.each(["pending", "success", "failed", "retrying"])("status=%s: only that status, total counts it", async (status) => {
      const page = await list({ status });
      const matching = rows.filter((r) => r.status === status);
      expect(page.data.map((r) => r.created_at)).toEqual(newestFirst(matching));
      expect(page.data.every((r) => r.status === status)).toBe(true);
      expect(page.pagination.total).toBe(matching.length);
    });

    it("event: each name the log holds, and a catalogued name it does not hold matches nothing", async () => {
      for (const event of resource.events) {
        const page = await list({ event });
        const matching = rows.filter((r) => r.event === event);
        expect(page.data.map((r) => r.created_at)).toEqual(newestFirst(matching));
        expect(page.pagination.total).toBe(matching.length);
      }
      const none = await list({ event: "event_action_failed" });
      expect(none).toMatchObject({ data: [], pagination: { total: 0, last_page: 1 } });
      const campaignEvent = await list({ event: "campaign_call.failed" });
      expect(campaignEvent.pagination.total).toBe(0);
    });

    it("since is inclusive and until exclusive, to the microsecond", async () => {
      const at = rows[5]!.at;
      expect((await list({ since: iso(at) })).pagination.total).toBe(7); // rows 5..11
      expect((await list({ until: iso(at) })).pagination.total).toBe(5); // rows 0..4
      expect((await list({ since: iso(at), until: iso(at) })).pagination.total).toBe(0); // an empty window
      expect((await list({ since: iso(at), until: iso(at + 1) })).data.map((r) => r.created_at)).toEqual([iso(at)]);
      // one microsecond after the row: it is no longer at or after since, and it is before until
      const justAfter = new Date(at).toISOString().replace("Z", "001Z");
      expect((await list({ since: justAfter })).pagination.total).toBe(6);
      expect((await list({ until: justAfter })).pagination.total).toBe(6);
      // one microsecond before it
      const justBefore = new Date(at - 1).toISOString().replace("Z", "999Z");
      expect((await list({ since: justBefore })).pagination.total).toBe(7);
      expect((await list({ until: justBefore })).pagination.total).toBe(5);
    });

    it("since and until take any RFC 3339 time zone", async () => {
      const at = rows[5]!.at;
      const plusTwo = new Date(at + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
      expect((await list({ since: plusTwo })).pagination.total).toBe(7);
      const lower = iso(at).replace("T", "t").replace("Z", "z");
      expect((await list({ until: lower })).pagination.total).toBe(5);
    });

    it("filters combine, and page through the matching rows only", async () => {
      const since = rows[2]!.at;
      const until = rows[10]!.at;
      const event = resource.events[1];
      const status = "failed";
      const matching = rows.filter((r) => r.at >= since && r.at < until && r.event === event && r.status === status);
      const page = await list({ status, event, since: iso(since), until: iso(until) });
      expect(page.data.map((r) => r.created_at)).toEqual(newestFirst(matching));
      expect(page.pagination.total).toBe(matching.length);

      const window = rows.filter((r) => r.at >= since && r.at < until); // 8 rows
      const first = await list({ since: iso(since), until: iso(until), per_page: 3 });
      expect(first.pagination).toEqual({ current_page: 1, per_page: 3, total: window.length, last_page: 3 });
      const all: string[] = [];
      for (let p = 1; p <= 3; p++) all.push(...(await list({ since: iso(since), until: iso(until), per_page: 3, page: p })).data.map((r) => r.created_at));
      expect(all).toEqual(newestFirst(window));
      const past = await list({ since: iso(since), until: iso(until), per_page: 3, page: 4 });
      expect(past).toMatchObject({ data: [], pagination: { current_page: 4, total: window.length, last_page: 3 } });

      const statusAndEvent = await list({ status: "success", event: resource.events[0], per_page: 1 });
      const expected = rows.filter((r) => r.status === "success" && r.event === resource.events[0]);
      expect(statusAndEvent.pagination).toEqual({ current_page: 1, per_page: 1, total: expected.length, last_page: Math.max(1, expected.length) });
    });

    it.each([
      ["status", "delivered", "The selected status is invalid."],
      ["status", "SUCCESS", "The selected status is invalid."],
      ["status", "", "The selected status is invalid."],
      ["event", "event_unknown", "The selected event is invalid."],
      ["event", "", "The selected event is invalid."],
      ["since", "yesterday", "The since field must be a valid date-time (RFC 3339, with a time zone)."],
      ["since", "2026-11-20", "The since field must be a valid date-time (RFC 3339, with a time zone)."],
      ["until", "2026-11-20T12:00:00", "The until field must be a valid date-time (RFC 3339, with a time zone)."],
      ["until", "2026-13-40T12:00:00Z", "The until field must be a valid date-time (RFC 3339, with a time zone)."],
    ])("%s=%j is a 422 naming the field", async (field, value, message) => {
      const r = await t.api(`${base}?${field}=${encodeURIComponent(value)}`);
      expect(r.status).toBe(422);
      expect(r.body).toEqual({ message: "The given data was invalid.", errors: { [field]: [message] } });
    });

    it("since later than until is a 422 on since; equal is an empty window", async () => {
      const r = await t.api(`${base}?since=${encodeURIComponent(iso(T0 + 1))}&until=${encodeURIComponent(iso(T0))}`);
      expect(r.status).toBe(422);
      expect(r.body).toEqual({ message: "The given data was invalid.", errors: { since: ["The since field must be a date before or equal to until."] } });
      // within one millisecond, microseconds still order them
      const later = new Date(T0).toISOString().replace("Z", "600Z");
      const earlier = new Date(T0).toISOString().replace("Z", "400Z");
      const sub = await t.api(`${base}?since=${encodeURIComponent(later)}&until=${encodeURIComponent(earlier)}`);
      expect(sub.status).toBe(422);
      expect((await list({ since: iso(T0), until: iso(T0) })).pagination.total).toBe(0);
    });
  });
});
