// The delivery options of Talkover's 2026 create and update pages (issue 12): http_method,
// authorization_scheme + authorization_credentials, custom_headers, payload_templates.
import { describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";
import { componentErrors } from "../support/spec-schemas.js";

const spec = loadSpec();
const examples = spec.document.components.examples as Record<string, { value: any }>;
const request2026 = examples.WebhookCreateRequest2026!.value;

describe("delivery options in openapi.yaml", () => {
  it("accepts Talkover's 2026 create example, on create and as an update", () => {
    expect(componentErrors("WebhookCreate", request2026)).toEqual([]);
    expect(componentErrors("WebhookUpdate", request2026)).toEqual([]);
    expect(request2026).toMatchObject({ http_method: "PUT", authorization_scheme: "bearer" });
    expect(request2026.custom_headers).toHaveLength(2);
    expect(Object.keys(request2026.payload_templates)).toHaveLength(1);
  });

  it("still accepts the seed's create body and 201 body, which have none of the new fields", () => {
    const seed = examples.WebhookCreateRequest!.value;
    expect(componentErrors("WebhookCreate", seed)).toEqual([]);
    expect(componentErrors("WebhookCreatedResponse", examples.WebhookCreated!.value)).toEqual([]);
  });

  it("never lets credentials into a response, and documents the create defaults", () => {
    const shown = examples.WebhookCreated2026!.value.data;
    expect(componentErrors("Webhook", shown)).toEqual([]);
    expect(componentErrors("Webhook", { ...shown, authorization_credentials: { token: "t" } })).not.toEqual([]);
    const create = spec.document.components.schemas.WebhookCreate.properties;
    expect(create.http_method.default).toBe("POST");
    expect(create.authorization_scheme.default).toBe("none");
    const update = spec.document.components.schemas.WebhookUpdate.properties;
    expect(update.http_method.default).toBeUndefined();
    expect(update.authorization_scheme.default).toBeUndefined();
    expect(spec.document.components.schemas.AuthorizationCredentials.writeOnly).toBe(true);
  });

  it("enforces the documented limits at and past each boundary", () => {
    const errorsOf = (body: object) => componentErrors("WebhookCreate", { ...request2026, ...body });
    const headers = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `X-H${i}`, value: "v" }));
    expect(errorsOf({ custom_headers: headers(20) })).toEqual([]);
    expect(errorsOf({ custom_headers: headers(21) })).not.toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X".repeat(100), value: "v" }] })).toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X".repeat(101), value: "v" }] })).not.toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X-A", value: "v".repeat(1000) }] })).toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X-A", value: "v".repeat(1001) }] })).not.toEqual([]);
    for (const bad of ["a\rb", "a\nb", "a\u0000b"]) expect(errorsOf({ custom_headers: [{ key: "X-A", value: bad }] })).not.toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X A", value: "v" }] })).not.toEqual([]);
    expect(errorsOf({ custom_headers: [{ key: "X-A", value: "v", extra: 1 }] })).not.toEqual([]);
    expect(errorsOf({ http_method: "GET" })).not.toEqual([]);
    expect(errorsOf({ authorization_scheme: "digest" })).not.toEqual([]);
    expect(errorsOf({ authorization_credentials: { token: "t", colour: "red" } })).not.toEqual([]);
    expect(errorsOf({ authorization_credentials: { username: "a:b", password: "p" } })).not.toEqual([]);
    expect(errorsOf({ payload_templates: { event_nope: {} } })).not.toEqual([]);
    expect(errorsOf({ payload_templates: { event_phone_call_ended: "{{call.id}}" } })).toEqual([]);
  });

  it("PayloadTemplates has exactly one key per event of the catalogue", () => {
    const schemas = spec.document.components.schemas;
    expect(Object.keys(schemas.PayloadTemplates.properties)).toEqual(schemas.WebhookEventType.enum);
  });

  it("CampaignPayloadTemplates has exactly one key per event of the campaign catalogue", () => {
    const schemas = spec.document.components.schemas;
    expect(Object.keys(schemas.CampaignPayloadTemplates.properties)).toEqual(schemas.CampaignEventType.enum);
  });

  it("the call events' data carry the call's context object", () => {
    expect(spec.document.components.schemas.CallData.properties.context).toMatchObject({ type: "object" });
    expect(componentErrors("PhoneCallEndedEvent", {
      id: "01932f6e-8b7a-7c3e-9a41-5d2e8f1b6c70", event_id: "01932f6e-8b70-7a11-8e2b-3c4d5e6f7a8b", event: "event_phone_call_ended",
      agent_id: "9fbef0b7-8d4e-4a08-9207-66c22155721d", occurred_at: "2025-09-03T23:20:46.000000Z",
      data: { call_id: "c1", context: { customer_id: "42" } },
    })).toEqual([]);
  });
});
