import { describe, expect, it } from "vitest";
import { bodiesById, campaignEventBody, eventBody } from "../../server/delivery/payload.js";

// Every delivery of an event is sent the body eventBody would build for it, byte for byte: the spec's
// delivered bytes do not change because the intake serialises the event's data once.
describe("bodiesById", () => {
  const data = { call_id: "c-1", transcript: "Héllo \u2028 \"quoted\" \\ 😀", nested: { n: 1.5, list: [null, true, "x"] }, empty: {} };
  const deliveryIds = ["0193a0b4-1c2d-7e3f-8a9b-0c1d2e3f4a5b", "0193a0b4-1c2d-7e3f-8a9b-0c1d2e3f4a5c"];

  it("an agent event's bodies are eventBody's, with and without a campaign", () => {
    for (const campaignId of [undefined, "camp-1"]) {
      const input = { eventId: "evt-1", event: "event_phone_call_ended", agentId: "agent-1", campaignId, occurredAt: 1_733_100_000_123, data };
      const bodies = bodiesById((deliveryId) => eventBody({ ...input, deliveryId }));
      for (const deliveryId of deliveryIds) expect(bodies(deliveryId)).toBe(eventBody({ ...input, deliveryId }));
    }
  });

  it("a campaign event's bodies are campaignEventBody's, with and without an agent", () => {
    for (const agentId of [null, "agent-1"]) {
      const input = { eventId: "evt-2", event: "campaign_started", campaignId: "camp-1", agentId, occurredAt: 1_733_100_000_000, data };
      const bodies = bodiesById((deliveryId) => campaignEventBody({ ...input, deliveryId }));
      for (const deliveryId of deliveryIds) expect(bodies(deliveryId)).toBe(campaignEventBody({ ...input, deliveryId }));
    }
  });

  it("a body that does not open with the id is built whole each time", () => {
    const bodies = bodiesById((deliveryId) => JSON.stringify({ other: 1, id: deliveryId }));
    expect(bodies("d-1")).toBe('{"other":1,"id":"d-1"}');
  });
});
