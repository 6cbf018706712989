// Our patch of express-openapi-validator (patches/express-openapi-validator+5.6.2.patch, applied by
// patch-package on `npm ci`): its route lookup compiled every route's path-to-regexp matcher on every request
// (about 70 µs a request with our routes) and walked every route's settings and path items; patched, the
// routes' table is built once. This fails without the patch.
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

// The path-to-regexp the validator itself requires (it reads the export at each call, so a wrapper set here is seen).
const validatorRequire = createRequire(createRequire(import.meta.url).resolve("express-openapi-validator"));
const pathToRegexpModule = validatorRequire("path-to-regexp") as { pathToRegexp: (...args: unknown[]) => unknown };

describe("express-openapi-validator route lookup (patched)", () => {
  let t: TestServer;
  let compiled = 0;
  const original = pathToRegexpModule.pathToRegexp;

  beforeAll(async () => {
    pathToRegexpModule.pathToRegexp = (...args: unknown[]) => {
      compiled++;
      return original(...args);
    };
    t = await startTestServer("sqlite");
  });
  afterAll(async () => {
    pathToRegexpModule.pathToRegexp = original;
    await t?.stop();
  });

  it("compiles no route matcher per request once the routes are warm", async () => {
    const path = `/api/v1/agents/${t.agentId}/webhooks`;
    // Warm: the first requests compile what they need (the validator also builds its routes lazily).
    for (let i = 0; i < 3; i++) expect((await t.api(path)).status).toBe(200);
    expect((await t.api(`/api/v1/campaigns/${t.campaignId}/webhooks`)).status).toBe(200);
    const before = compiled;
    for (let i = 0; i < 20; i++) expect((await t.api(path)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await t.api(`/api/v1/campaigns/${t.campaignId}/webhooks`)).status).toBe(200);
    expect(compiled - before).toBe(0);
  });

  it("walks a table built once, not every route's settings and path items per request", async () => {
    // Unpatched, the lookup asks the app for its routing settings once per route it walks before the match.
    const app = t.server.app;
    const enabled = app.enabled.bind(app);
    let asked = 0;
    app.enabled = (setting: string) => {
      if (setting === "strict routing") asked++;
      return enabled(setting);
    };
    try {
      const logs = `/api/v1/campaigns/${t.campaignId}/webhooks`;
      for (let i = 0; i < 10; i++) expect((await t.api(logs)).status).toBe(200);
      expect(asked).toBe(10);
    } finally {
      app.enabled = enabled;
    }
  });

  it("still matches each route and its parameters correctly", async () => {
    const unknownWebhook = await t.api(`/api/v1/agents/${t.agentId}/webhooks/01994a2b-0000-7000-8000-00000000beef`);
    expect(unknownWebhook.body).toEqual({ success: false, message: "Webhook not found." });
    const wrongMethod = await t.api(`/api/v1/agents/${t.agentId}/webhooks`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect((await t.api("/api/v1/nowhere")).status).toBe(404);
  });
});
