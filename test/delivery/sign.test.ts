import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSender } from "../../server/delivery/send.js";
import { deliveryHeaders, secretKey, signPayload } from "../../server/delivery/sign.js";

// Signatures are checked only with the standardwebhooks package, never with our own code.

const sender = createSender({ allowPrivateTargets: true });
let server: Server;
let url: string;
let received: { headers: IncomingHttpHeaders; rawBody: Buffer } | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received = { headers: req.headers, rawBody: Buffer.concat(chunks) };
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await sender.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const now = () => Math.floor(Date.now() / 1000);
const payload = { type: "message.created", data: { id: "msg_2", text: "ünïcødé ✓", n: 1 } };
const body = JSON.stringify(payload);

/** Deliver through the real sender and return what the receiver got, as a verifier would see it. */
async function deliver(secret: string | null): Promise<{ headers: Record<string, string>; rawBody: Buffer }> {
  received = undefined;
  const headers = deliveryHeaders({ deliveryId: "msg_2", timestamp: now(), body, secrets: secret ? [secret] : [], userAgent: "Talkover-Webhooks/test" });
  const result = await sender.send({ url, body, headers, timeoutMs: 5000 });
  expect(result.ok).toBe(true);
  expect(received).toBeDefined();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(received!.headers)) if (typeof v === "string") flat[k] = v;
  return { headers: flat, rawBody: received!.rawBody };
}

describe("signing, verified by the standardwebhooks package", () => {
  it("signs with a whsec_ base64 secret", async () => {
    const secret = "whsec_" + randomBytes(32).toString("base64");
    const { headers, rawBody } = await deliver(secret);
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "Talkover-Webhooks/test",
      "webhook-id": "msg_2",
    });
    expect(headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(rawBody.toString("utf8"), headers)).toEqual(payload);
    const other = new Webhook("whsec_" + randomBytes(32).toString("base64"));
    expect(() => other.verify(rawBody.toString("utf8"), headers)).toThrow();
  });

  it("signs a plain-string secret with its UTF-8 bytes", async () => {
    const secret = "optional_secret_for_hmac";
    const { headers, rawBody } = await deliver(secret);
    const bytes = new TextEncoder().encode(secret);
    expect(new Webhook("whsec_" + Buffer.from(bytes).toString("base64")).verify(rawBody, headers)).toEqual(payload);
    expect(new Webhook(bytes, { format: "raw" }).verify(rawBody, headers)).toEqual(payload);
  });

  it("uses the UTF-8 bytes even when a plain secret happens to be valid base64", async () => {
    const secret = "abcd1234"; // valid base64: a receiver that decodes it gets other bytes
    const { headers, rawBody } = await deliver(secret);
    expect(new Webhook(new TextEncoder().encode(secret), { format: "raw" }).verify(rawBody, headers)).toEqual(payload);
    expect(() => new Webhook(secret).verify(rawBody, headers)).toThrow();
  });

  it("sends no signature header without a secret", async () => {
    for (const secret of [null, ""]) {
      const { headers } = await deliver(secret);
      expect(headers["webhook-signature"]).toBeUndefined();
      expect(headers["webhook-id"]).toBe("msg_2");
      expect(headers["webhook-timestamp"]).toMatch(/^\d+$/);
    }
  });

  it("produces exactly what standardwebhooks' own signer produces", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const timestamp = 1614265330;
    const [id, body] = ["msg_p5jXN8AQM9LWM0D4loKWxJek", '{"test": 2432232314}'];
    const reference = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
    expect(signPayload({ id, timestamp, body, secret })).toBe(reference);
  });
});

describe("secrets", () => {
  it("decodes whsec_ secrets and caches the key", () => {
    const raw = randomBytes(24);
    const secret = "whsec_" + raw.toString("base64");
    expect(secretKey(secret).equals(raw)).toBe(true);
    expect(secretKey(secret)).toBe(secretKey(secret));
    expect(secretKey("plain").toString("utf8")).toBe("plain");
  });

  it("accepts a pre-decoded key", () => {
    const secret = "whsec_" + randomBytes(24).toString("base64");
    const input = { id: "m", timestamp: 1, body: "{}" };
    expect(signPayload({ ...input, secret: secretKey(secret) })).toBe(signPayload({ ...input, secret }));
  });

  // Which secrets are valid is the shared rule's test (test/client/secret.test.ts); here, that signing obeys it.
  it("refuses to sign with a secret the rule refuses", () => {
    expect(() => secretKey("whsec_not base64!")).toThrow("Invalid webhook secret: a secret starting with whsec_ must be base64 after the prefix");
    expect(() => signPayload({ id: "m", timestamp: 1, body: "{}", secret: "" })).toThrow("Invalid webhook secret: must not be empty");
  });

  it("signs with each secret of a list, in its order, in one header (a rotation's overlap)", () => {
    const newer = "whsec_" + randomBytes(24).toString("base64");
    const older = "optional_secret_for_hmac";
    const input = { deliveryId: "m", timestamp: 1_700_000_000, body: "{}", userAgent: "ua" };
    const one = (secret: string) => signPayload({ id: "m", timestamp: 1_700_000_000, body: "{}", secret });
    expect(deliveryHeaders({ ...input, secrets: [newer, older] })["webhook-signature"]).toBe(`${one(newer)} ${one(older)}`);
    expect(deliveryHeaders({ ...input, secrets: [newer] })["webhook-signature"]).toBe(one(newer));
    expect(deliveryHeaders({ ...input, secrets: [] })).not.toHaveProperty("webhook-signature");
  });

  it("refuses a millisecond timestamp", () => {
    const input = { deliveryId: "m", body: "{}", secrets: [], userAgent: "ua" };
    expect(() => deliveryHeaders({ ...input, timestamp: Date.now() })).toThrow(RangeError);
    expect(() => deliveryHeaders({ ...input, timestamp: 1.5 })).toThrow(RangeError);
  });
});
