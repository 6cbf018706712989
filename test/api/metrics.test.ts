// GET /metrics over real HTTP on both databases: the service token (401 without or with a wrong one, 503
// when the server has none), the HTTP series labelled by operationId (never by raw path, whatever stage
// answered the request), and the scrape while the database cannot answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";
import { holdDatabase } from "../contract/database-fault.js";
import { parseExposition, sampleValue, type Family } from "../support/prometheus.js";
import { SERVICE_TOKEN, startTestServer, type TestServer } from "../support/server.js";
import { DIALECTS, webhooksPath } from "./helpers.js";

describe.each(DIALECTS)("GET /metrics on %s", (dialect) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(dialect);
  });
  afterAll(() => t?.stop());

  const scrape = async (): Promise<{ text: string; families: Map<string, Family> }> => {
    const r = await t.api("/metrics", { token: SERVICE_TOKEN });
    expect(r.status, r.text).toBe(200);
    return { text: r.text, families: parseExposition(r.text) };
  };

  it("without the service token is 401, as the intake", async () => {
    const missing = await t.api("/metrics", { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ message: "Missing Bearer Token" });
    for (const token of [t.token, "not-the-service-token"]) {
      const wrong = await t.api("/metrics", { token });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ message: "Invalid Bearer Token" });
    }
  });

  it("writes the families of openapi.yaml's example with the same HELP and TYPE lines", async () => {
    const example: string = loadSpec().document.paths["/metrics"].get.responses["200"].content["text/plain; version=0.0.4"].examples.metrics.value;
    const documented = example.split("\n").filter((line) => line.startsWith("# "));
    expect(documented.length).toBeGreaterThan(0);
    const { text } = await scrape();
    for (const line of documented) expect(text.split("\n"), line).toContain(line);
    parseExposition(example);
  });

  it("labels HTTP requests by operationId, whichever stage answered, and never by path", async () => {
    const unknownWebhook = "00000000-0000-4000-8000-000000000000";
    expect((await t.api(webhooksPath(t))).status).toBe(200);
    expect((await t.api(`${webhooksPath(t)}?page=1`)).status).toBe(422); // the validator
    expect((await t.api(webhooksPath(t), { token: null })).status).toBe(401); // before the validator
    expect((await t.api(`${webhooksPath(t)}/${unknownWebhook}`)).status).toBe(404); // the webhook loader
    expect((await t.api(`/api/v1/agents/${t.agentId}/nothing-here`)).status).toBe(404);
    expect((await t.api("/nothing-here", { token: null })).status).toBe(404);
    expect((await t.api("/healthz", { token: null })).status).toBe(200);

    const { text, families } = await scrape();
    const requests = (operation: string, status: string) => sampleValue(families, "talkover_http_requests_total", { operation, status });
    expect(requests("listWebhooks", "200")).toBe(1);
    expect(requests("listWebhooks", "422")).toBe(1);
    expect(requests("listWebhooks", "401")).toBe(1);
    expect(requests("showWebhook", "404")).toBe(1);
    expect(requests("unknown", "404")).toBe(2);
    expect(requests("getHealth", "200")).toBeGreaterThanOrEqual(1); // start-up warms the validator with one
    expect(sampleValue(families, "talkover_http_request_duration_seconds_count", { operation: "listWebhooks" })).toBe(3);
    // A scrape is counted once it is answered: the next one shows it.
    const scrapes = requests("getMetrics", "200") ?? 0;
    expect(sampleValue((await scrape()).families, "talkover_http_requests_total", { operation: "getMetrics", status: "200" })).toBe(scrapes + 1);

    // No path, id or token in any label value: operation labels are operationIds or `unknown`.
    for (const secretOrId of [t.agentId, unknownWebhook, t.token, SERVICE_TOKEN, "/api/v1"]) expect(text).not.toContain(secretOrId);
    const operations = new Set(families.get("talkover_http_requests_total")!.samples.map((s) => s.labels.operation));
    for (const operation of operations) expect(operation).toMatch(/^([a-z][A-Za-z]+|unknown)$/);
  });
});

describe("GET /metrics while PostgreSQL cannot answer", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("postgres");
  });
  afterAll(() => t?.stop());

  it("still answers the process's counters, with talkover_database_up 0 and without the database gauges", async () => {
    const scrape = async () => {
      const r = await t.api("/metrics", { token: SERVICE_TOKEN });
      expect(r.status, r.text).toBe(200);
      return parseExposition(r.text);
    };
    // Tables locked by another session: the scrape's reads wait for the statement timeout (3 s), then give up.
    const release = await holdDatabase(t.server.database);
    let during: Map<string, Family>;
    try {
      during = await scrape();
    } finally {
      await release();
    }
    expect(sampleValue(during, "talkover_database_up")).toBe(0);
    for (const gauge of ["talkover_deliveries_due", "talkover_delivery_oldest_due_age_seconds", "talkover_webhooks"]) expect(during.has(gauge), gauge).toBe(false);
    expect(sampleValue(during, "talkover_deliveries_total", { outcome: "success" })).toBe(0);

    const after = await scrape();
    expect(sampleValue(after, "talkover_database_up")).toBe(1);
    expect(sampleValue(after, "talkover_deliveries_due")).toBe(0);
  }, 30_000);
});

describe("GET /metrics on a server without a service token", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("sqlite", { config: { serviceToken: undefined } });
  });
  afterAll(() => t?.stop());

  it("is 503 'Metrics are disabled on this server.', whatever the token", async () => {
    for (const token of [null, "anything", t.token]) {
      const r = await t.api("/metrics", { token });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ success: false, message: "Metrics are disabled on this server." });
    }
  });
});
