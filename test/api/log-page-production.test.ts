// The logs listing as production serves it: response validation off, the page written as JSON text from the
// stored rows (present.ts logJson). Its answer must be the validated way's, byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presentLog } from "../../server/http/present.js";
import { insertTestLog, listLogs } from "../../server/storage/logs.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createWebhook, webhooksPath } from "./helpers.js";

describe("GET …/logs with response validation off (production)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("sqlite", { config: { validateResponses: false } });
  });
  afterAll(() => t.stop());

  it("answers the same bytes as JSON.stringify of the presented page", async () => {
    const webhook = await createWebhook(t);
    const database = t.server.database;
    const payloads = [JSON.stringify({ a: "é😀\u2028", n: [1, 0.5] }), JSON.stringify("a string template"), "{}"];
    for (const [i, requestPayload] of payloads.entries()) {
      await insertTestLog(database, {
        webhookId: webhook.id, event: "webhook.test", requestPayload, status: i === 0 ? "success" : "failed",
        httpStatus: i === 0 ? 200 : null, responseBody: i === 0 ? '{"ok":true}' : null, responseHeaders: i === 0 ? { "content-type": "application/json" } : null,
        error: i === 0 ? null : "Connection refused", durationMs: 5 + i, deliveredAt: i === 0 ? 1_762_171_200_999 : null, now: 1_762_171_200_000 + i,
      });
    }
    const r = await t.api(`${webhooksPath(t)}/${webhook.id}/logs?per_page=2&page=1`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const { rows, total } = await listLogs(database, webhook.id, { page: 1, perPage: 2 });
    const expected = { success: true, data: rows.map(presentLog), pagination: { current_page: 1, per_page: 2, total, last_page: 2 } };
    expect(r.text).toBe(JSON.stringify(expected));
    expect(r.body.data.map((l: { request_payload: unknown }) => l.request_payload)).toEqual([{}, { body: "a string template" }]);
  });
});
