// ONE contract suite for every operation of openapi.yaml, driven through the typed client, that runs against
// any implementation of the API: the Prism mock (test/contract/prism.test.ts) and the real server
// (test/contract/server.test.ts). Each answer must have a documented status and a body valid against that
// status's schema. Exact values are asserted where a static mock and a real server agree (the documented
// messages and examples); what needs state (ids read back, pagination arithmetic, deliveries) runs only when
// the target says `stateful: true`.
//
// Prism is steered with `Prefer: code=…, example=…`; a real server ignores that header, and every request
// that carries one is built so the real server answers the same on its own (unknown ids, invalid bodies…).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTalkoverClient, type TalkoverClient } from "../../client/index.js";
import type {
  CampaignEventName,
  CampaignWebhook,
  CampaignWebhookUpdate,
  Webhook,
  WebhookCreate,
  WebhookEventName,
  WebhookLog,
  WebhookLogPage,
} from "../../client/types.js";
import { loadSpec } from "../../server/spec.js";
import { componentErrors } from "../support/spec-schemas.js";
import { operationIds, responseErrors } from "./spec-responses.js";

/**
 * What a suite runs against. Build one per run in `setup`; the suite calls `teardown` once at the end.
 *
 * ```ts
 * defineContractSuite("reference server", async () => {
 *   const server = await startTestServer();            // yours
 *   return {
 *     baseUrl: server.url,                              // origin only: the document's paths are full
 *     token: server.environmentToken,                   // talq_… of the environment owning agentId
 *     serviceToken: server.serviceToken,                // TALKOVER_SERVICE_TOKEN
 *     agentId: server.agentId,                          // an agent with no webhooks yet
 *     campaignId: server.campaignId,                    // a campaign of that environment, no webhooks yet
 *     foreignAgentId: server.otherEnvironmentAgentId,   // optional
 *     foreignCampaignId: server.otherEnvironmentCampaignId, // optional
 *     stateful: true,
 *     deliversEvents: true,                             // the delivery worker runs
 *     teardown: () => server.stop(),
 *   };
 * });
 * ```
 */
export interface ContractTarget {
  /** Origin of the API (`http://127.0.0.1:PORT`): the paths in openapi.yaml already start with `/api/v1` or `/internal/v1`. */
  baseUrl: string;
  /** An environment token (`Authorization: Bearer …`) of the environment that owns `agentId`. */
  token: string;
  /** The service token of the Internal operations (`ingestEvent`). */
  serviceToken: string;
  /** An agent of that environment; it should have no webhooks when the suite starts. */
  agentId: string;
  /** An agent of ANOTHER environment: it must answer exactly like one that does not exist. Optional. */
  foreignAgentId?: string;
  /** A campaign of that environment (of `agentId` or of no agent); it should have no webhooks when the suite starts. */
  campaignId: string;
  /** A campaign of ANOTHER environment: it must answer exactly like one that does not exist. Optional. */
  foreignCampaignId?: string;
  /**
   * Makes the server's database unable to answer writes (a lock held by another connection) until the
   * returned function is called. Required when `caps.databaseFaults`.
   */
  holdDatabase?(): Promise<() => Promise<void>>;
  teardown(): Promise<void>;
}

export type ContractSetup = () => Promise<ContractTarget>;

/** What the target can do, known before it starts: it decides which tests the suite defines. */
export interface ContractCapabilities {
  /**
   * true for a real server: what the suite writes is read back (ids chain from call to call, fields echo,
   * pagination adds up, the test delivery is logged). false for a static mock (Prism), which answers its examples.
   */
  stateful: boolean;
  /**
   * true when the server's delivery worker runs, so an ingested event becomes attempts in the webhook's logs
   * within seconds (needed to retry a failed delivery by hand). Only read when `stateful`.
   */
  deliversEvents?: boolean;
  /** The setup gives `foreignAgentId`. */
  foreignAgent?: boolean;
  /** The setup gives `foreignCampaignId`. */
  foreignCampaign?: boolean;
  /** The setup gives `holdDatabase`: a stateful target then shows its 503 under a real database fault. */
  databaseFaults?: boolean;
  /** A stateful target's per-token limit: the suite spends it, last, to see the 429. */
  rateLimitPerMinute?: number;
  /**
   * false to send only requests that openapi.yaml allows (default true): behind `prism proxy --errors` an
   * invalid request is answered by Prism itself and never reaches the server.
   */
  invalidRequests?: boolean;
}

/** Defines a test only where it applies to the target, rather than defining it and skipping it. */
function testIf(condition: boolean, title: string, fn: () => Promise<void>, timeout?: number): void {
  if (condition) test(title, fn, timeout);
}

// Deliveries to this address fail fast whatever the server's address policy: loopback is blocked, or
// (when a test server allows it) port 9 refuses the connection.
const FAILING_URL = "https://127.0.0.1:9/webhook";
const MICROSECONDS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const WRONG_TOKEN = "talq_" + "0".repeat(40);
/** Deliberately not an event of the catalogue: the typed client would refuse it otherwise. */
const OUTSIDE_CATALOGUE = "event_bogus" as unknown as WebhookEventName;
/** An agent event that is not in the campaign catalogue (`event_recording`, … are in both). */
const AGENT_ONLY_EVENT = "event_phone_call_ended" as unknown as CampaignEventName;

interface Answer {
  response: Response;
  data?: unknown;
  error?: unknown;
}

