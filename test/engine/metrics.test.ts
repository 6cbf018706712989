// GET /metrics over real HTTP on both databases, its exposition parsed strictly (test/support/prometheus.ts):
// the delivery counters move by exactly the attempts a real receiver saw, the intake counts events, the
// gauges read from the database match it, and two servers on one PostgreSQL database each count their own
// work while reporting the same gauges.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Config } from "../../server/config.js";
import { startServer } from "../../server/server.js";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase, type Dialect } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { freshDatabaseUrl } from "../support/databases.js";
import { parseExposition, sampleValue, type Family } from "../support/prometheus.js";
import { SERVICE_TOKEN } from "../support/server.js";
import { CALL_ENDED_DATA, HOUR, engineTests, waitFor, type EngineTestServer } from "./harness.js";
import type { Receiver } from "./receiver.js";

async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${SERVICE_TOKEN}` } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(text);
}

const outcome = (families: Map<string, Family>, name: string) => sampleValue(families, "talkover_deliveries_total", { outcome: name });

describe.each(["sqlite", "postgres"] as Dialect[])("%s", (dialect) => {
  describe("counters", () => {
    let t: EngineTestServer;
    let ok: Receiver;
    let failing: Receiver;
    engineTests(dialect, async (server, newReceiver) => {
      t = server;
      ok = await newReceiver();
      failing = await newReceiver();
      failing.respond(500);
    });

    it("move by exactly the attempts made and the events recorded", async () => {
      const before = await scrape(t.url);
      for (const name of ["success", "retrying", "failed"]) expect(outcome(before, name)).toBe(0);
      expect(sampleValue(before, "talkover_events_ingested_total")).toBe(0);
      expect(sampleValue(before, "talkover_delivery_attempt_duration_seconds_count")).toBe(0);
      expect(before.get("talkover_delivery_attempt_duration_seconds")?.type).toBe("histogram");
      for (const family of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
        expect(before.has(family), family).toBe(true);
      }

      const good = await t.createWebhook({ webhook_url: ok.url });
      const bad = await t.createWebhook({ webhook_url: failing.url, max_retries: 1 });
      for (let i = 0; i < 3; i++) expect(await t.ingest({ idempotency_key: `metrics-${i}` })).toMatchObject({ deliveries_queued: 2 });
      // A replay records nothing and is not counted.
      expect(await t.ingest({ idempotency_key: "metrics-0" })).toMatchObject({ replayed: true });

      await t.settledLogs(good.id, 3);
      await t.logsUntil(bad.id, (logs) => logs.filter((l) => l.status === "retrying").length === 3);
      await waitFor(async () => outcome(await scrape(t.url), "retrying") === 3, 10_000, "3 retrying counted");
      // Every second attempt due now: each fails for good (max_retries 1).
      t.clock.advance(2 * HOUR);
      await t.settledLogs(bad.id, 6);
      await waitFor(async () => outcome(await scrape(t.url), "failed") === 3, 10_000, "3 failed counted");
      await t.clock.workerCycles();

      const after = await scrape(t.url);
      expect(ok.requests).toHaveLength(3);
      expect(failing.requests).toHaveLength(6);
      expect(outcome(after, "success")).toBe(3);
      expect(outcome(after, "retrying")).toBe(3);
      expect(outcome(after, "failed")).toBe(3);
      expect(sampleValue(after, "talkover_delivery_attempt_duration_seconds_count")).toBe(9);
      expect(sampleValue(after, "talkover_delivery_attempt_duration_seconds_bucket", { le: "+Inf" })).toBe(9);
      expect(sampleValue(after, "talkover_events_ingested_total")).toBe(3);
      expect(sampleValue(after, "talkover_deliveries_queued_total")).toBe(6);
      expect(sampleValue(after, "talkover_database_up")).toBe(1);
    });
  });

  describe("gauges", () => {
    let t: EngineTestServer;
    // No worker: what is queued stays due, and nothing is sent (so no receiver is needed).
    const nowhere = { webhook_url: "https://example.com/hook" };
    engineTests(dialect, (server) => void (t = server), { config: { worker: false } });

    it("match the database: deliveries due, the oldest's age, webhooks by status", async () => {
      const empty = await scrape(t.url);
      expect(sampleValue(empty, "talkover_deliveries_due")).toBe(0);
      expect(sampleValue(empty, "talkover_delivery_oldest_due_age_seconds")).toBe(0);
      for (const status of ["active", "disabled", "error"]) expect(sampleValue(empty, "talkover_webhooks", { status })).toBe(0);

      const active = await t.createWebhook(nowhere);
      const disabled = await t.createWebhook(nowhere);
      const failing = await t.campaign.createWebhook(nowhere);
      const deleted = await t.createWebhook(nowhere);
      expect((await t.api(`/api/v1/agents/${t.agentId}/webhooks/${disabled.id}/toggle`, { method: "PATCH" })).status).toBe(200);
      expect((await t.api(`/api/v1/agents/${t.agentId}/webhooks/${deleted.id}`, { method: "DELETE" })).status).toBe(200);
      // The failure streak a worker would have left: the published status turns to error.
      await t.server.database.db.updateTable("webhooks").set({ consecutive_failures: DEFAULT_CONFIG.errorThreshold }).where("id", "=", failing.id).execute();

      const first = t.clock.peek();
      await t.ingest();
      t.clock.advance(90_000);
      await t.ingest();
      await t.campaign.ingest();

      const lower = t.clock.peek();
      const families = await scrape(t.url);
      const upper = t.clock.peek();

      const due = await t.server.database.db
        .selectFrom("deliveries")
        .select(["next_attempt_at"])
        .where("status", "=", "pending")
        .where("next_attempt_at", "<=", upper)
        .execute();
      expect(due).toHaveLength(3); // two events to the active webhook, one to the campaign's
      expect(sampleValue(families, "talkover_deliveries_due")).toBe(due.length);
      const oldest = Math.min(...due.map((d) => Number(d.next_attempt_at)));
      expect(oldest).toBeGreaterThanOrEqual(first);
      const age = sampleValue(families, "talkover_delivery_oldest_due_age_seconds")!;
      expect(age).toBeGreaterThanOrEqual((lower - oldest) / 1000);
      expect(age).toBeLessThanOrEqual((upper - oldest) / 1000);
      expect(age).toBeGreaterThanOrEqual(90);

      // The published statuses, as the API shows them.
      const agentHooks = (await t.api(`/api/v1/agents/${t.agentId}/webhooks`)).body.data.webhooks;
      const campaignHooks = (await t.api(`/api/v1/campaigns/${t.campaignId}/webhooks`)).body.data.webhooks;
      const shown = [...agentHooks, ...campaignHooks].map((w: { id: string; status: string }) => w.status);
      expect(shown.sort()).toEqual(["active", "disabled", "error"]);
      for (const status of ["active", "disabled", "error"]) {
        expect(sampleValue(families, "talkover_webhooks", { status }), status).toBe(shown.filter((s) => s === status).length);
      }
      expect(active.id).toBeDefined();
    });
  });
});

describe("two servers on one PostgreSQL database", () => {
  it("each counts its own work; the gauges read from the database agree", async () => {
    const fresh = await freshDatabaseUrl("postgres");
    const databases = [await openDatabase(fresh.url), await openDatabase(fresh.url)];
    const config: Config = {
      ...DEFAULT_CONFIG,
      port: 0,
      host: "127.0.0.1",
      logLevel: "silent",
      serviceToken: SERVICE_TOKEN,
      allowPrivateTargets: true,
      rateLimitPerMinute: 100_000,
      worker: false, // what is queued stays due, on both
    };
    const servers = [await startServer(config, { database: databases[0] }), await startServer(config, { database: databases[1] })];
    try {
      const environment = await createEnvironment(databases[0]!, { name: "Metrics" });
      const agent = await createAgent(databases[0]!, { environmentId: environment.id, name: "Metrics agent" });
      const created = await fetch(`${servers[0]!.url}/api/v1/agents/${agent.id}/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${environment.token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Metrics", webhook_url: "https://example.com/hook", events: ["event_phone_call_ended"] }),
      });
      expect(created.status).toBe(201);
      const ingest = async (url: string) => {
        const response = await fetch(`${url}/internal/v1/agents/${agent.id}/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${SERVICE_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ event: "event_phone_call_ended", data: CALL_ENDED_DATA }),
        });
        expect(response.status).toBe(202);
      };
      await ingest(servers[0]!.url);
      await ingest(servers[0]!.url);
      await ingest(servers[1]!.url);

      const [one, two] = [await scrape(servers[0]!.url), await scrape(servers[1]!.url)];
      expect(sampleValue(one, "talkover_events_ingested_total")).toBe(2);
      expect(sampleValue(two, "talkover_events_ingested_total")).toBe(1);
      expect(sampleValue(one, "talkover_http_requests_total", { operation: "createWebhook", status: "201" })).toBe(1);
      expect(sampleValue(two, "talkover_http_requests_total", { operation: "createWebhook", status: "201" })).toBeUndefined();
      for (const families of [one, two]) {
        expect(sampleValue(families, "talkover_deliveries_due")).toBe(3);
        expect(sampleValue(families, "talkover_webhooks", { status: "active" })).toBe(1);
      }
    } finally {
      for (const server of servers) await server.stop();
      for (const database of databases) await database.close();
      await fresh.drop();
    }
  }, 60_000);
});
