import { describe, expect, expectTypeOf, test } from "vitest";
import { createTalkoverClient, TalkoverApiError, type ListLogsErrorBody } from "../../client/index.js";
import type { AuthError, ErrorMessage, ValidationError, Webhook, WebhookLog, WebhookLogPage } from "../../client/types.js";
import { fakeFetch, json } from "./fake-fetch.js";

const AGENT = "9fbef0b7-8d4e-4a08-9207-66c22155721d";
const WEBHOOK = "9fcafbf2-7593-44d6-8cd7-1b221beba62a";
const TOKEN = "talq_" + "a".repeat(40);

const webhook: Webhook = {
  id: WEBHOOK,
  agent_id: AGENT,
  name: "My Webhook",
  webhook_url: "https://example.com/webhook",
  events: ["event_phone_call_started", "event_phone_call_ended"],
  timeout: 30,
  max_retries: 3,
  enabled: true,
  created_at: "2025-09-03T23:19:51.000000Z",
  updated_at: "2025-09-03T23:19:51.000000Z",
  events_count: 2,
  status: "active",
};

describe("createTalkoverClient", () => {
  test("sends the token as a Bearer header to https://app.talkover.ai by default", async () => {
    const fetch = fakeFetch(() => json(200, { success: true, data: webhook }));
    const client = createTalkoverClient({ token: TOKEN, fetch });
    await client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path: { agent_id: AGENT, webhook_id: WEBHOOK } } });
    const [request] = fetch.requests;
    expect(request!.url.href).toBe(`https://app.talkover.ai/api/v1/agents/${AGENT}/webhooks/${WEBHOOK}`);
    expect(request!.headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  });

  test("a call's own Authorization wins over the client's token; an empty token sends none", async () => {
    const fetch = fakeFetch(() => json(200, { status: "ok" }));
    await createTalkoverClient({ token: TOKEN, fetch }).GET("/healthz", { headers: { Authorization: "Bearer service" } });
    await createTalkoverClient({ token: "", fetch }).GET("/healthz");
    expect(fetch.requests.map((r) => r.headers.get("Authorization"))).toEqual(["Bearer service", null]);
  });

  test("serializes path, query and JSON body from the typed call", async () => {
    const fetch = fakeFetch(() => json(201, { success: true, message: "Webhook created successfully", data: webhook }));
    const client = createTalkoverClient({ baseUrl: "http://127.0.0.1:4010/", token: TOKEN, fetch });
    const { data } = await client.POST("/api/v1/agents/{agent_id}/webhooks", {
      params: { path: { agent_id: AGENT } },
      body: { name: "My Webhook", webhook_url: "https://example.com/webhook", events: ["event_phone_call_ended"] },
    });
    expect(data?.data.id).toBe(WEBHOOK);
    await client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
      params: { path: { agent_id: AGENT, webhook_id: WEBHOOK }, query: { per_page: 50, page: 2 } },
    });
    const [create, logs] = fetch.requests;
    expect(create!.method).toBe("POST");
    expect(create!.headers.get("Content-Type")).toBe("application/json");
    expect(JSON.parse(create!.body)).toEqual({ name: "My Webhook", webhook_url: "https://example.com/webhook", events: ["event_phone_call_ended"] });
    expect(logs!.url.href).toBe(`http://127.0.0.1:4010/api/v1/agents/${AGENT}/webhooks/${WEBHOOK}/logs?per_page=50&page=2`);
  });

  test("the types refuse unknown paths, fields and events", () => {
    const client = createTalkoverClient({ token: TOKEN, fetch: fakeFetch(() => json(200, {})) });
    // Only compiled, never sent: each line must fail to type-check.
    const neverCalled = () => {
      // @ts-expect-error an unknown path
      void client.GET("/api/v1/agents/{agent_id}/hooks", { params: { path: { agent_id: AGENT } } });
      void client.POST("/api/v1/agents/{agent_id}/webhooks", {
        params: { path: { agent_id: AGENT } },
        // @ts-expect-error an event outside the catalogue
        body: { name: "n", webhook_url: "https://example.com", events: ["event_unknown"] },
      });
      void client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
        // @ts-expect-error per_page is a number
        params: { path: { agent_id: AGENT, webhook_id: WEBHOOK }, query: { per_page: "50" } },
      });
    };
    expect(neverCalled).toBeTypeOf("function");
  });
});

