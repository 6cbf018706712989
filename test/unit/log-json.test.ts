// The log page's fast writer (present.ts logJson, used with response validation off, i.e. in production)
// must give exactly the bytes of the validated way, JSON.stringify(presentLog(toLog(row))), for every row
// the writers can store. The API tests run with validation on, hence this check of the other way.
import { describe, expect, it } from "vitest";
import { logJson, presentLog } from "../../server/http/present.js";
import { toLog } from "../../server/storage/logs.js";
import type { LogTable } from "../../server/storage/schema.js";
import { eventBody } from "../../server/delivery/payload.js";
import { renderBody } from "../../server/delivery/templates.js";

const base: LogTable = {
  id: "0199a1b2-0000-7000-8000-000000000001",
  webhook_id: "0199a1b2-0000-7000-8000-0000000000w1",
  delivery_id: "0199a1b2-0000-7000-8000-0000000000d1",
  event: "event_phone_call_ended",
  attempt: 1,
  status: "pending",
  http_status: null,
  request_payload: eventBody({
    deliveryId: "d1",
    eventId: "e1",
    agentId: "a1",
    occurredAt: 1_762_171_200_123,
    event: "event_phone_call_ended",
    data: { call_id: "c1", transcript: 'He said "hi" \\ then\nleft: é, 😀, \u2028, \u0000', n: [1, 0.1, -0, 1e21, null, true], nested: { a: {} } },
  }),
  response_body: null,
  response_headers: null,
  error: null,
  duration_ms: null,
  delivered_at: null,
  created_at: 1_762_171_200_123,
};

const rows: Array<[string, LogTable]> = [
  ["a pending row (no answer yet)", base],
  [
    "a delivered row with every field",
    {
      ...base,
      status: "success",
      attempt: 2,
      http_status: 200,
      response_body: '{"ok":true}\n<html>"quoted"</html>',
      response_headers: JSON.stringify({ "content-type": "application/json", "x-odd": 'a"b\\c' }),
      duration_ms: 12,
      delivered_at: 1_762_171_200_999,
    },
  ],
  ["a failed row with an error and no answer", { ...base, status: "failed", error: "Connection refused", duration_ms: 3 }],
  ["a test row", { ...base, delivery_id: null, event: "webhook.test", request_payload: JSON.stringify({ test: true }) }],
  ["an empty object payload and empty headers", { ...base, request_payload: "{}", response_headers: "{}", http_status: 204 }],
  // Templates may render anything: what is not an object is shown as {"body": …}.
  ["a template that rendered a string", { ...base, request_payload: renderBody("plain {{call.id}}", {} as never) }],
  ["a template that rendered an array", { ...base, request_payload: JSON.stringify([1, "two"]) }],
  ["a template that rendered a number", { ...base, request_payload: "42" }],
  ["a template that rendered null", { ...base, request_payload: "null" }],
  ["a payload that is not JSON at all", { ...base, request_payload: "not json" }],
];

describe("logJson", () => {
  it.each(rows)("writes the bytes of the validated way: %s", (_name, row) => {
    const expected = JSON.stringify(presentLog(toLog(row)));
    expect(logJson(row)).toBe(expected);
    expect(JSON.parse(logJson(row))).toEqual(presentLog(toLog(row)));
  });
});
