// Every documented validation rule at and past its boundary, and every kind of bad request: each gets a
// documented 4xx body, never a 500 or an HTML page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { componentErrors } from "../support/spec-schemas.js";
import { createWebhook, DIALECTS, validWebhook, webhooksPath } from "./helpers.js";

const url = (length: number) => {
  const base = "https://example.com/";
  return base + "a".repeat(length - base.length);
};

/** [rule, body changes, field, message | undefined when accepted] */
const RULES: Array<[string, Record<string, unknown>, string, string | undefined]> = [
  ["name of 255 characters is accepted", { name: "n".repeat(255) }, "name", undefined],
  ["name of 256 characters is rejected", { name: "n".repeat(256) }, "name", "The name field must not be greater than 255 characters."],
  ["empty name is rejected", { name: "" }, "name", "The name field is required."],
  ["name that is not a string is rejected", { name: 42 }, "name", "The name field must be a string."],
  ["webhook_url of 500 characters is accepted", { webhook_url: url(500) }, "webhook_url", undefined],
  ["webhook_url of 501 characters is rejected", { webhook_url: url(501) }, "webhook_url", "The webhook url field must not be greater than 500 characters."],
  ["webhook_url that is not a URL is rejected", { webhook_url: "not a url" }, "webhook_url", "The webhook url must be a valid URL."],
  ["webhook_url with a javascript: scheme is rejected", { webhook_url: "javascript:alert(1)" }, "webhook_url", "The webhook url must be a valid URL."],
  ["webhook_url with an ftp: scheme is rejected", { webhook_url: "ftp://example.com/x" }, "webhook_url", "The webhook url must be a valid URL."],
  ["webhook_secret of 255 characters is accepted", { webhook_secret: "s".repeat(255) }, "webhook_secret", undefined],
  ["webhook_secret of 256 characters is rejected", { webhook_secret: "s".repeat(256) }, "webhook_secret", "The webhook secret field must not be greater than 255 characters."],
  ["webhook_secret null means no secret", { webhook_secret: null }, "webhook_secret", undefined],
  ["webhook_secret whsec_ with base64 is accepted", { webhook_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }, "webhook_secret", undefined],
  ["webhook_secret whsec_ without base64 is rejected", { webhook_secret: "whsec_not base64!" }, "webhook_secret", "The webhook secret must be base64 after the whsec_ prefix."],
  ["webhook_secret whsec_ with nothing after it is rejected (it could sign nothing)", { webhook_secret: "whsec_" }, "webhook_secret", "The webhook secret must be base64 after the whsec_ prefix."],
  ["webhook_secret that is not a string is rejected", { webhook_secret: 12 }, "webhook_secret", "The webhook secret field must be a string."],
  ["events empty is rejected", { events: [] }, "events", "The events field must contain at least 1 items."],
  ["events with an unknown event is rejected", { events: ["event_phone_call_started", "event_nope"] }, "events.1", "The selected events.1 is invalid."],
  ["events with a repeated event is rejected", { events: ["event_action", "event_recording", "event_action"] }, "events.2", "The events.2 field has a duplicate value."],
  ["events that is not an array is rejected", { events: "event_action" }, "events", "The events field must be an array."],
  ["timeout 4 is rejected", { timeout: 4 }, "timeout", "The timeout field must be between 5 and 120."],
  ["timeout 5 is accepted", { timeout: 5 }, "timeout", undefined],
  ["timeout 120 is accepted", { timeout: 120 }, "timeout", undefined],
  ["timeout 121 is rejected", { timeout: 121 }, "timeout", "The timeout field must be between 5 and 120."],
  ["timeout \"30\" (a string) is rejected", { timeout: "30" }, "timeout", "The timeout field must be an integer."],
  ["timeout 30.5 is rejected", { timeout: 30.5 }, "timeout", "The timeout field must be an integer."],
  ["max_retries -1 is rejected", { max_retries: -1 }, "max_retries", "The max retries field must be between 0 and 10."],
  ["max_retries 0 is accepted", { max_retries: 0 }, "max_retries", undefined],
  ["max_retries 10 is accepted", { max_retries: 10 }, "max_retries", undefined],
  ["max_retries 11 is rejected", { max_retries: 11 }, "max_retries", "The max retries field must be between 0 and 10."],
  ["enabled \"true\" (a string) is rejected", { enabled: "true" }, "enabled", "The enabled field must be true or false."],
  ["enabled 1 is rejected", { enabled: 1 }, "enabled", "The enabled field must be true or false."],
  ["an unknown field is rejected", { colour: "blue" }, "colour", "The colour field is prohibited."],
];