describe("errors are returned as typed values", () => {
  test("a 404 answers `error` with the documented body and no `data`", async () => {
    const body = { success: false, message: "Webhook not found." };
    const client = createTalkoverClient({ token: TOKEN, fetch: fakeFetch(() => json(404, body)) });
    const { data, error, response } = await client.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
      params: { path: { agent_id: AGENT, webhook_id: WEBHOOK } },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error).toEqual(body);
    expectTypeOf(error).toEqualTypeOf<AuthError | ErrorMessage | ValidationError | undefined>();
  });

  test("a 401 and a 422 come back as their bodies, never thrown", async () => {
    const invalid = { message: "The given data was invalid.", errors: { timeout: ["The timeout field must be between 5 and 120."] } };
    const answers = [json(401, { message: "Missing Bearer Token" }), json(422, invalid)];
    const client = createTalkoverClient({ token: "", fetch: fakeFetch((_, i) => answers[i]!) });
    const path = { agent_id: AGENT, webhook_id: WEBHOOK };
    const unauthorized = await client.DELETE("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path } });
    expect(unauthorized.error).toEqual({ message: "Missing Bearer Token" });
    const rejected = await client.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path }, body: { timeout: 3 } });
    expect(rejected.error && "errors" in rejected.error ? rejected.error.errors.timeout : undefined).toEqual(invalid.errors.timeout);
  });
});

describe("logs(): every row of every page", () => {
  const row = (n: number): WebhookLog => ({
    id: `log-${n}`,
    webhook_id: WEBHOOK,
    event: "event_phone_call_ended",
    attempt: 1,
    status: "success",
    created_at: "2025-09-03T23:20:46.000000Z",
  });
  const pages = (total: number, perPage: number) =>
    fakeFetch((request) => {
      const page = Number(new URL(request.url).searchParams.get("page"));
      const rows = Array.from({ length: total }, (_, i) => row(i + 1)).slice((page - 1) * perPage, page * perPage);
      const body: WebhookLogPage = {
        success: true,
        data: rows,
        pagination: { current_page: page, per_page: perPage, total, last_page: Math.max(1, Math.ceil(total / perPage)) },
      };
      return json(200, body);
    });

  test("walks pages 1 to last_page with the per_page asked, in order", async () => {
    const fetch = pages(5, 2);
    const client = createTalkoverClient({ token: TOKEN, fetch });
    const ids: string[] = [];
    for await (const log of client.logs(AGENT, WEBHOOK, { perPage: 2 })) ids.push(log.id);
    expect(ids).toEqual(["log-1", "log-2", "log-3", "log-4", "log-5"]);
    expect(fetch.requests.map((r) => r.url.search)).toEqual(["?page=1&per_page=2", "?page=2&per_page=2", "?page=3&per_page=2"]);
  });

  test("campaignLogs walks a campaign webhook's pages the same way", async () => {
    const fetch = pages(3, 2);
    const ids: string[] = [];
    for await (const log of createTalkoverClient({ token: TOKEN, fetch }).campaignLogs("campaign-1", WEBHOOK, { perPage: 2 })) ids.push(log.id);
    expect(ids).toEqual(["log-1", "log-2", "log-3"]);
    expect(fetch.requests.map((r) => r.url.pathname)).toEqual([
      `/api/v1/campaigns/campaign-1/webhooks/${WEBHOOK}/logs`,
      `/api/v1/campaigns/campaign-1/webhooks/${WEBHOOK}/logs`,
    ]);
  });

  test("an agent without logs takes one request", async () => {
    const fetch = pages(0, 25);
    const rows: WebhookLog[] = [];
    for await (const log of createTalkoverClient({ token: TOKEN, fetch }).logs(AGENT, WEBHOOK)) rows.push(log);
    expect(rows).toEqual([]);
    expect(fetch.requests).toHaveLength(1);
  });

  test("stops at an empty page even when last_page says more", async () => {
    const fetch = fakeFetch((_, i) =>
      json(200, { success: true, data: i === 0 ? [row(1)] : [], pagination: { current_page: i + 1, per_page: 1, total: 9, last_page: 9 } }),
    );
    const rows: WebhookLog[] = [];
    for await (const log of createTalkoverClient({ token: TOKEN, fetch }).logs(AGENT, WEBHOOK, { perPage: 1 })) rows.push(log);
    expect(rows).toHaveLength(1);
    expect(fetch.requests).toHaveLength(2);
  });

  test("a failed page throws TalkoverApiError carrying the documented body", async () => {
    const body = { success: false, message: "Webhook not found." };
    const client = createTalkoverClient({ token: TOKEN, fetch: fakeFetch(() => json(404, body)) });
    const walk = async () => {
      for await (const _ of client.logs(AGENT, WEBHOOK)) void _;
    };
    const error = await walk().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TalkoverApiError);
    expect(error).toMatchObject({ status: 404, body, message: "Talkover API 404: Webhook not found." });
    expectTypeOf<TalkoverApiError<ListLogsErrorBody>["body"]>().toEqualTypeOf<ListLogsErrorBody>();
  });
});
