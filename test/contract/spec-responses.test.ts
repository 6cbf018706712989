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
});
