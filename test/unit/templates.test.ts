// The template module: variables read from openapi.yaml, placeholder checks, rendering rules.
import { describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";
import { renderBody, renderTemplate, templateContext, templateVariables, unknownPlaceholders } from "../../server/delivery/templates.js";

const spec = loadSpec();
const context = templateContext({
  event: "event_phone_call_ended",
  eventId: "e1",
  deliveryId: "d1",
  occurredAt: Date.UTC(2025, 8, 3, 23, 20, 46),
  agent: { id: "a1", name: "Support" },
  webhook: { id: "w1", name: "Hook" },
  data: { call_id: "c1", duration: 45, context: { tier: "gold" }, status: "completed" },
});

describe("template variables", () => {
  it("come from the event's data schema in the webhooks: section, with call.* mirroring data.*", () => {
    const { paths } = templateVariables(spec, "event_phone_call_ended");
    for (const p of ["event", "event_id", "delivery_id", "occurred_at", "agent.id", "agent.name", "webhook.id", "webhook.name",
      "data.call_id", "data.duration", "data.recording_url", "data.context", "call.id", "call.duration", "call.context"]) {
      expect(paths.has(p), p).toBe(true);
    }
    expect(templateVariables(spec, "event_phone_call_started").paths.has("data.duration")).toBe(false);
    expect(templateVariables(spec, "event_participant_joined").paths.has("data.participant.role")).toBe(true);
  });

  it("unknown placeholders are listed once, in order; free-form objects admit any path", () => {
    expect(unknownPlaceholders(spec, "event_phone_call_started", ["{{data.duration}}", { x: "{{ nope }} {{data.duration}}" }, "{{data.context.any.depth}}"]))
      .toEqual(["data.duration", "nope"]);
    expect(unknownPlaceholders(spec, "event_action", "{{data.action.input.whatever}}")).toEqual([]);
  });
});

describe("rendering", () => {
  it("a string that is exactly one placeholder keeps the JSON type; a missing value is null", () => {
    expect(renderTemplate({ d: "{{data.duration}}", c: "{{ data.context }}", m: "{{data.recording_url}}", id: "{{call.id}}" }, context))
      .toEqual({ d: 45, c: { tier: "gold" }, m: null, id: "c1" });
  });

  it("placeholders inside text are written as text; missing ones as nothing; keys and other values stay", () => {
    expect(renderTemplate(["{{agent.name}}: {{call.id}} ({{data.duration}} s){{data.recording_url}}", 1, false, null, { "{{event}}": "{{occurred_at}}" }], context))
      .toEqual(["Support: c1 (45 s)", 1, false, null, { "{{event}}": "2025-09-03T23:20:46.000000Z" }]);
  });

  it("renders to JSON text; no code runs", () => {
    expect(renderBody("{{constructor.constructor}}", context)).toBe("null");
    expect(renderBody({ a: "{{__proto__}}" }, context)).toBe('{"a":null}');
  });
});
