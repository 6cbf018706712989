// webhookMiddleware over real HTTP: an Express receiver on port 0 and signed POSTs sent with fetch.
import { createHmac } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { webhookMiddleware } from "../../client/index.js";

const SECRET = "optional_secret_for_hmac";
/** A whsec_ secret is base64 after the prefix: signed with the bytes it encodes. */
const NEW_SECRET = "whsec_" + Buffer.from("the rotated 24-byte key!").toString("base64");
const NEW_KEY = Buffer.from("the rotated 24-byte key!");
const BODY = JSON.stringify({
  event: "webhook.test",
  agent_id: "9fbef0b7-8d4e-4a08-9207-66c22155721d",
  agent_name: "Scheduling agent",
  webhook_id: "9fcafbf2-7593-44d6-8cd7-1b221beba62a",
  webhook_name: "My Webhook",
  timestamp: "2025-09-03T23:19:51.000Z",
  test: true,
});

function signed(body: string, secret: string | Buffer = SECRET): Record<string, string> {
  const id = "01932f6e-8b7a-7c3e-9a41-5d2e8f1b6c70";
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", Buffer.from(secret)).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
}

let server: Server;
let origin: string;

beforeAll(async () => {
  const app = express();
  const echo: express.RequestHandler = (req, res) => {
    res.json({ event: req.webhook?.event, webhook_name: req.webhook?.event === "webhook.test" ? req.webhook.webhook_name : null });
  };
  app.post("/hooks/talkover", webhookMiddleware(SECRET), echo);
  app.post("/hooks/after-raw", express.raw({ type: "application/json" }), webhookMiddleware(SECRET), echo);
  app.post("/hooks/rotating", webhookMiddleware([NEW_SECRET, SECRET]), echo);
  app.post("/hooks/after-json", express.json(), webhookMiddleware(SECRET), echo);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string, body: string, headers: Record<string, string>, type = "application/json") =>
  fetch(origin + path, { method: "POST", body, headers: { "Content-Type": type, ...headers } });

describe("webhookMiddleware", () => {
  test("verifies a signed delivery and puts the typed body on req.webhook", async () => {
    const response = await post("/hooks/talkover", BODY, signed(BODY));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ event: "webhook.test", webhook_name: "My Webhook" });
  });

  test("accepts a charset in the content type", async () => {
    const response = await post("/hooks/talkover", BODY, signed(BODY), "application/json; charset=utf-8");
    expect(response.status).toBe(200);
  });

  test("takes the Buffer an express.raw() before it left", async () => {
    const response = await post("/hooks/after-raw", BODY, signed(BODY));
    expect(response.status).toBe(200);
  });

  test("answers 400 with a JSON error on a bad signature", async () => {
    const response = await post("/hooks/talkover", BODY, signed(BODY, "another secret"));
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      success: false,
      message: "The webhook-signature does not match the body and secret.",
      code: "invalid_signature",
    });
  });

  test("answers 400 when a header is missing", async () => {
    const { "webhook-signature": _, ...unsigned } = signed(BODY);
    const response = await post("/hooks/talkover", BODY, unsigned);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "missing_header" });
  });

  test("answers 400 to a body that is not application/json", async () => {
    const response = await post("/hooks/talkover", BODY, signed(BODY), "text/plain");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_body" });
  });

  test("with a list of secrets, a delivery signed with any one of them passes; one signed with neither gets 400", async () => {
    expect((await post("/hooks/rotating", BODY, signed(BODY, NEW_KEY))).status).toBe(200);
    expect((await post("/hooks/rotating", BODY, signed(BODY, SECRET))).status).toBe(200);
    const bothSigned = { ...signed(BODY, NEW_KEY) };
    bothSigned["webhook-signature"] += " " + signed(BODY, SECRET)["webhook-signature"];
    expect((await post("/hooks/rotating", BODY, bothSigned)).status).toBe(200);
    const neither = await post("/hooks/rotating", BODY, signed(BODY, "another secret"));
    expect(neither.status).toBe(400);
    expect(await neither.json()).toMatchObject({ code: "invalid_signature" });
  });

  test("fails loudly when express.json() already parsed the body (the raw bytes are gone)", async () => {
    const response = await post("/hooks/after-json", BODY, signed(BODY));
    expect(response.status).toBe(500);
  });
});
