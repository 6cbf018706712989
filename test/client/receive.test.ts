import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, expectTypeOf, test } from "vitest";
import { verifyWebhook, WebhookVerificationError } from "../../client/index.js";
import type { components, DeliveryOf, WebhookDelivery } from "../../client/types.js";

const DELIVERY_ID = "01932f6e-8b7a-7c3e-9a41-5d2e8f1b6c70";
const BODY = JSON.stringify({
  id: DELIVERY_ID,
  event_id: "01932f6e-8b70-7a11-8e2b-3c4d5e6f7a8b",
  event: "event_phone_call_ended",
  agent_id: "9fbef0b7-8d4e-4a08-9207-66c22155721d",
  occurred_at: "2025-09-03T23:20:46.000000Z",
  data: { call_id: "9fcb0a51-3c2e-4d7a-9d6f-2f0f3f7b8c11", duration: 45, status: "completed" },
});
const WHSEC = "whsec_" + Buffer.from("a 32-byte key for the whsec test").toString("base64");

const now = () => Math.floor(Date.now() / 1000);

/** Standard Webhooks signing written out with node:crypto, independent of the package under test. */
function sign(key: Uint8Array, body: string, timestamp = now(), id = DELIVERY_ID): Record<string, string> {
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
}
const utf8 = (secret: string) => Buffer.from(secret, "utf8");
const whsecKey = (secret: string) => Buffer.from(secret.slice("whsec_".length), "base64");

function failure(run: () => unknown): WebhookVerificationError {
  try {
    run();
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error;
    throw error;
  }
  throw new Error("verification passed");
}

describe("verifyWebhook accepts a delivery signed with", () => {
  test("a whsec_ secret (signed by the standardwebhooks package)", () => {
    const timestamp = new Date();
    const signature = new Webhook(WHSEC).sign(DELIVERY_ID, timestamp, BODY);
    const headers = { "webhook-id": DELIVERY_ID, "webhook-timestamp": String(Math.floor(+timestamp / 1000)), "webhook-signature": signature };
    expect(verifyWebhook(BODY, headers, WHSEC)).toEqual(JSON.parse(BODY));
  });

  test("a whsec_ secret (the base64 after the prefix is the key)", () => {
    expect(verifyWebhook(BODY, sign(whsecKey(WHSEC), BODY), WHSEC).event).toBe("event_phone_call_ended");
  });

  test("a plain secret like optional_secret_for_hmac, as its UTF-8 bytes", () => {
    const secret = "optional_secret_for_hmac";
    expect(verifyWebhook(BODY, sign(utf8(secret), BODY), secret).event).toBe("event_phone_call_ended");
  });

  test("a plain secret that happens to be valid base64 (abcd1234), still as its UTF-8 bytes", () => {
    const secret = "abcd1234";
    const headers = sign(utf8(secret), BODY);
    expect(verifyWebhook(BODY, headers, secret).event).toBe("event_phone_call_ended");
    // The trap verifyWebhook avoids: the package alone decodes the string as base64 and never matches.
    expect(() => new Webhook(secret).verify(BODY, headers)).toThrow("No matching signature found");
  });

  test("a non-ASCII plain secret", () => {
    const secret = "clé-secrète-ünïcødé";
    expect(verifyWebhook(BODY, sign(utf8(secret), BODY), secret).event).toBe("event_phone_call_ended");
  });

  test("a Buffer body, and headers as Node gives them or as a Fetch Headers", () => {
    const secret = "optional_secret_for_hmac";
    const headers = sign(utf8(secret), BODY);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(Buffer.from(BODY), upper, secret).event).toBe("event_phone_call_ended");
    expect(verifyWebhook(BODY, new Headers(headers), secret).event).toBe("event_phone_call_ended");
  });

  test("several signatures, one of them valid (a rotated secret)", () => {
    const secret = "optional_secret_for_hmac";
    const headers = sign(utf8(secret), BODY);
    const old = sign(utf8("the previous secret"), BODY)["webhook-signature"];
    expect(verifyWebhook(BODY, { ...headers, "webhook-signature": `${old} ${headers["webhook-signature"]}` }, secret).event).toBe("event_phone_call_ended");
    expect(verifyWebhook(BODY, { ...headers, "webhook-signature": [old!, headers["webhook-signature"]!] }, secret).event).toBe("event_phone_call_ended");
  });
});

