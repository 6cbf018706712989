// The client side of the delivery options: typed request fields (a template keyed by an unknown event does
// not compile), and verifying a templated delivery, whose body is not the envelope.
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, expectTypeOf, test } from "vitest";
import type { AddressInfo } from "node:net";
import express from "express";
import { createTalkoverClient, verifyWebhook, webhookMiddleware, WebhookVerificationError } from "../../client/index.js";
import type { PayloadTemplates, Webhook, WebhookCreate } from "../../client/types.js";
import { fakeFetch, json } from "./fake-fetch.js";

const AGENT = "9fbef0b7-8d4e-4a08-9207-66c22155721d";
const SECRET = "optional_secret_for_hmac";
const signer = new StandardWebhook(new TextEncoder().encode(SECRET) as unknown as string, { format: "raw" });

function signed(body: string) {
  const id = "01932f6e-8b7a-7c3e-9a41-5d2e8f1b6c70";
  const timestamp = new Date();
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)), "webhook-signature": signer.sign(id, timestamp, body) };
}

describe("delivery options in the typed client", () => {
  test("the create body takes the four fields and sends them as given", async () => {
    const fetch = fakeFetch(() => json(201, { success: true, message: "Webhook created successfully", data: {} }));
    const body: WebhookCreate = {
      name: "n",
      webhook_url: "https://example.com/webhook",
      events: ["event_phone_call_ended"],
      http_method: "PUT",
      authorization_scheme: "bearer",
      authorization_credentials: { token: "t" },
      custom_headers: [{ key: "X-Tenant-Id", value: "acme" }],
      payload_templates: { event_phone_call_ended: { id: "{{call.id}}" } },
    };
    await createTalkoverClient({ token: "talq_x", fetch }).POST("/api/v1/agents/{agent_id}/webhooks", { params: { path: { agent_id: AGENT } }, body });
    expect(JSON.parse(fetch.requests[0]!.body)).toEqual(body);
  });

  test("the types refuse a template for an unknown event, an unknown method or scheme, and credentials in a response", () => {
    const neverCalled = () => {
      const client = createTalkoverClient({ token: "talq_x" });
      void client.POST("/api/v1/agents/{agent_id}/webhooks", {
        params: { path: { agent_id: AGENT } },
        body: {
          name: "n",
          webhook_url: "https://example.com",
          events: ["event_phone_call_ended"],
          // @ts-expect-error a template keyed by an event outside the catalogue
          payload_templates: { event_unknown: {} },
        },
      });
      // @ts-expect-error GET is not a delivery method
      const method: WebhookCreate["http_method"] = "GET";
      // @ts-expect-error digest is not a scheme
      const scheme: WebhookCreate["authorization_scheme"] = "digest";
      void [method, scheme];
    };
    expect(neverCalled).toBeTypeOf("function");
    expectTypeOf<keyof PayloadTemplates>().toEqualTypeOf<NonNullable<WebhookCreate["events"]>[number]>();
    expectTypeOf<Webhook>().not.toHaveProperty("authorization_credentials");
    expectTypeOf<Webhook>().toHaveProperty("custom_headers");
  });
});

describe("verifyWebhook with { templated: true }", () => {
  test("verifies a templated body and returns its JSON, typed as the caller says", () => {
    const body = JSON.stringify({ call: "c1", duration: 45 });
    const parsed = verifyWebhook<{ call: string; duration: number }>(body, signed(body), SECRET, { templated: true });
    expectTypeOf(parsed).toEqualTypeOf<{ call: string; duration: number }>();
    expect(parsed).toEqual({ call: "c1", duration: 45 });
    expect(verifyWebhook('"c1"', signed('"c1"'), SECRET, { templated: true })).toBe("c1");
    expectTypeOf(verifyWebhook('"c1"', signed('"c1"'), SECRET, { templated: true })).toBeUnknown();
  });

  test("still refuses a bad signature; without the option a templated body is not passed off as the envelope", () => {
    const body = JSON.stringify({ call: "c1" });
    const bad = () => verifyWebhook(body, { ...signed(body), "webhook-signature": "v1,AAAA" }, SECRET, { templated: true });
    expect(bad).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(body, signed(body), SECRET)).toThrow(/no event/);
  });
});

describe("webhookMiddleware with { templated: true }", () => {
  test("puts the verified JSON of a templated body on req.body; a bad signature is still 400", async () => {
    const app = express();
    app.post("/hook", webhookMiddleware(SECRET, { templated: true }), (req, res) => {
      res.json({ body: req.body, webhook: req.webhook ?? null });
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const body = JSON.stringify(["c1", 45]);
      const ok = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...signed(body) } });
      expect(await ok.json()).toEqual({ body: ["c1", 45], webhook: null });
      const bad = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...signed("[]") } });
      expect(bad.status).toBe(400);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
