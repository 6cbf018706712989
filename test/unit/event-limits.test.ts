// The intake's check of an event's data (server/http/event-limits.ts) where the generated limit tests do not
// look: lengths counted in code points (as the request validator counts them), nothing but limits checked
// (a missing required field, an unknown field, a value outside an enum still pass), and every limit named.
import { describe, expect, it } from "vitest";
import { eventLimits } from "../../server/http/event-limits.js";
import { loadSpec } from "../../server/spec.js";

const limits = eventLimits(loadSpec());

describe("event data limits", () => {
  it("counts a string's length in code points, as JSON Schema does", () => {
    expect(limits.check("agent", "event_phone_call_started", { call_id: "😀".repeat(255) })).toBeUndefined();
    expect(limits.check("agent", "event_phone_call_started", { call_id: "😀".repeat(256) })).toEqual({
      "data.call_id": ["The data.call id field must not be greater than 255 characters."],
    });
  });

  it("checks limits only: the shape stays the call platform's", () => {
    expect(limits.check("agent", "event_phone_call_ended", { direction: "sideways", duration: "long", extra: { any: "x".repeat(100_000) } })).toBeUndefined();
    expect(limits.check("campaign", "event_call_transcript", {})).toBeUndefined();
  });

  it("names every value past a limit, at any depth", () => {
    const turns = [{ role: "agent", text: "ok", start: 0, end: 1 }, { role: "user", text: "x".repeat(65_537), start: -1, end: 2 }];
    expect(limits.check("campaign", "event_call_transcript", { turns, language: "e".repeat(36) })).toEqual({
      "data.language": ["The data.language field must not be greater than 35 characters."],
      "data.turns.1.text": ["The data.turns.1.text field must not be greater than 65536 characters."],
      "data.turns.1.start": ["The data.turns.1.start field must be at least 0."],
    });
  });
});