describe("verifyWebhook with a list of secrets (a rotation's overlap)", () => {
  const plain = "optional_secret_for_hmac";
  /** Both signatures in one header, new first, as the engine sends them during an overlap. */
  const both = (body = BODY) => {
    const headers = sign(whsecKey(WHSEC), body);
    return { ...headers, "webhook-signature": `${headers["webhook-signature"]} ${sign(utf8(plain), body)["webhook-signature"]}` };
  };

  test("a delivery with both signatures passes with either secret alone, or with both in either order", () => {
    for (const secrets of [[WHSEC], [plain], [WHSEC, plain], [plain, WHSEC]]) {
      expect(verifyWebhook(BODY, both(), secrets).event).toBe("event_phone_call_ended");
    }
    expect(verifyWebhook(BODY, both(), WHSEC).event).toBe("event_phone_call_ended");
  });

  test("a delivery signed once, with the old (plain) or the new (whsec_) secret, passes with the list", () => {
    expect(verifyWebhook(BODY, sign(utf8(plain), BODY), [WHSEC, plain]).event).toBe("event_phone_call_ended");
    expect(verifyWebhook(BODY, sign(whsecKey(WHSEC), BODY), [WHSEC, plain]).event).toBe("event_phone_call_ended");
    expect(verifyWebhook<unknown>(BODY, sign(utf8(plain), BODY), [WHSEC, plain], { templated: true })).toEqual(JSON.parse(BODY));
  });

  test("no secret of the list matching is invalid_signature; a bad or empty entry, or an empty list, is refused before trying", () => {
    const error = failure(() => verifyWebhook(BODY, both(), ["another secret", "whsec_" + Buffer.from("a third key").toString("base64")]));
    expect(error).toMatchObject({ code: "invalid_signature", message: "The webhook-signature does not match the body and any of the secrets." });
    expect(failure(() => verifyWebhook(BODY.replace("45", "46"), both(), [WHSEC, plain])).code).toBe("invalid_signature");
    expect(failure(() => verifyWebhook(BODY, both(), [plain, "whsec_not*base64!"])).code).toBe("invalid_secret");
    expect(failure(() => verifyWebhook(BODY, both(), [plain, ""])).code).toBe("missing_secret");
    expect(failure(() => verifyWebhook(BODY, both(), [])).code).toBe("missing_secret");
  });

  test("a stale timestamp is timestamp_too_old whichever secret matches", () => {
    const headers = sign(utf8(plain), BODY, now() - 301);
    expect(failure(() => verifyWebhook(BODY, headers, [WHSEC, plain])).code).toBe("timestamp_too_old");
  });
});