describe.each(DIALECTS)("validation on %s", (dialect) => {
  let t: TestServer;
  let webhookId: string;
  beforeAll(async () => {
    t = await startTestServer(dialect);
    webhookId = (await createWebhook(t)).id;
  });
  afterAll(() => t?.stop());

  describe.each(RULES)("%s", (_rule, change, field, message) => {
    it("on create", async () => {
      const r = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, ...change } });
      if (message === undefined) {
        expect(r.status, r.text).toBe(201);
      } else {
        expect(r.status).toBe(422);
        expect(componentErrors("ValidationError", r.body)).toEqual([]);
        expect(r.body).toEqual({ message: "The given data was invalid.", errors: { [field]: [message] } });
      }
    });

    it("on update", async () => {
      const r = await t.api(`${webhooksPath(t)}/${webhookId}`, { method: "PUT", body: change });
      if (message === undefined) expect(r.status, r.text).toBe(200);
      else expect(r.body).toEqual({ message: "The given data was invalid.", errors: { [field]: [message] } });
    });
  });

  it("the seed's 422: missing webhook_url and empty events, one message each", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: { name: "x", events: [] } });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({
      message: "The given data was invalid.",
      errors: {
        webhook_url: ["The webhook url field is required."],
        events: ["The events field must contain at least 1 items."],
      },
    });
  });

  it("every required field missing is listed", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: {} });
    expect(Object.keys(r.body.errors).sort()).toEqual(["events", "name", "webhook_url"]);
    expect(r.body.errors.name).toEqual(["The name field is required."]);
  });

  it("unknown field names are quoted within the documented bounds: one line, 255 characters, 100 fields", async () => {
    const long = `col\nour${"x".repeat(2_000)}`;
    const one = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, [long]: 1 } });
    expect(one.status).toBe(422);
    expect(componentErrors("ValidationError", one.body)).toEqual([]);
    const [name] = Object.keys(one.body.errors);
    expect(name).toBe(`col our${"x".repeat(255 - 8)}…`);
    expect(one.body.errors[name!]).toEqual([`The ${name!.replace(/_/g, " ")} field is prohibited.`]);

    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`unknown_${i}`, i]));
    const r = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, ...many } });
    expect(r.status).toBe(422);
    expect(componentErrors("ValidationError", r.body)).toEqual([]);
    expect(Object.keys(r.body.errors)).toHaveLength(100);
  });

  it("a body that is not an object is a 422", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: "[1,2]" });
    expect(r.status).toBe(422);
    expect(r.body.message).toBe("The given data was invalid.");
  });

  it("malformed JSON is a 400 with the error envelope", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: '{"name": ' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ success: false, message: "The request body is not a valid JSON object." });
  });

  it("a body that is not application/json is a 415", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBe(415);
    expect(r.body).toEqual({ success: false, message: "The request body must be application/json." });
  });

  it("a body over the limit is a 413", async () => {
    const r = await t.api(webhooksPath(t), { method: "POST", body: { ...validWebhook, name: "x".repeat(70 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ success: false, message: "The request body is too large." });
  });

  it("per_page 1 and 100 are accepted, 0 and 101 rejected; page 0 rejected", async () => {
    const logs = `${webhooksPath(t)}/${webhookId}/logs`;
    expect((await t.api(`${logs}?per_page=1`)).body.pagination.per_page).toBe(1);
    expect((await t.api(`${logs}?per_page=100&page=3`)).body.pagination).toEqual({ current_page: 3, per_page: 100, total: 0, last_page: 1 });
    for (const bad of ["0", "101", "abc"]) {
      const r = await t.api(`${logs}?per_page=${bad}`);
      expect(r.status).toBe(422);
      expect(r.body.errors.per_page).toEqual([bad === "abc" ? "The per page field must be an integer." : "The per page field must be between 1 and 100."]);
    }
    expect((await t.api(`${logs}?page=0`)).body.errors).toEqual({ page: ["The page field must be at least 1."] });
  });

  it("a query parameter given twice is a 422, and an undecodable URL a 400", async () => {
    const twice = await t.api(`${webhooksPath(t)}/${webhookId}/logs?per_page=1&per_page=2`);
    expect(twice.status).toBe(422);
    expect(twice.body.errors).toEqual({ per_page: ["The per page field must be an integer."] });
    const undecodable = await t.api(`${webhooksPath(t)}/%E0%A4%A`);
    expect(undecodable.status).toBe(400);
    expect(undecodable.body).toEqual({ success: false, message: "The request URL is malformed." });
  });

  it("an unknown query parameter is a 422 naming it", async () => {
    const r = await t.api(`${webhooksPath(t)}?colour=blue`);
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ message: "The given data was invalid.", errors: { colour: ["The colour field is prohibited."] } });
  });

  it("an unknown route is a JSON 404 and a wrong method a JSON 405", async () => {
    const unknown = await t.api("/api/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ success: false, message: "Route not found." });
    const outside = await t.api("/favicon.ico", { token: null });
    expect(outside.status).toBe(404);
    expect(outside.headers.get("content-type")).toMatch(/application\/json/);
    const method = await t.api(webhooksPath(t), { method: "DELETE" });
    expect(method.status).toBe(405);
    expect(method.body).toEqual({ success: false, message: "The DELETE method is not supported for this route." });
  });

  it("the test endpoint validates its optional url", async () => {
    const r = await t.api(`${webhooksPath(t)}/${webhookId}/test`, { method: "POST", body: { url: "gopher://x" } });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual({ url: ["The url must be a valid URL."] });
  });
});
