// CORS: none by default; for an origin CORS_ORIGINS lists, the header on answers (errors included) and a
// preflight answered before authentication; nothing for an unlisted origin; never on the internal intake.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../server/config.js";
import { SERVICE_TOKEN, startTestServer, type TestServer } from "../support/server.js";

const LISTED = "https://app.example.com";
const UNLISTED = "https://evil.example.net";

describe("CORS", () => {
  describe("by default", () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer("sqlite");
    });
    afterAll(() => t?.stop());

    it("no answer carries Access-Control-Allow-Origin, whatever the origin", async () => {
      const answer = await t.api(`/api/v1/agents/${t.agentId}/webhooks`, { headers: { origin: LISTED } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
      const preflight = await fetch(`${t.url}/api/v1/agents/${t.agentId}/webhooks`, {
        method: "OPTIONS",
        headers: { origin: LISTED, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
    });
  });

  describe("with CORS_ORIGINS", () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer("sqlite", { config: { corsOrigins: [LISTED] } });
    });
    afterAll(() => t?.stop());

    it("a listed origin: the header on success and error answers, the rate-limit headers exposed, Vary: Origin", async () => {
      const ok = await t.api(`/api/v1/agents/${t.agentId}/webhooks`, { headers: { origin: LISTED } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("access-control-allow-origin")).toBe(LISTED);
      expect(ok.headers.get("access-control-expose-headers")).toContain("X-RateLimit-Remaining");
      expect(ok.headers.get("vary")).toMatch(/Origin/);
      const unauthorized = await t.api(`/api/v1/agents/${t.agentId}/webhooks`, { token: null, headers: { origin: LISTED } });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get("access-control-allow-origin")).toBe(LISTED);
    });

    it("a listed origin's preflight is a 204 before authentication, with the methods and headers a page needs", async () => {
      const preflight = await fetch(`${t.url}/api/v1/agents/${t.agentId}/webhooks/x/toggle`, {
        method: "OPTIONS",
        headers: { origin: LISTED, "access-control-request-method": "PATCH", "access-control-request-headers": "authorization" },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe(LISTED);
      expect(preflight.headers.get("access-control-allow-methods")).toBe("GET, POST, PUT, PATCH, DELETE");
      expect(preflight.headers.get("access-control-allow-headers")).toBe("Authorization, Content-Type");
      expect(Number(preflight.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    });

    it("an unlisted origin gets no CORS header, on answers or preflights", async () => {
      const answer = await t.api(`/api/v1/agents/${t.agentId}/webhooks`, { headers: { origin: UNLISTED } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
      expect(answer.headers.get("vary")).toMatch(/Origin/);
      const preflight = await fetch(`${t.url}/api/v1/agents/${t.agentId}/webhooks`, {
        method: "OPTIONS",
        headers: { origin: UNLISTED, "access-control-request-method": "POST" },
      });
      expect(preflight.status).not.toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("the internal intake never answers CORS", async () => {
      const answer = await t.api(`/internal/v1/agents/${t.agentId}/events`, {
        method: "POST",
        token: SERVICE_TOKEN,
        headers: { origin: LISTED },
        body: { event: "event_phone_call_ended", data: { call_id: "c1" } },
      });
      expect(answer.status).toBe(202);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  it("CORS_ORIGINS takes exact origins only: a wildcard, a path or a non-URL is a configuration error", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://a.example.com, http://localhost:5173" }).corsOrigins).toEqual([
      "https://a.example.com",
      "http://localhost:5173",
    ]);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    for (const bad of ["*", "https://a.example.com/app", "a.example.com", "ftp://a.example.com"]) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
    }
  });
});