describe("verifyWebhook rejects", () => {
  const secret = "optional_secret_for_hmac";

  test("a tampered body", () => {
    const headers = sign(utf8(secret), BODY);
    expect(failure(() => verifyWebhook(BODY.replace("45", "46"), headers, secret)).code).toBe("invalid_signature");
  });

  test("a re-serialized body (verify the raw bytes, before JSON parsing)", () => {
    const headers = sign(utf8(secret), BODY);
    expect(failure(() => verifyWebhook(JSON.stringify(JSON.parse(BODY), null, 2), headers, secret)).code).toBe("invalid_signature");
  });

  test("the wrong secret", () => {
    expect(failure(() => verifyWebhook(BODY, sign(utf8("another secret"), BODY), secret)).code).toBe("invalid_signature");
    expect(failure(() => verifyWebhook(BODY, sign(utf8(secret), BODY), WHSEC)).code).toBe("invalid_signature");
  });

  test("a timestamp more than 5 minutes old", () => {
    const error = failure(() => verifyWebhook(BODY, sign(utf8(secret), BODY, now() - 301), secret));
    expect(error).toMatchObject({ code: "timestamp_too_old", name: "WebhookVerificationError" });
  });

  test("a timestamp more than 5 minutes ahead", () => {
    expect(failure(() => verifyWebhook(BODY, sign(utf8(secret), BODY, now() + 301), secret)).code).toBe("timestamp_too_new");
  });

  test("a timestamp that is not Unix seconds", () => {
    const headers = { ...sign(utf8(secret), BODY), "webhook-timestamp": "2025-09-03T23:20:46Z" };
    expect(failure(() => verifyWebhook(BODY, headers, secret)).code).toBe("invalid_timestamp");
  });

  test.each(["webhook-id", "webhook-timestamp", "webhook-signature"])("a delivery without the %s header", (name) => {
    const headers: Record<string, string> = sign(utf8(secret), BODY);
    delete headers[name];
    const error = failure(() => verifyWebhook(BODY, headers, secret));
    expect(error.code).toBe("missing_header");
    expect(error.message).toBe(`The ${name} header is missing.`);
  });

  test("no secret", () => {
    expect(failure(() => verifyWebhook(BODY, sign(utf8(""), BODY), "")).code).toBe("missing_secret");
  });

  test("a whsec_ secret that is not base64", () => {
    expect(failure(() => verifyWebhook(BODY, sign(utf8(secret), BODY), "whsec_not*base64!")).code).toBe("invalid_secret");
  });

  test("a correctly signed body that is not JSON", () => {
    expect(failure(() => verifyWebhook("not json", sign(utf8(secret), "not json"), secret)).code).toBe("invalid_body");
  });
});

describe("the delivery's type", () => {
  test("narrows by event to the schema of that event", () => {
    const delivery: WebhookDelivery = verifyWebhook(BODY, sign(utf8("s"), BODY), "s");
    switch (delivery.event) {
      case "event_phone_call_ended":
        expectTypeOf(delivery).toEqualTypeOf<DeliveryOf<"event_phone_call_ended">>();
        expectTypeOf(delivery.data.duration).toEqualTypeOf<number | undefined>();
        expect(delivery.data.call_id).toBe("9fcb0a51-3c2e-4d7a-9d6f-2f0f3f7b8c11");
        break;
      case "webhook.test":
        expectTypeOf(delivery.webhook_name).toEqualTypeOf<string>();
        throw new Error("not a test delivery");
      default:
        throw new Error(`unexpected ${delivery.event}`);
    }
  });

  test("covers the 22 agent events, the campaign events and webhook.test", () => {
    expectTypeOf<WebhookDelivery["event"]>().toEqualTypeOf<
      | "event_phone_call_started"
      | "event_phone_call_ended"
      | "event_phone_call_did_not_connect"
      | "event_phone_call_connected"
      | "event_phone_call_disconnected"
      | "event_phone_call_error"
      | "event_participant_joined"
      | "event_participant_left"
      | "event_voicemail_detected"
      | "event_voicemail_message_left"
      | "event_conversation_started"
      | "event_conversation_ended"
      | "event_action"
      | "event_action_failed"
      | "event_recording"
      | "event_connection_established"
      | "event_connection_closed"
      | "event_connection_error"
      | "event_user_connected"
      | "event_user_disconnected"
      | "event_client_connected"
      | "event_client_disconnected"
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
      | "event_call_transcript"
      | "event_call_report"
      | "webhook.test"
    >();
    // event_recording is both an agent and a campaign event: its two bodies differ by envelope.
    expectTypeOf<DeliveryOf<"event_recording">>().toEqualTypeOf<
      components["schemas"]["RecordingEvent"] | components["schemas"]["CampaignEventRecordingEvent"]
    >();
  });
});