export function defineContractSuite(name: string, caps: ContractCapabilities, setup: ContractSetup): void {
  const sendsInvalid = caps.invalidRequests !== false;
  describe(`contract: ${name}`, () => {
    let target: ContractTarget;
    let api: TalkoverClient;
    let service: TalkoverClient;
    let anonymous: TalkoverClient;
    let wrongToken: TalkoverClient;
    const covered = new Set<string>();
    let webhook: Webhook | undefined;
    let testLog: WebhookLog | undefined;

    beforeAll(async () => {
      target = await setup();
      const client = (token: string) => createTalkoverClient({ baseUrl: target.baseUrl, token });
      api = client(target.token);
      service = client(target.serviceToken);
      anonymous = client("");
      wrongToken = client(WRONG_TOKEN);
    }, 120_000);

    afterAll(async () => {
      await target?.teardown();
    });

    /** The answer has `status`, a status documented for `operationId`, and a body valid against its schema. */
    function expectDocumented(operationId: string, answer: Answer, status: number): void {
      covered.add(operationId);
      const body = answer.data ?? answer.error;
      expect(answer.response.status, `${operationId}: ${JSON.stringify(body)}`).toBe(status);
      expect(responseErrors(operationId, answer.response, body)).toEqual([]);
    }

    const prefer = (value: string) => ({ headers: { Prefer: value } });
    const agent = () => ({ agent_id: target.agentId });
    const hook = () => {
      if (!webhook) throw new Error("the create step failed; nothing to address");
      return { agent_id: target.agentId, webhook_id: webhook.id };
    };

    describe("probes", () => {
      test("GET /healthz answers 200 {status: ok} without a token", async () => {
        const answer = await anonymous.GET("/healthz");
        expectDocumented("getHealth", answer, 200);
        expect(answer.data).toEqual({ status: "ok" });
      });

      test("GET /readyz answers 200 {status: ok} when ready", async () => {
        const answer = await anonymous.GET("/readyz");
        expectDocumented("getReadiness", answer, 200);
        expect(answer.data).toEqual({ status: "ok" });
      });
    });

    describe("metrics", () => {
      test("GET /metrics with the service token answers the Prometheus text exposition", async () => {
        const answer = await service.GET("/metrics", { parseAs: "text" });
        expectDocumented("getMetrics", answer, 200);
        // The documented example, or the server's own families: the same names either way.
        for (const family of ["talkover_deliveries_total", "talkover_deliveries_due", "talkover_http_requests_total"]) {
          expect(answer.data).toContain(`# TYPE ${family} `);
        }
      });

      testIf(sendsInvalid, "GET /metrics without a token is 401 'Missing Bearer Token'", async () => {
        const answer = await anonymous.GET("/metrics", { parseAs: "text" });
        expectDocumented("getMetrics", answer, 401);
        expect(answer.error).toEqual({ message: "Missing Bearer Token" });
      });

      test("GET /metrics with an environment token is 401 'Invalid Bearer Token'", async () => {
        const answer = await api.GET("/metrics", { parseAs: "text", ...prefer("code=401, example=invalid") });
        expectDocumented("getMetrics", answer, 401);
        expect(answer.error).toEqual({ message: "Invalid Bearer Token" });
      });
    });

    describe("authentication", () => {
      testIf(sendsInvalid, "a request without a token is 401 'Missing Bearer Token'", async () => {
        const answer = await anonymous.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        expectDocumented("listWebhooks", answer, 401);
        expect(answer.error).toEqual({ message: "Missing Bearer Token" });
      });

      test("a token that matches no environment is 401 'Invalid Bearer Token'", async () => {
        const answer = await wrongToken.GET("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          ...prefer("code=401, example=invalid"),
        });
        expectDocumented("listWebhooks", answer, 401);
        expect(answer.error).toEqual({ message: "Invalid Bearer Token" });
      });
    });

    describe("webhooks", () => {
      test("listWebhooks answers the webhooks, the events catalogue in the document's order, and rate-limit headers", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        expectDocumented("listWebhooks", answer, 200);
        expect(Object.keys(answer.data!.data.available_events)).toEqual([...loadSpec().events]);
        for (const header of ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]) {
          expect(answer.response.headers.get(header), header).toMatch(/^\d+$/);
        }
        if (caps.stateful) expect(answer.data!.data.webhooks).toEqual([]);
      });

      test("an unknown agent is 404 'Agent not found in this environment.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: { agent_id: randomUUID() } },
          ...prefer("code=404, example=agent"),
        });
        expectDocumented("listWebhooks", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Agent not found in this environment." });
      });

      testIf(Boolean(caps.foreignAgent), "another environment's agent answers exactly like an unknown one", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: { agent_id: target.foreignAgentId! } },
          ...prefer("code=404, example=agent"),
        });
        expectDocumented("listWebhooks", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Agent not found in this environment." });
      });

      testIf(sendsInvalid, "an unknown query parameter is 422 'The colour field is prohibited.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", {
          // Deliberately outside the document: the typed client allows no query here.
          params: { path: agent(), query: { colour: "red" } as never },
          ...prefer("code=422, example=unknown_query"),
        });
        expectDocumented("listWebhooks", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { colour: ["The colour field is prohibited."] } });
      });

      testIf(sendsInvalid, "createWebhook without webhook_url and with no events is 422 with the published messages", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: { name: "My Webhook", events: [] } as never, // deliberately invalid
          ...prefer("code=422, example=seed"),
        });
        expectDocumented("createWebhook", answer, 422);
        expect(answer.error).toEqual({
          message: "The given data was invalid.",
          errors: {
            webhook_url: ["The webhook url field is required."],
            events: ["The events field must contain at least 1 items."],
          },
        });
      });

      testIf(sendsInvalid, "createWebhook with values out of range is 422 with one message per field", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: outOfRange(),
          ...prefer("code=422, example=limits"),
        });
        expectDocumented("createWebhook", answer, 422);
        expect(answer.error).toEqual(limitsError);
      });

      testIf(sendsInvalid, "createWebhook with a body that is not JSON is 400", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: {} as never,
          bodySerializer: () => "{",
          ...prefer("code=400, example=malformed"),
        });
        covered.add("createWebhook");
        expect(answer.response.status).toBe(400);
        // Prism answers malformed JSON with its own body ({"error": {"code": "invalid_json"}}), not the document's.
        if (caps.stateful) {
          expectDocumented("createWebhook", answer, 400);
          expect(answer.error).toEqual({ success: false, message: "The request body is not a valid JSON object." });
        }
      });

      testIf(sendsInvalid, "createWebhook with a body that is not application/json is 415", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: {} as never,
          bodySerializer: () => "name=My+Webhook",
          headers: { "Content-Type": "text/plain", Prefer: "code=415" },
        });
        expectDocumented("createWebhook", answer, 415);
        expect(answer.error).toEqual({ success: false, message: "The request body must be application/json." });
      });

      test("createWebhook answers 201 with the webhook, never its secret", async () => {
        const sent = {
          name: "My Webhook",
          webhook_url: FAILING_URL,
          webhook_secret: "optional_secret_for_hmac",
          events: ["event_phone_call_started", "event_phone_call_ended"] satisfies WebhookEventName[],
          timeout: 30,
          max_retries: 0, // a failed delivery ends `failed` at once, so it can be retried by hand below
          enabled: true,
        };
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() }, body: sent });
        expectDocumented("createWebhook", answer, 201);
        const created = answer.data!;
        expect(created.message).toBe("Webhook created successfully");
        expect(created.data).not.toHaveProperty("webhook_secret");
        expect(created.data).toMatchObject({ name: sent.name, events: sent.events, timeout: 30, enabled: true, events_count: 2, status: "active" });
        expect(created.data.created_at).toMatch(MICROSECONDS_UTC);
        expect(created.data.updated_at).toMatch(MICROSECONDS_UTC);
        if (caps.stateful) {
          expect(created.data).toMatchObject({ agent_id: target.agentId, webhook_url: FAILING_URL, max_retries: 0 });
        }
        webhook = created.data;
      });

      test("showWebhook answers the webhook", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path: hook() } });
        expectDocumented("showWebhook", answer, 200);
        expect(answer.data!.data.id).toBe(webhook!.id);
        if (caps.stateful) expect(answer.data!.data).toEqual(webhook);
      });

      test("an unknown webhook is 404 'Webhook not found.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: { agent_id: target.agentId, webhook_id: randomUUID() } },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("showWebhook", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Webhook not found." });
      });

      testIf(caps.stateful, "listWebhooks then lists the new webhook", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        expectDocumented("listWebhooks", answer, 200);
        expect(answer.data!.data.webhooks).toEqual([webhook]);
      });

      test("updateWebhook changes only the fields sent", async () => {
        const answer = await api.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: hook() },
          body: { name: "Call lifecycle", events: ["event_phone_call_started", "event_phone_call_ended", "event_recording"] },
        });
        expectDocumented("updateWebhook", answer, 200);
        expect(answer.data!.message).toBe("Webhook updated successfully");
        expect(answer.data!.data).toMatchObject({
          name: "Call lifecycle",
          events: ["event_phone_call_started", "event_phone_call_ended", "event_recording"],
          events_count: 3,
        });
        if (caps.stateful) {
          const { name: _n, events: _e, events_count: _c, updated_at: _u, ...unchanged } = webhook!;
          expect(answer.data!.data).toMatchObject(unchanged);
          expect(answer.data!.data.updated_at >= webhook!.updated_at).toBe(true);
        }
        webhook = answer.data!.data;
      });

      testIf(sendsInvalid, "updateWebhook with values out of range is 422 with one message per field", async () => {
        const answer = await api.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: hook() },
          body: outOfRange(),
          ...prefer("code=422, example=limits"),
        });
        expectDocumented("updateWebhook", answer, 422);
        expect(answer.error).toEqual(limitsError);
      });

      test("toggleWebhook disables an enabled webhook, then enables it again", async () => {
        const off = await api.PATCH("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/toggle", {
          params: { path: hook() },
          ...prefer("example=disabled"),
        });
        expectDocumented("toggleWebhook", off, 200);
        expect(off.data!.message).toBe("Webhook disabled");
        expect(off.data!.data).toMatchObject({ enabled: false, status: "disabled" });

        const on = await api.PATCH("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/toggle", {
          params: { path: hook() },
          ...prefer("example=enabled"),
        });
        expectDocumented("toggleWebhook", on, 200);
        expect(on.data!.message).toBe("Webhook enabled");
        expect(on.data!.data).toMatchObject({ enabled: true, status: "active" });
      });

      test("rotateWebhookSecret without a body generates a whsec_ secret and returns it this once", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hook() },
          ...prefer("example=generated"),
        });
        expectDocumented("rotateWebhookSecret", answer, 200);
        const data = answer.data!.data;
        expect(answer.data).toMatchObject({ success: true, message: "Webhook secret rotated", data: { secret_generated: true } });
        expect(data.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
        // The webhook was created with a secret: the previous one keeps signing for a while.
        expect(Date.parse(data.previous_secret_expires_at!)).toBeGreaterThan(0);
        if (caps.stateful) {
          const shown = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path: hook() } });
          expect(JSON.stringify(shown.data)).not.toContain(data.webhook_secret!);
        }
      });

      test("rotateWebhookSecret with a secret uses it and does not echo it", async () => {
        const secret = "whsec_" + Buffer.from("a contract suite's 24 b.").toString("base64");
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hook() },
          body: { webhook_secret: secret },
          ...prefer("example=given"),
        });
        expectDocumented("rotateWebhookSecret", answer, 200);
        expect(answer.data).toEqual({ success: true, message: "Webhook secret rotated", data: { previous_secret_expires_at: expect.any(String), secret_generated: false } });
      });

      testIf(sendsInvalid, "rotateWebhookSecret with a whsec_ secret that is not base64 is 422 on webhook_secret", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hook() },
          body: { webhook_secret: "whsec_not base64!" },
          ...prefer("code=422"),
        });
        expectDocumented("rotateWebhookSecret", answer, 422);
        expect(answer.error).toEqual({
          message: "The given data was invalid.",
          errors: { webhook_secret: ["The webhook secret must be base64 after the whsec_ prefix."] },
        });
      });

      test("rotateWebhookSecret of an unknown webhook is 404 'Webhook not found.'", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: { agent_id: target.agentId, webhook_id: randomUUID() } },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("rotateWebhookSecret", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Webhook not found." });
      });

      test("testWebhook answers 200 and says in `success` whether the receiver accepted", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/test", { params: { path: hook() } });
        expectDocumented("testWebhook", answer, 200);
        const result = answer.data!;
        expect(result.message).toMatch(/^(Test webhook sent successfully|Webhook test failed: .+)$/);
        expect(result.success).toBe(result.message === "Test webhook sent successfully");
        if (caps.stateful) expect(result.success).toBe(false); // FAILING_URL
      });

      testIf(sendsInvalid, "testWebhook with another url is 422 when that url is not http(s)", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/test", {
          params: { path: hook() },
          body: { url: "ftp://example.com/webhook" },
          ...prefer("code=422"),
        });
        expectDocumented("testWebhook", answer, 422);
        if (caps.stateful) expect(Object.keys((answer.error as { errors: object }).errors)).toEqual(["url"]);
      });
    });

    describe("delivery options", () => {
      const example2026 = () => loadSpec().document.components.examples.WebhookCreateRequest2026.value as WebhookCreate;
      let optioned: Webhook | undefined;

      test("createWebhook accepts Talkover's 2026 example; credentials never come back, header values masked", async () => {
        const sent = example2026();
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: { ...sent, webhook_url: FAILING_URL },
          ...prefer("example=talkover2026"),
        });
        expectDocumented("createWebhook", answer, 201);
        const data = answer.data!.data;
        expect(data).not.toHaveProperty("authorization_credentials");
        expect(data).toMatchObject({ http_method: "PUT", authorization_scheme: "bearer", payload_templates: sent.payload_templates });
        expect(data.custom_headers!.map((h) => h.key)).toEqual(sent.custom_headers!.map((h) => h.key));
        for (const [i, header] of data.custom_headers!.entries()) {
          expect(header.value).toMatch(/^\*{8}/);
          expect(header.value).not.toBe(sent.custom_headers![i]!.value);
        }
        expect(JSON.stringify(answer.data)).not.toContain(sent.authorization_credentials!.token!);
        optioned = data;
      });

      test("showWebhook and listWebhooks read the options back", async () => {
        const path = { agent_id: target.agentId, webhook_id: optioned!.id };
        const shown = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path } });
        expectDocumented("showWebhook", shown, 200);
        const listed = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        expectDocumented("listWebhooks", listed, 200);
        if (caps.stateful) {
          expect(shown.data!.data).toEqual(optioned);
          expect(listed.data!.data.webhooks).toContainEqual(optioned);
        }
      });

      test("updateWebhook with only new credentials keeps the scheme", async () => {
        const answer = await api.PUT("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: { agent_id: target.agentId, webhook_id: optioned!.id } },
          body: { authorization_credentials: { token: "sk_live_0b3e9d5a7c21f846" }, http_method: "PATCH" },
        });
        expectDocumented("updateWebhook", answer, 200);
        expect(answer.data!.data).not.toHaveProperty("authorization_credentials");
        if (caps.stateful) expect(answer.data!.data).toMatchObject({ authorization_scheme: "bearer", http_method: "PATCH" });
      });

      test("a scheme without credentials is 422 with Laravel's required_if wording", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
          params: { path: agent() },
          body: { name: "n", webhook_url: FAILING_URL, events: ["event_phone_call_ended"], authorization_scheme: "bearer" },
          ...prefer("code=422, example=options"),
        });
        expectDocumented("createWebhook", answer, 422);
        expect((answer.error as { errors: Record<string, string[]> }).errors.authorization_credentials).toEqual([
          "The authorization credentials field is required when authorization scheme is bearer.",
        ]);
      });

      testIf(caps.stateful, "the webhook with options is deleted again", async () => {
        const answer = await api.DELETE("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: { agent_id: target.agentId, webhook_id: optioned!.id } },
        });
        expectDocumented("deleteWebhook", answer, 200);
      });
    });

    describe("logs", () => {
      test("listWebhookLogs answers a page of attempts; the test delivery is logged", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { per_page: 50 } },
        });
        expectDocumented("listWebhookLogs", answer, 200);
        const page = answer.data!;
        expect(page.pagination.current_page).toBe(1);
        if (caps.stateful) {
          expect(page.pagination.per_page).toBe(50);
          testLog = page.data.find((row) => row.event === "webhook.test");
          expect(testLog).toMatchObject({ webhook_id: webhook!.id, attempt: 1, status: "failed" });
        } else {
          testLog = page.data[0];
        }
      });

      testIf(sendsInvalid, "per_page above 100 is 422 'The per page field must be between 1 and 100.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { per_page: 500 } },
          ...prefer("code=422, example=per_page"),
        });
        expectDocumented("listWebhookLogs", answer, 422);
        expect(answer.error).toEqual({
          message: "The given data was invalid.",
          errors: { per_page: ["The per page field must be between 1 and 100."] },
        });
      });

      test("listWebhookLogs takes the filters status, event, since and until, alone and combined", async () => {
        expect(testLog, "the logs step found no row").toBeDefined();
        const at = testLog!.created_at;
        const later = new Date(Date.parse(at) + 60_000).toISOString();
        const matching = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { status: "failed", event: "webhook.test", since: at, until: later } },
        });
        expectDocumented("listWebhookLogs", matching, 200);
        const none = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { status: "success", until: at } },
        });
        expectDocumented("listWebhookLogs", none, 200);
        if (caps.stateful) {
          expect(matching.data!.data.map((row) => row.id)).toContain(testLog!.id);
          expect(matching.data!.data.every((row) => row.status === "failed" && row.event === "webhook.test")).toBe(true);
          expect(matching.data!.pagination.total).toBe(matching.data!.data.length);
          expect(none.data!).toMatchObject({ data: [], pagination: { total: 0, last_page: 1 } });
        }
      });

      testIf(sendsInvalid, "an unknown status filter is 422 'The selected status is invalid.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { status: "delivered" as "success" } },
          ...prefer("code=422, example=status"),
        });
        expectDocumented("listWebhookLogs", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { status: ["The selected status is invalid."] } });
      });

      testIf(sendsInvalid, "since later than until is 422 on since", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook(), query: { since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" } },
          ...prefer("code=422, example=since"),
        });
        expectDocumented("listWebhookLogs", answer, 422);
        expect(answer.error).toEqual({
          message: "The given data was invalid.",
          errors: { since: ["The since field must be a date before or equal to until."] },
        });
      });

      test("the client's page iterator walks pages 1 to last_page", async () => {
        const pages: WebhookLogPage[] = [];
        for await (const page of api.logPages(target.agentId, webhook!.id, { perPage: 1 })) pages.push(page);
        covered.add("listWebhookLogs");
        const first = pages[0]!;
        for (const page of pages) expect(componentErrors("WebhookLogPage", page)).toEqual([]);
        expect(pages).toHaveLength(Math.max(1, first.pagination.last_page));
        if (caps.stateful) {
          const rows = pages.flatMap((page) => page.data);
          expect(pages.map((page) => page.pagination.current_page)).toEqual(pages.map((_, i) => i + 1));
          expect(pages.every((page) => page.data.length <= 1 && page.pagination.per_page === 1)).toBe(true);
          expect(rows).toHaveLength(first.pagination.total);
          expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
        }
      });

      test("logs of an unknown webhook are 404 'Webhook not found.'", async () => {
        const answer = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: { agent_id: target.agentId, webhook_id: randomUUID() } },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("listWebhookLogs", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Webhook not found." });
      });

      test("a test delivery cannot be retried: 422 LOG_NOT_RETRIABLE", async () => {
        expect(testLog, "the logs step found no row").toBeDefined();
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { ...hook(), log_id: testLog!.id } },
          ...prefer("code=422"),
        });
        expectDocumented("retryWebhookLog", answer, 422);
        expect(answer.error).toEqual({ success: false, message: "Log cannot be retried", code: "LOG_NOT_RETRIABLE" });
      });

      test("retrying an unknown log is 404 'Log not found.'", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { ...hook(), log_id: randomUUID() } },
          ...prefer("code=404, example=log"),
        });
        expectDocumented("retryWebhookLog", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Log not found." });
      });
    });

    describe("event intake (service token)", () => {
      const idempotencyKey = `contract-${randomUUID()}`;
      let eventId: string | undefined;
      const event = () => ({
        event: "event_phone_call_ended" as const,
        occurred_at: "2025-09-03T23:20:46.000000Z",
        idempotency_key: idempotencyKey,
        data: { call_id: randomUUID(), direction: "outbound", duration: 45, status: "completed" },
      });

      test("ingestEvent answers 202 and queues one delivery per subscribed webhook", async () => {
        const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
          params: { path: agent() },
          body: event(),
          ...prefer("example=accepted"),
        });
        expectDocumented("ingestEvent", answer, 202);
        const accepted = answer.data!;
        expect(accepted.message).toBe("Event accepted");
        expect(accepted.data.replayed).toBe(false);
        if (caps.stateful) expect(accepted.data.deliveries_queued).toBe(1);
        eventId = accepted.data.event_id;
      });

      test("ingestEvent with an idempotency key seen before replays the event and queues nothing", async () => {
        const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
          params: { path: agent() },
          body: event(),
          ...prefer("example=replayed"),
        });
        expectDocumented("ingestEvent", answer, 202);
        expect(answer.data!.data).toEqual({ event_id: eventId, deliveries_queued: 0, replayed: true });
      });

      test("ingestEvent with an environment token is 401 'Invalid Bearer Token'", async () => {
        const answer = await api.POST("/internal/v1/agents/{agent_id}/events", {
          params: { path: agent() },
          body: event(),
          ...prefer("code=401, example=invalid"),
        });
        expectDocumented("ingestEvent", answer, 401);
        expect(answer.error).toEqual({ message: "Invalid Bearer Token" });
      });

      testIf(sendsInvalid, "ingestEvent of an event outside the catalogue is 422 'The selected event is invalid.'", async () => {
        const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
          params: { path: agent() },
          body: { event: OUTSIDE_CATALOGUE, data: {} },
          ...prefer("code=422, example=unknown_event"),
        });
        expectDocumented("ingestEvent", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { event: ["The selected event is invalid."] } });
      });

      test("ingestEvent for an unknown agent is 404", async () => {
        const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
          params: { path: { agent_id: randomUUID() } },
          body: { ...event(), idempotency_key: `contract-${randomUUID()}` },
          ...prefer("code=404, example=agent"),
        });
        expectDocumented("ingestEvent", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Agent not found in this environment." });
      });

      testIf(!caps.stateful || Boolean(caps.deliversEvents), "a failed delivery is retried by hand as a new attempt one higher", async () => {
        // Mock: any log id; real server: wait for the worker to fail the delivery queued above.
        const failed = caps.stateful ? await waitForFailedAttempt() : testLog!;
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { ...hook(), log_id: failed.id } },
        });
        expectDocumented("retryWebhookLog", answer, 200);
        expect(answer.data!.message).toBe("Webhook retry queued successfully");
        expect(answer.data!.data.queued_at).toMatch(MICROSECONDS_UTC);
        if (caps.stateful) {
          expect(answer.data!.data.original_log_id).toBe(failed.id);
          const rows: WebhookLog[] = [];
          for await (const row of api.logs(target.agentId, webhook!.id, { perPage: 100 })) rows.push(row);
          const original = rows.find((row) => row.id === failed.id);
          expect(original).toEqual(failed); // the original row stays as it was
          expect(rows.find((row) => row.id === answer.data!.data.log_id)).toMatchObject({ attempt: failed.attempt + 1, event: failed.event });
        }
      }, 30_000);

      test("recoverWebhook answers 202 'Webhook recovery queued' with deliveries_queued", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/recover", {
          params: { path: hook() },
          body: { since: new Date(Date.now() - 3_600_000).toISOString() },
        });
        expectDocumented("recoverWebhook", answer, 202);
        expect(answer.data!.message).toBe("Webhook recovery queued");
        expect(answer.data!.data.deliveries_queued).toBeGreaterThanOrEqual(0);
      });

      test("recoverWebhook with since in the future is 422 on since", async () => {
        const answer = await api.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/recover", {
          params: { path: hook() },
          body: { since: new Date(Date.now() + 3_600_000).toISOString() },
          ...prefer("code=422, example=future"),
        });
        expectDocumented("recoverWebhook", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { since: ["The since field must be a date before now."] } });
      });

      async function waitForFailedAttempt(): Promise<WebhookLog> {
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          for await (const row of api.logs(target.agentId, webhook!.id, { perPage: 100 })) {
            if (row.event === "event_phone_call_ended" && row.status === "failed") return row;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error("no failed attempt of the ingested event appeared in the logs within 20 s");
      }
    });

    describe("deletion", () => {
      test("deleteWebhook answers 200 'Webhook deleted successfully'", async () => {
        const answer = await api.DELETE("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", { params: { path: hook() } });
        expectDocumented("deleteWebhook", answer, 200);
        expect(answer.data).toEqual({ success: true, message: "Webhook deleted successfully" });
      });

      test("a deleted webhook and its logs answer 404", async () => {
        const shown = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: hook() },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("showWebhook", shown, 404);
        expect(shown.error).toEqual({ success: false, message: "Webhook not found." });
        const logs = await api.GET("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs", {
          params: { path: hook() },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("listWebhookLogs", logs, 404);
        const deleted = await api.DELETE("/api/v1/agents/{agent_id}/webhooks/{webhook_id}", {
          params: { path: hook() },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("deleteWebhook", deleted, 404);
      });
    });

    // Campaign webhooks: the agent webhooks' operations under /api/v1/campaigns/{campaign_id}/webhooks, the
    // campaign catalogue, include_call_events, and the campaign intake. After the agent's deletion step, so
    // that on a stateful target the agent has no webhooks left and every delivery counted below is a campaign's.
    describe("campaign webhooks", () => {
      let campaignHook: CampaignWebhook | undefined;
      const campaign = () => ({ campaign_id: target.campaignId });
      const hookOfCampaign = () => {
        if (!campaignHook) throw new Error("the campaign create step failed; nothing to address");
        return { campaign_id: target.campaignId, webhook_id: campaignHook.id };
      };
      const campaignNotFound = { success: false, message: "Campaign not found in this environment." };

      test("listCampaignWebhooks answers the webhooks and the campaign catalogue: names, in CampaignEventType's order", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks", { params: { path: campaign() } });
        expectDocumented("listCampaignWebhooks", answer, 200);
        expect(answer.data!.data.available_events).toEqual(campaignCatalogue());
        for (const header of ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]) {
          expect(answer.response.headers.get(header), header).toMatch(/^\d+$/);
        }
        if (caps.stateful) expect(answer.data!.data.webhooks).toEqual([]);
      });

      test("an unknown campaign is 404 'Campaign not found in this environment.'", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks", {
          params: { path: { campaign_id: randomUUID() } },
          ...prefer("code=404, example=campaign"),
        });
        expectDocumented("listCampaignWebhooks", answer, 404);
        expect(answer.error).toEqual(campaignNotFound);
      });

      testIf(Boolean(caps.foreignCampaign), "another environment's campaign answers exactly like an unknown one", async () => {
        const listed = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks", { params: { path: { campaign_id: target.foreignCampaignId! } } });
        expectDocumented("listCampaignWebhooks", listed, 404);
        expect(listed.error).toEqual(campaignNotFound);
        const created = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks", {
          params: { path: { campaign_id: target.foreignCampaignId! } },
          body: { name: "Not ours", webhook_url: FAILING_URL, events: ["campaign.started"] },
        });
        expectDocumented("createCampaignWebhook", created, 404);
        expect(created.error).toEqual(campaignNotFound);
      });

      testIf(sendsInvalid, "an unknown query parameter is 422 'The colour field is prohibited.'", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks", {
          params: { path: campaign(), query: { colour: "red" } as never }, // deliberately outside the document
          ...prefer("code=422, example=unknown_query"),
        });
        expectDocumented("listCampaignWebhooks", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { colour: ["The colour field is prohibited."] } });
      });

      testIf(sendsInvalid, "createCampaignWebhook with an agent event in its events is 422 'The selected events.0 is invalid.'", async () => {
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks", {
          params: { path: campaign() },
          body: { name: "Campaign progress", webhook_url: FAILING_URL, events: [AGENT_ONLY_EVENT] },
          ...prefer("code=422, example=events"),
        });
        expectDocumented("createCampaignWebhook", answer, 422);
        expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { "events.0": ["The selected events.0 is invalid."] } });
      });

      test("createCampaignWebhook for an unknown campaign is 404 'Campaign not found in this environment.'", async () => {
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks", {
          params: { path: { campaign_id: randomUUID() } },
          body: { name: "Campaign progress", webhook_url: FAILING_URL, events: ["campaign.started"] },
          ...prefer("code=404, example=campaign"),
        });
        expectDocumented("createCampaignWebhook", answer, 404);
        expect(answer.error).toEqual(campaignNotFound);
      });

      test("createCampaignWebhook answers 201 with the webhook, include_call_events false by default, never its secret", async () => {
        const sent = {
          name: "Campaign progress",
          webhook_url: FAILING_URL,
          webhook_secret: "optional_secret_for_hmac",
          events: ["campaign.started", "campaign.completed", "campaign_call.failed"] satisfies CampaignEventName[],
          timeout: 30,
          max_retries: 0, // a failed delivery ends `failed` at once, so it can be retried by hand below
        };
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks", { params: { path: campaign() }, body: sent });
        expectDocumented("createCampaignWebhook", answer, 201);
        const created = answer.data!;
        expect(created.message).toBe("Webhook created successfully");
        expect(created.data).not.toHaveProperty("webhook_secret");
        expect(created.data).toMatchObject({ name: sent.name, events: sent.events, include_call_events: false, timeout: 30, enabled: true, events_count: 3, status: "active" });
        expect(created.data.created_at).toMatch(MICROSECONDS_UTC);
        expect(created.data.updated_at).toMatch(MICROSECONDS_UTC);
        if (caps.stateful) {
          expect(created.data).toMatchObject({ campaign_id: target.campaignId, webhook_url: FAILING_URL, max_retries: 0 });
          expect(created.data).not.toHaveProperty("agent_id");
        }
        campaignHook = created.data;
      });

      test("showCampaignWebhook answers the webhook", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", { params: { path: hookOfCampaign() } });
        expectDocumented("showCampaignWebhook", answer, 200);
        expect(answer.data!.data.id).toBe(campaignHook!.id);
        if (caps.stateful) expect(answer.data!.data).toEqual(campaignHook);
      });

      test("an unknown campaign webhook is 404 'Webhook not found.'", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", {
          params: { path: { campaign_id: target.campaignId, webhook_id: randomUUID() } },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("showCampaignWebhook", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Webhook not found." });
      });

      test("a campaign webhook addressed under an unknown campaign is 404 'Campaign not found in this environment.'", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", {
          params: { path: { campaign_id: randomUUID(), webhook_id: campaignHook!.id } },
          ...prefer("code=404, example=campaign"),
        });
        expectDocumented("showCampaignWebhook", answer, 404);
        expect(answer.error).toEqual(campaignNotFound);
      });

      testIf(Boolean(caps.foreignCampaign), "the same under another environment's campaign answers exactly like an unknown campaign", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", {
          params: { path: { campaign_id: target.foreignCampaignId!, webhook_id: campaignHook!.id } },
        });
        expectDocumented("showCampaignWebhook", answer, 404);
        expect(answer.error).toEqual(campaignNotFound);
      });

      testIf(caps.stateful, "listCampaignWebhooks then lists the new webhook; the agent's list does not", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks", { params: { path: campaign() } });
        expectDocumented("listCampaignWebhooks", answer, 200);
        expect(answer.data!.data.webhooks).toEqual([campaignHook]);
        const agents = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        expectDocumented("listWebhooks", agents, 200);
        expect(agents.data!.data.webhooks.map((w) => w.id)).not.toContain(campaignHook!.id);
      });

      test("updateCampaignWebhook changes only the fields sent; include_call_events is echoed", async () => {
        const answer = await api.PUT("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", {
          params: { path: hookOfCampaign() },
          body: { events: ["campaign.completed", "campaign_call.failed"], include_call_events: true },
        });
        expectDocumented("updateCampaignWebhook", answer, 200);
        expect(answer.data!.message).toBe("Webhook updated successfully");
        expect(answer.data!.data).toMatchObject({ events: ["campaign.completed", "campaign_call.failed"], include_call_events: true, events_count: 2 });
        if (caps.stateful) {
          const { events: _e, include_call_events: _i, events_count: _c, updated_at: _u, ...unchanged } = campaignHook!;
          expect(answer.data!.data).toMatchObject(unchanged);
          expect(answer.data!.data.updated_at >= campaignHook!.updated_at).toBe(true);
        }
        campaignHook = answer.data!.data;
      });

      testIf(sendsInvalid, "updateCampaignWebhook with values out of range is 422 with one message per field", async () => {
        const answer = await api.PUT("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", {
          params: { path: hookOfCampaign() },
          body: campaignOutOfRange(),
          ...prefer("code=422, example=limits"),
        });
        expectDocumented("updateCampaignWebhook", answer, 422);
        expect(answer.error).toEqual(limitsError);
      });

      test("toggleCampaignWebhook disables an enabled webhook, then enables it again", async () => {
        const off = await api.PATCH("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/toggle", {
          params: { path: hookOfCampaign() },
          ...prefer("example=disabled"),
        });
        expectDocumented("toggleCampaignWebhook", off, 200);
        expect(off.data!.message).toBe("Webhook disabled");
        expect(off.data!.data).toMatchObject({ enabled: false, status: "disabled" });

        const on = await api.PATCH("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/toggle", {
          params: { path: hookOfCampaign() },
          ...prefer("example=enabled"),
        });
        expectDocumented("toggleCampaignWebhook", on, 200);
        expect(on.data!.message).toBe("Webhook enabled");
        expect(on.data!.data).toMatchObject({ enabled: true, status: "active" });
        if (caps.stateful) {
          const { enabled: _e, status: _s, updated_at: _u, ...unchanged } = campaignHook!;
          expect(on.data!.data).toMatchObject(unchanged);
        }
      });

      test("rotateCampaignWebhookSecret generates a secret without a body, uses a given one without echoing it", async () => {
        const generated = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hookOfCampaign() },
          ...prefer("example=generated"),
        });
        expectDocumented("rotateCampaignWebhookSecret", generated, 200);
        expect(generated.data).toMatchObject({ success: true, message: "Webhook secret rotated", data: { secret_generated: true } });
        expect(generated.data!.data.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

        const given = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hookOfCampaign() },
          body: { webhook_secret: "optional_secret_for_hmac" },
          ...prefer("example=given"),
        });
        expectDocumented("rotateCampaignWebhookSecret", given, 200);
        expect(given.data).toEqual({ success: true, message: "Webhook secret rotated", data: { previous_secret_expires_at: expect.any(String), secret_generated: false } });
      });

      testIf(sendsInvalid, "rotateCampaignWebhookSecret with a null secret is 422 on webhook_secret", async () => {
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: hookOfCampaign() },
          // Deliberately outside the document: the rotation's secret is not nullable.
          body: { webhook_secret: null as never },
          ...prefer("code=422"),
        });
        expectDocumented("rotateCampaignWebhookSecret", answer, 422);
        expect(Object.keys((answer.error as { errors: object }).errors)).toEqual(["webhook_secret"]);
      });

      test("rotateCampaignWebhookSecret under an unknown campaign is 404 'Campaign not found in this environment.'", async () => {
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/secret/rotate", {
          params: { path: { campaign_id: randomUUID(), webhook_id: hookOfCampaign().webhook_id } },
          ...prefer("code=404, example=campaign"),
        });
        expectDocumented("rotateCampaignWebhookSecret", answer, 404);
        expect(answer.error).toEqual(campaignNotFound);
      });

      test("listCampaignWebhookLogs answers a page of attempts (none yet on a stateful target)", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
          params: { path: hookOfCampaign(), query: { per_page: 50 } },
        });
        expectDocumented("listCampaignWebhookLogs", answer, 200);
        expect(answer.data!.pagination.current_page).toBe(1);
        if (caps.stateful) {
          expect(answer.data!.pagination).toMatchObject({ per_page: 50, total: 0 });
          expect(answer.data!.data).toEqual([]);
        }
      });

      testIf(sendsInvalid, "listCampaignWebhookLogs with per_page above 100 is 422", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
          params: { path: hookOfCampaign(), query: { per_page: 500 } },
          ...prefer("code=422"),
        });
        expectDocumented("listCampaignWebhookLogs", answer, 422);
        // The campaign logs' 422 documents only the unknown-query example, which is what a mock answers.
        if (caps.stateful) {
          expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { per_page: ["The per page field must be between 1 and 100."] } });
        }
      });

      test("listCampaignWebhookLogs takes the filters, a campaign event, an agent event or webhook.test", async () => {
        for (const event of ["campaign.started", "event_phone_call_ended", "webhook.test"] as const) {
          const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
            params: { path: hookOfCampaign(), query: { event, status: "pending", since: "2026-01-01T00:00:00Z", until: "2100-01-01T00:00:00.000001+02:00" } },
          });
          expectDocumented("listCampaignWebhookLogs", answer, 200);
          if (caps.stateful) expect(answer.data!.pagination).toMatchObject({ total: 0, last_page: 1 });
        }
      });

      testIf(sendsInvalid, "listCampaignWebhookLogs with an unknown event or a malformed date is 422", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
          params: { path: hookOfCampaign(), query: { event: "campaign.exploded" as "campaign.started", since: "yesterday" } },
          ...prefer("code=422"),
        });
        expectDocumented("listCampaignWebhookLogs", answer, 422);
        if (caps.stateful) {
          expect(answer.error).toEqual({
            message: "The given data was invalid.",
            errors: {
              event: ["The selected event is invalid."],
              since: ["The since field must be a valid date-time (RFC 3339, with a time zone)."],
            },
          });
        }
      });

      test("logs of an unknown campaign webhook are 404 'Webhook not found.'", async () => {
        const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
          params: { path: { campaign_id: target.campaignId, webhook_id: randomUUID() } },
          ...prefer("code=404, example=webhook"),
        });
        expectDocumented("listCampaignWebhookLogs", answer, 404);
        expect(answer.error).toEqual({ success: false, message: "Webhook not found." });
      });

      test("testCampaignWebhook answers 200 and says in `success` whether the receiver accepted", async () => {
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/test", { params: { path: hookOfCampaign() } });
        expectDocumented("testCampaignWebhook", answer, 200);
        const result = answer.data!;
        expect(result.message).toMatch(/^(Test payload dispatched|Webhook test failed: .+)$/);
        expect(result.success).toBe(result.message === "Test payload dispatched");
        if (caps.stateful) expect(result.success).toBe(false); // FAILING_URL
        else expect(result).toEqual({ success: true, message: "Test payload dispatched", data: { status_code: 200, response_time: 150 } });
      });

      let testLog: WebhookLog | undefined;

      test("the test delivery is logged under the webhook's first event, and cannot be retried: 422 LOG_NOT_RETRIABLE", async () => {
        const logs = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", { params: { path: hookOfCampaign() } });
        expectDocumented("listCampaignWebhookLogs", logs, 200);
        testLog = logs.data!.data[0];
        expect(testLog, "no log row").toBeDefined();
        if (caps.stateful) {
          expect(logs.data!.data).toHaveLength(1);
          expect(testLog).toMatchObject({ webhook_id: campaignHook!.id, event: campaignHook!.events[0], attempt: 1, status: "failed" });
        }
        const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { ...hookOfCampaign(), log_id: testLog!.id } },
          ...prefer("code=422"),
        });
        expectDocumented("retryCampaignWebhookLog", answer, 422);
        expect(answer.error).toEqual({ success: false, message: "Log cannot be retried", code: "LOG_NOT_RETRIABLE" });
      });

      test("retrying an unknown log is 404 'Log not found.'; under an unknown campaign, 'Campaign not found in this environment.'", async () => {
        const log = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { ...hookOfCampaign(), log_id: randomUUID() } },
          ...prefer("code=404, example=log"),
        });
        expectDocumented("retryCampaignWebhookLog", log, 404);
        expect(log.error).toEqual({ success: false, message: "Log not found." });
        const unknownCampaign = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
          params: { path: { campaign_id: randomUUID(), webhook_id: campaignHook!.id, log_id: testLog!.id } },
          ...prefer("code=404, example=campaign"),
        });
        expectDocumented("retryCampaignWebhookLog", unknownCampaign, 404);
        expect(unknownCampaign.error).toEqual(campaignNotFound);
      });

      describe("campaign event intake (service token)", () => {
        const idempotencyKey = `contract-campaign-${randomUUID()}`;
        let eventId: string | undefined;
        const event = () => ({
          event: "campaign.completed" as const,
          occurred_at: "2025-09-04T18:00:00.000000Z",
          idempotency_key: idempotencyKey,
          data: { name: "Campaign progress", status: "completed" },
        });

        test("ingestCampaignEvent answers 202 and queues one delivery per subscribed webhook of the campaign", async () => {
          const answer = await service.POST("/internal/v1/campaigns/{campaign_id}/events", {
            params: { path: campaign() },
            body: event(),
            ...prefer("example=accepted"),
          });
          expectDocumented("ingestCampaignEvent", answer, 202);
          // The mock's example and a stateful target agree: the one webhook, subscribed to campaign.completed.
          expect(answer.data).toEqual({ success: true, message: "Event accepted", data: { event_id: expect.any(String), deliveries_queued: 1, replayed: false } });
          eventId = answer.data!.data.event_id;
        });

        test("ingestCampaignEvent with an idempotency key seen before replays the event and queues nothing", async () => {
          const answer = await service.POST("/internal/v1/campaigns/{campaign_id}/events", {
            params: { path: campaign() },
            body: event(),
            ...prefer("example=replayed"),
          });
          expectDocumented("ingestCampaignEvent", answer, 202);
          expect(answer.data!.message).toBe("Event accepted");
          expect(answer.data!.data).toEqual({ event_id: eventId, deliveries_queued: 0, replayed: true });
        });

        test("ingestCampaignEvent with an environment token is 401 'Invalid Bearer Token'", async () => {
          const answer = await api.POST("/internal/v1/campaigns/{campaign_id}/events", {
            params: { path: campaign() },
            body: event(),
            ...prefer("code=401, example=invalid"),
          });
          expectDocumented("ingestCampaignEvent", answer, 401);
          expect(answer.error).toEqual({ message: "Invalid Bearer Token" });
        });

        testIf(sendsInvalid, "ingestCampaignEvent of an agent event is 422 'The selected event is invalid.'", async () => {
          const answer = await service.POST("/internal/v1/campaigns/{campaign_id}/events", {
            params: { path: campaign() },
            body: { event: AGENT_ONLY_EVENT, data: {} },
            ...prefer("code=422, example=agent_event"),
          });
          expectDocumented("ingestCampaignEvent", answer, 422);
          expect(answer.error).toEqual({ message: "The given data was invalid.", errors: { event: ["The selected event is invalid."] } });
        });

        test("ingestCampaignEvent for an unknown campaign is 404 'Campaign not found in this environment.'", async () => {
          const answer = await service.POST("/internal/v1/campaigns/{campaign_id}/events", {
            params: { path: { campaign_id: randomUUID() } },
            body: { ...event(), idempotency_key: `contract-${randomUUID()}` },
            ...prefer("code=404, example=campaign"),
          });
          expectDocumented("ingestCampaignEvent", answer, 404);
          expect(answer.error).toEqual(campaignNotFound);
        });

        test("ingestEvent with the campaign_id of a call reaches the campaign's webhooks with include_call_events", async () => {
          const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
            params: { path: agent() },
            body: { event: "event_phone_call_ended", campaign_id: target.campaignId, idempotency_key: `contract-${randomUUID()}`, data: { call_id: randomUUID() } },
            ...prefer("example=accepted"),
          });
          expectDocumented("ingestEvent", answer, 202);
          expect(answer.data!.data.replayed).toBe(false);
          // The agent's webhooks are deleted by now: the one delivery is the campaign webhook's (include_call_events).
          if (caps.stateful) expect(answer.data!.data.deliveries_queued).toBe(1);
        });

        testIf(caps.stateful && Boolean(caps.foreignCampaign), "ingestEvent with another environment's campaign_id is 422 on campaign_id", async () => {
          const answer = await service.POST("/internal/v1/agents/{agent_id}/events", {
            params: { path: agent() },
            body: { event: "event_phone_call_ended", campaign_id: target.foreignCampaignId!, data: { call_id: randomUUID() } },
          });
          expectDocumented("ingestEvent", answer, 422);
          expect(Object.keys((answer.error as { errors: object }).errors)).toEqual(["campaign_id"]);
        });

        testIf(!caps.stateful || Boolean(caps.deliversEvents), "a failed campaign delivery is retried by hand as a new attempt one higher", async () => {
          // Mock: any log id; real server: wait for the worker to fail the campaign.completed delivery queued above.
          const failed = caps.stateful ? await waitForFailedCampaignAttempt() : testLog!;
          const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs/{log_id}/retry", {
            params: { path: { ...hookOfCampaign(), log_id: failed.id } },
          });
          expectDocumented("retryCampaignWebhookLog", answer, 200);
          expect(answer.data!.message).toBe("Webhook retry queued");
          expect(answer.data!.data.queued_at).toMatch(MICROSECONDS_UTC);
          if (caps.stateful) {
            expect(answer.data!.data.original_log_id).toBe(failed.id);
            const rows = await campaignLogRows();
            expect(rows.find((row) => row.id === failed.id)).toEqual(failed); // the original row stays as it was
            expect(rows.find((row) => row.id === answer.data!.data.log_id)).toMatchObject({ attempt: failed.attempt + 1, event: failed.event });
          }
        }, 30_000);

        test("recoverCampaignWebhook answers 202 'Webhook recovery queued'; until not after since is 422 on until", async () => {
          const since = new Date(Date.now() - 3_600_000).toISOString();
          const answer = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/recover", {
            params: { path: hookOfCampaign() },
            body: { since },
          });
          expectDocumented("recoverCampaignWebhook", answer, 202);
          expect(answer.data).toMatchObject({ success: true, message: "Webhook recovery queued" });
          const refused = await api.POST("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/recover", {
            params: { path: hookOfCampaign() },
            body: { since, until: since },
            ...prefer("code=422, example=until"),
          });
          expectDocumented("recoverCampaignWebhook", refused, 422);
          expect(refused.error).toEqual({ message: "The given data was invalid.", errors: { until: ["The until field must be a date after since."] } });
        });

        async function campaignLogRows(): Promise<WebhookLog[]> {
          const answer = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", {
            params: { path: hookOfCampaign(), query: { per_page: 100 } },
          });
          expectDocumented("listCampaignWebhookLogs", answer, 200);
          return answer.data!.data;
        }

        async function waitForFailedCampaignAttempt(): Promise<WebhookLog> {
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline) {
            const failed = (await campaignLogRows()).find((row) => row.event === "campaign.completed" && row.status === "failed" && row.id !== testLog?.id);
            if (failed) return failed;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          throw new Error("no failed attempt of the ingested campaign event appeared in the logs within 20 s");
        }
      });

      test("deleteCampaignWebhook answers 200 'Campaign webhook deleted'; the webhook and its logs then answer 404", async () => {
        const answer = await api.DELETE("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", { params: { path: hookOfCampaign() } });
        expectDocumented("deleteCampaignWebhook", answer, 200);
        expect(answer.data).toEqual({ success: true, message: "Campaign webhook deleted" });

        const notFound = { success: false, message: "Webhook not found." };
        const shown = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", { params: { path: hookOfCampaign() }, ...prefer("code=404, example=webhook") });
        expectDocumented("showCampaignWebhook", shown, 404);
        expect(shown.error).toEqual(notFound);
        const logs = await api.GET("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/logs", { params: { path: hookOfCampaign() }, ...prefer("code=404, example=webhook") });
        expectDocumented("listCampaignWebhookLogs", logs, 404);
        expect(logs.error).toEqual(notFound);
        const deleted = await api.DELETE("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}", { params: { path: hookOfCampaign() }, ...prefer("code=404, example=webhook") });
        expectDocumented("deleteCampaignWebhook", deleted, 404);
        expect(deleted.error).toEqual(notFound);
        const toggled = await api.PATCH("/api/v1/campaigns/{campaign_id}/webhooks/{webhook_id}/toggle", { params: { path: hookOfCampaign() }, ...prefer("code=404, example=webhook") });
        expectDocumented("toggleCampaignWebhook", toggled, 404);
        expect(toggled.error).toEqual(notFound);
      });
    });

    describe("database unavailable", () => {
      // A mock answers 503 when asked; a real server while its database is held by another connection.
      testIf(!caps.stateful || Boolean(caps.databaseFaults), "while the database cannot answer, writes are 503 with Retry-After, the API's and the intake's", async () => {
        const release = caps.stateful ? await target.holdDatabase!() : async () => {};
        try {
          const started = Date.now();
          const created = await api.POST("/api/v1/agents/{agent_id}/webhooks", {
            params: { path: agent() },
            body: { name: "During the fault", webhook_url: FAILING_URL, events: ["event_phone_call_ended"] },
            ...prefer("code=503, example=unavailable"),
          });
          expectDocumented("createWebhook", created, 503);
          expect(created.error).toEqual(UNAVAILABLE);
          expect(created.response.headers.get("Retry-After")).toMatch(/^[1-9]\d*$/);

          const ingested = await service.POST("/internal/v1/agents/{agent_id}/events", {
            params: { path: agent() },
            body: { event: "event_phone_call_ended", idempotency_key: `contract-${randomUUID()}`, data: { call_id: randomUUID() } },
            ...prefer("code=503, example=unavailable"),
          });
          expectDocumented("ingestEvent", ingested, 503);
          expect(ingested.error).toEqual(UNAVAILABLE);
          expect(ingested.response.headers.get("Retry-After")).toMatch(/^[1-9]\d*$/);
          // Within the documented bound, for both requests together.
          expect(Date.now() - started).toBeLessThan(10_000);
        } finally {
          await release();
        }
        if (caps.stateful) {
          // Nothing was made: the webhook list is as before.
          const listed = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
          expectDocumented("listWebhooks", listed, 200);
          expect(listed.data!.data.webhooks.map((w) => w.name)).not.toContain("During the fault");
        }
      }, 30_000);
    });

    // Last: on a real server it spends the token's whole budget.
    describe("rate limit", () => {
      testIf(!caps.stateful || caps.rateLimitPerMinute !== undefined, "over the limit is 429 'Too many requests. Please try again later.' with Retry-After", async () => {
        // A mock answers 429 when asked; a real server once the minute's budget is spent (twice the limit
        // bounds the loop even if a new window opens half-way).
        let answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() }, ...prefer("code=429") });
        for (let i = 0; answer.response.status !== 429 && i < 2 * (caps.rateLimitPerMinute ?? 0); i++) {
          answer = await api.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: agent() } });
        }
        expectDocumented("listWebhooks", answer, 429);
        expect(answer.error).toEqual({ success: false, message: "Too many requests. Please try again later." });
        expect(answer.response.headers.get("Retry-After")).toMatch(/^\d+$/);
      }, 60_000);
    });

    test("every operation of the document was exercised", () => {
      expect(operationIds.filter((id) => !covered.has(id))).toEqual([]);
    });
  });
}

/** A body whose every field breaks one documented limit; answered by the `limits` example. */
function outOfRange(): WebhookCreate {
  return {
    name: "n".repeat(256),
    webhook_url: "not a url",
    timeout: 3,
    events: ["event_recording", OUTSIDE_CATALOGUE],
  };
}

/** The same for a campaign webhook: `event_recording` is in the campaign catalogue too, the second event in neither. */
function campaignOutOfRange(): CampaignWebhookUpdate {
  return { ...outOfRange(), events: ["event_recording", OUTSIDE_CATALOGUE as unknown as CampaignEventName] };
}

/** The campaign catalogue, names in openapi.yaml's order: what `available_events` must be. */
function campaignCatalogue(): CampaignEventName[] {
  return [...loadSpec().campaignEvents];
}

const UNAVAILABLE = { success: false, message: "The service is temporarily unavailable. Please try again shortly." };

const limitsError = {
  message: "The given data was invalid.",
  errors: {
    name: ["The name field must not be greater than 255 characters."],
    webhook_url: ["The webhook url must be a valid URL."],
    timeout: ["The timeout field must be between 5 and 120."],
    "events.1": ["The selected events.1 is invalid."],
  },
};
