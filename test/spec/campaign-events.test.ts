// The campaign events of openapi.yaml's `webhooks:` section: one `campaign/<event>` entry per event of the
// campaign catalogue (CampaignEventType), each with a body schema in the campaign envelope and an example
// that is valid against it. (examples.test.ts validates every example of the document too; these checks
// name the campaign ones and add what a generic walk cannot know.)
import { readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { components } from "talkover-webhooks/types";
import { campaignDeliveryExample, loadSpec, SPEC_PATH, type CampaignEventName } from "../../server/spec.js";
import { componentErrors, pointer, schemaErrors } from "../support/spec-schemas.js";

const spec = loadSpec();
const catalogue = spec.schema("CampaignEventType") as { enum: CampaignEventName[]; "x-enumDescriptions": Record<string, string> };
const campaignEvents = catalogue.enum;
const PREFIX = "campaign/";
const webhooks = spec.document.webhooks as Record<string, { post: Record<string, any> }>;
const keyOf = (event: string) => PREFIX + event;
const bodyPointer = (event: string) => pointer(["webhooks", keyOf(event), "post", "requestBody", "content", "application/json", "schema"]);
const mediaOf = (event: string) => webhooks[keyOf(event)]!.post.requestBody.content["application/json"];
const eachEvent = campaignEvents.map((event) => [event] as const);

describe("campaign events in openapi.yaml's webhooks:", () => {
  it("has one campaign/<event> entry per campaign event and no other, after the agent entries and before webhook.test", () => {
    expect(campaignEvents).toHaveLength(13);
    expect(Object.keys(webhooks)).toEqual([...spec.events, ...campaignEvents.map(keyOf), "webhook.test"]);
    // A repeated key would be a YAML error or silently collapse: count them in the text itself.
    const text = readFileSync(SPEC_PATH, "utf8");
    for (const event of campaignEvents) {
      expect(text.split("\n").filter((line) => line === `  ${keyOf(event)}:`), event).toHaveLength(1);
    }
  });

  it("gives every entry a unique operationId, also among the agent entries and the operations", () => {
    const ids = [
      ...Object.values(webhooks).map((item) => item.post.operationId as string),
      ...Object.values<any>(spec.document.paths).flatMap((item) =>
        ["get", "post", "put", "patch", "delete"].filter((m) => item[m]).map((m) => item[m].operationId as string),
      ),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(campaignEvents.map((event) => webhooks[keyOf(event)]!.post.operationId)).toEqual([
      "campaignCreated",
      "campaignStarted",
      "campaignPaused",
      "campaignCompleted",
      "campaignUpdated",
      "campaignCallQueued",
      "campaignCallStarted",
      "campaignCallCompleted",
      "campaignCallRetryScheduled",
      "campaignCallFailed",
      "campaignEventRecording",
      "campaignEventCallTranscript",
      "campaignEventCallReport",
    ]);
  });

  it("documents the Campaign webhook events tag right after Webhook events", () => {
    const names = (spec.document.tags as { name: string }[]).map((tag) => tag.name);
    expect(names.indexOf("Campaign webhook events")).toBe(names.indexOf("Webhook events") + 1);
  });

  it.each(eachEvent)("%s: the entry follows the agent entries' layout", (event) => {
    const post = webhooks[keyOf(event)]!.post;
    const agent = webhooks["event_phone_call_ended"]!.post;
    expect(post.tags).toEqual(["Campaign webhook events"]);
    expect(post.summary).toBe(catalogue["x-enumDescriptions"][event]);
    expect(post.description).toContain(`Sent to every enabled webhook of the campaign whose \`events\` include \`${event}\`.`);
    expect(post.security).toEqual([]);
    expect(post.parameters).toEqual(agent.parameters);
    expect(post.responses).toEqual(agent.responses);
    expect(post.requestBody.required).toBe(true);
    expect(Object.keys(post.requestBody.content)).toEqual(["application/json"]);
  });

  it.each(eachEvent)("%s: the body schema is the campaign envelope with its event and data", (event) => {
    const schema = spec.resolve<any>(mediaOf(event).schema);
    expect(schema.allOf[0]).toEqual({ $ref: "#/components/schemas/CampaignWebhookEnvelope" });
    expect(schema.allOf[1].required).toEqual(["event", "data"]);
    expect(schema.allOf[1].properties.event).toEqual({ const: event });
    expect(schema.allOf[1].properties.data.$ref).toMatch(/^#\/components\/schemas\/\w+Data$/);
    expect(schema.description).toContain(`\`${event}\``);
  });

  it.each(eachEvent)("%s: the example has one body, for this event, valid against its schema", (event) => {
    const media = mediaOf(event);
    expect(media.examples).toBeUndefined();
    expect(media.example.event).toBe(event);
    expect(schemaErrors(bodyPointer(event), media.example)).toEqual([]);
    expect(componentErrors("CampaignWebhookEnvelope", media.example)).toEqual([]);
    expect(JSON.stringify(media.example)).toMatch(/"occurred_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"/);
  });

  it.each(eachEvent)("%s: the schema rejects another event's name and a body without campaign_id", (event) => {
    const example = mediaOf(event).example;
    const other = campaignEvents.find((e) => e !== event)!;
    expect(schemaErrors(bodyPointer(event), { ...example, event: other })).not.toEqual([]);
    const { campaign_id: _dropped, ...withoutCampaign } = example;
    expect(schemaErrors(bodyPointer(event), withoutCampaign)).not.toEqual([]);
  });

  it("campaign.* examples: the four counts add up to calls_total", () => {
    for (const event of campaignEvents.filter((e) => e.startsWith("campaign."))) {
      const data = mediaOf(event).example.data;
      expect(data.calls_queued + data.calls_in_progress + data.calls_completed + data.calls_failed, event).toBe(data.calls_total);
    }
  });

  it("campaign_call.* schemas pin the status of each event and want E.164 numbers", () => {
    const statuses: Record<string, string> = {
      "campaign_call.queued": "queued",
      "campaign_call.started": "dialing",
      "campaign_call.completed": "completed",
      "campaign_call.retry_scheduled": "retry_scheduled",
      "campaign_call.failed": "failed",
    };
    for (const [event, status] of Object.entries(statuses)) {
      const example = mediaOf(event).example;
      expect(example.data.status, event).toBe(status);
      const wrongStatus = status === "failed" ? "completed" : "failed";
      expect(schemaErrors(bodyPointer(event), { ...example, data: { ...example.data, status: wrongStatus } }), event).not.toEqual([]);
      expect(schemaErrors(bodyPointer(event), { ...example, data: { ...example.data, to_number: "11 91234-5678" } }), event).not.toEqual([]);
    }
  });

  it("the three per-call campaign events reuse the agent call shape (call_id, numbers, context)", () => {
    for (const event of ["event_recording", "event_call_transcript", "event_call_report"] as const) {
      expect(componentErrors("CallData", mediaOf(event).example.data), event).toEqual([]);
    }
    // event_recording's data is the agent event's: the agent example's data is valid as the campaign one's.
    const agentRecording = webhooks["event_recording"]!.post.requestBody.content["application/json"].example;
    expect(componentErrors("RecordingData", agentRecording.data)).toEqual([]);
    expect(spec.resolve<any>(mediaOf("event_recording").schema).allOf[1].properties.data).toEqual({ $ref: "#/components/schemas/RecordingData" });
  });
});

describe("campaignDeliveryExample", () => {
  it.each(eachEvent)("%s: returns the example of the campaign/<event> entry", (event) => {
    const example = campaignDeliveryExample(event);
    expect(example).toBe(mediaOf(event).example);
    expect(example.event).toBe(event);
    expect(example.campaign_id).toEqual(expect.any(String));
  });

  it("reads the campaign entry, not the agent entry of the same name", () => {
    const campaign = campaignDeliveryExample("event_recording");
    expect(campaign).not.toBe(webhooks["event_recording"]!.post.requestBody.content["application/json"].example);
    expect(campaign.campaign_id).toEqual(expect.any(String));
  });

  it("throws for an event with no campaign entry", () => {
    expect(() => campaignDeliveryExample("event_phone_call_ended" as CampaignEventName)).toThrow(/no campaign delivery example/);
  });

  it("takes exactly the campaign catalogue's events", () => {
    expectTypeOf<Parameters<typeof campaignDeliveryExample>[0]>().toEqualTypeOf<components["schemas"]["CampaignEventType"]>();
    expectTypeOf<CampaignEventName>().toEqualTypeOf<
      | "campaign.created"
      | "campaign.started"
      | "campaign.paused"
      | "campaign.completed"
      | "campaign.updated"
      | "campaign_call.queued"
      | "campaign_call.started"
      | "campaign_call.completed"
      | "campaign_call.retry_scheduled"
      | "campaign_call.failed"
      | "event_recording"
      | "event_call_transcript"
      | "event_call_report"
    >();
  });
});
