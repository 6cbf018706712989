// The contract suite is only as strict as its checker: these prove it catches what it must.
import { describe, expect, test } from "vitest";
import { operationIds, responseErrors, responseSchemaPointer } from "./spec-responses.js";

const answer = (status: number, type = "application/json") => new Response(null, { status, headers: { "content-type": type } });

describe("responseErrors", () => {
  test("knows every operation under paths:", () => {
    expect(operationIds).toEqual(
      expect.arrayContaining(["listWebhooks", "createWebhook", "showWebhook", "updateWebhook", "deleteWebhook", "toggleWebhook", "testWebhook", "listWebhookLogs", "retryWebhookLog", "ingestEvent", "getHealth", "getReadiness"]),
    );
  });

  test("follows a response $ref to its schema instead of reading the response object as a schema", () => {
    expect(responseSchemaPointer("showWebhook", 401)).toBe("#/components/responses/Unauthorized/content/application~1json/schema");
    expect(responseErrors("showWebhook", answer(401), { message: "Missing Bearer Token" })).toEqual([]);
    expect(responseErrors("showWebhook", answer(401), { message: "Nope" })).not.toEqual([]);
  });

  test("reads an inline response's schema", () => {
    expect(responseErrors("retryWebhookLog", answer(422), { success: false, message: "Log cannot be retried", code: "LOG_NOT_RETRIABLE" })).toEqual([]);
    expect(responseErrors("retryWebhookLog", answer(422), { success: false, message: "Log cannot be retried" })).not.toEqual([]);
  });

  test("reports a status the operation does not document", () => {
    expect(responseErrors("showWebhook", answer(201), {})).toEqual([expect.stringContaining("does not document")]);
  });

  test("reports a body that is not application/json", () => {
    expect(responseErrors("getHealth", answer(200, "text/plain"), { status: "ok" })).toEqual([expect.stringContaining("content-type")]);
  });

  test("checks a response documented as text by its media type, parameters included, and a text body", () => {
    const exposition = "# TYPE talkover_deliveries_due gauge\ntalkover_deliveries_due 0\n";
    expect(responseErrors("getMetrics", answer(200, "text/plain; version=0.0.4; charset=utf-8"), exposition)).toEqual([]);
    expect(responseErrors("getMetrics", answer(200, "text/plain; charset=utf-8"), exposition)).toEqual([expect.stringContaining("content-type")]);
    expect(responseErrors("getMetrics", answer(200, "application/json"), exposition)).toEqual([expect.stringContaining("content-type")]);
    expect(responseErrors("getMetrics", answer(200, "text/plain; version=0.0.4"), { status: "ok" })).toEqual([expect.stringContaining("not a non-empty text")]);
    // Its failures are JSON, as everywhere.
    expect(responseErrors("getMetrics", answer(401), { message: "Missing Bearer Token" })).toEqual([]);
  });
});
