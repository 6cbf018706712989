// The published pages (shared/seeds) fix create and logs to the letter: their example requests and responses
// must be accepted by openapi.yaml as they stand.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { componentErrors, schemaErrors } from "../support/spec-schemas.js";

// Verbatim copies of shared/seeds, so a clean clone tests itself.
const SEEDS = new URL("../fixtures/seeds/", import.meta.url);
const createPage = new URL("000_b07ef1f3a01a185c.txt", SEEDS);
const logsPage = new URL("003_6601c2662cade2f4.txt", SEEDS);

/** The JSON documents of a page, in order: every balanced {...} block that parses. */
function jsonBlocks(page: URL): any[] {
  const text = readFileSync(page, "utf8");
  const blocks: any[] = [];
  for (let start = text.indexOf("{"); start !== -1; ) {
    let depth = 0;
    let end = start;
    for (; end < text.length; end++) {
      if (text[end] === "{") depth++;
      else if (text[end] === "}" && --depth === 0) break;
    }
    try {
      blocks.push(JSON.parse(text.slice(start, end + 1)));
      start = text.indexOf("{", end + 1);
    } catch {
      start = text.indexOf("{", start + 1);
    }
  }
  return blocks;
}

describe("the published create page", () => {
  const blocks = jsonBlocks(createPage);
  const request = blocks.find((b) => "webhook_url" in b && !("data" in b));
  const created = blocks.find((b) => b.message === "Webhook created successfully");
  const missingToken = blocks.find((b) => b.message === "Missing Bearer Token");
  const agentNotFound = blocks.find((b) => b.message === "Agent not found in this environment.");
  const invalid = blocks.find((b) => b.message === "The given data was invalid.");

  it("its request body is a valid WebhookCreate", () => {
    expect(request).toBeDefined();
    expect(componentErrors("WebhookCreate", request)).toEqual([]);
  });

  it("its 201 body is a valid create response", () => {
    expect(componentErrors("WebhookCreatedResponse", created)).toEqual([]);
  });

  it("its error bodies are the documented 401, 404 and 422 bodies", () => {
    expect(componentErrors("AuthError", missingToken)).toEqual([]);
    expect(componentErrors("ErrorMessage", agentNotFound)).toEqual([]);
    expect(componentErrors("ValidationError", invalid)).toEqual([]);
  });

  it("its validation rules are the schema's limits", () => {
    const errorsOf = (body: object) => componentErrors("WebhookCreate", { ...request, ...body });
    expect(errorsOf({ name: "x".repeat(255) })).toEqual([]);
    expect(errorsOf({ name: "x".repeat(256) })).not.toEqual([]);
    expect(errorsOf({ webhook_url: `https://example.com/${"a".repeat(500 - 20)}` })).toEqual([]);
    expect(errorsOf({ webhook_url: `https://example.com/${"a".repeat(501 - 20)}` })).not.toEqual([]);
    expect(errorsOf({ webhook_secret: "s".repeat(256) })).not.toEqual([]);
    expect(errorsOf({ events: [] })).not.toEqual([]);
    expect(errorsOf({ events: ["event_nope"] })).not.toEqual([]);
    expect(errorsOf({ timeout: 4 })).not.toEqual([]);
    expect(errorsOf({ timeout: 121 })).not.toEqual([]);
    expect(errorsOf({ max_retries: 11 })).not.toEqual([]);
    expect(errorsOf({ enabled: "yes" })).not.toEqual([]);
  });
});

describe("the published logs page", () => {
  const [page] = jsonBlocks(logsPage).filter((b) => "pagination" in b);

  it("its response is a valid log page", () => {
    expect(page).toBeDefined();
    expect(componentErrors("WebhookLogPage", page)).toEqual([]);
  });

  it("its per_page range is 1 to 100, default 25, and page starts at 1", () => {
    const perPage = "#/components/parameters/PerPage/schema";
    expect(schemaErrors(perPage, 1)).toEqual([]);
    expect(schemaErrors(perPage, 100)).toEqual([]);
    expect(schemaErrors(perPage, 0)).not.toEqual([]);
    expect(schemaErrors(perPage, 101)).not.toEqual([]);
    expect(schemaErrors("#/components/parameters/Page/schema", 0)).not.toEqual([]);
  });
});
