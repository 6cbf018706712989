// Receiving deliveries: verify the Standard Webhooks signature of the raw body, then hand back the typed body.
// Built on the `standardwebhooks` package, which decodes every string secret as base64; Talkover's plain
// secrets (`optional_secret_for_hmac`) are their UTF-8 bytes. So the key is always worked out here, by the
// rule the delivery engine signs with (./protocol/secret.ts), and handed to the package as bytes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Webhook, WebhookVerificationError as StandardWebhooksError } from "standardwebhooks";
import { secretKeyBytes, validateSecret } from "./protocol/secret.js";
import type { WebhookDelivery } from "./types.js";

export type WebhookVerificationFailure =
  | "missing_secret"
  | "invalid_secret"
  | "missing_header"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "invalid_signature"
  | "invalid_body";

export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
  constructor(
    readonly code: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Node's `req.headers`, a Fetch `Headers`, or a plain object; names in any case. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

const TOLERANCE_SECONDS = 5 * 60; // the same window standardwebhooks enforces; checked first for a precise error

/**
 * Verifies a delivery and returns its typed body, narrowed by `event`. Throws `WebhookVerificationError`
 * (with a `code`) when the secret, a header, the timestamp (over 5 minutes away), the signature or the body
 * is wrong. Pass the **raw** body: a re-serialized JSON body does not match its signature.
 *
 * `secret` is the webhook's `webhook_secret` as you set it: `whsec_…` (base64 after the prefix) or any other
 * string (used as its UTF-8 bytes), or a list of them: while you switch to a rotated secret, pass both
 * (`[newSecret, oldSecret]`); the delivery passes when any one of its signatures matches any one of them.
 */
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: WebhookSecrets): WebhookDelivery;
/**
 * For a webhook with `payload_templates`: its body for a templated event is whatever the template rendered,
 * not the envelope. With `{ templated: true }` the signature and timestamp are checked the same way and the
 * body's parsed JSON is returned as `T` (default `unknown`: check its shape yourself), any JSON value.
 */
export function verifyWebhook<T = unknown>(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: WebhookSecrets, options: { templated: true }): T;
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: WebhookSecrets, options?: VerifyOptions): unknown {
  const secrets = typeof secret === "string" ? [secret] : [...secret];
  if (secrets.length === 0 || secrets.some((s) => !s)) {
    throw new WebhookVerificationError("missing_secret", "No webhook secret was given to verify the delivery with.");
  }
  // Every secret is checked before any is tried, so a typo in the second one is found on the first delivery.
  const signers = secrets.map(signer);
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signature = header(headers, "webhook-signature");
  for (const [name, value] of [["webhook-id", id], ["webhook-timestamp", timestamp], ["webhook-signature", signature]] as const) {
    if (!value) throw new WebhookVerificationError("missing_header", `The ${name} header is missing.`);
  }
  checkTimestamp(timestamp!);

  const payload = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  // The package checks every signature of the header against one key: one key at a time, any match passes.
  const verified = signers.some((webhook) => {
    try {
      webhook.verify(payload, { "webhook-id": id!, "webhook-timestamp": timestamp!, "webhook-signature": signature! }, { jsonParse: false });
      return true;
    } catch (error) {
      if (error instanceof StandardWebhooksError && /timestamp too (old|new)/i.test(error.message)) {
        throw new WebhookVerificationError(/old/i.test(error.message) ? "timestamp_too_old" : "timestamp_too_new", error.message);
      }
      return false;
    }
  });
  if (!verified) {
    const which = secrets.length === 1 ? "secret" : "any of the secrets";
    throw new WebhookVerificationError("invalid_signature", `The webhook-signature does not match the body and ${which}.`);
  }
  return options?.templated ? parseJson(payload.toString()) : parseDelivery(payload.toString());
}

/**
 * One webhook secret, or several: during a rotation's overlap deliveries carry a signature for the new
 * secret and one for the previous; a receiver may hold either or both.
 */
export type WebhookSecrets = string | readonly string[];

export interface VerifyOptions {
  /** The body may be a rendered payload template: return its parsed JSON, whatever its shape. */
  templated?: boolean;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new WebhookVerificationError("invalid_body", "The delivery body is not JSON.");
  }
}

function signer(secret: string): Webhook {
  const problem = validateSecret(secret);
  if (problem !== undefined) throw new WebhookVerificationError("invalid_secret", `Invalid webhook secret: ${problem}.`);
  return new Webhook(secretKeyBytes(secret), { format: "raw" });
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // A header sent on several lines: signatures are space-separated, so join them that way.
    return typeof value === "string" ? value : value?.join(" ");
  }
  return undefined;
}

function checkTimestamp(value: string): void {
  if (!/^\d+$/.test(value)) throw new WebhookVerificationError("invalid_timestamp", "The webhook-timestamp header is not Unix seconds.");
  const skew = Math.floor(Date.now() / 1000) - Number(value);
  if (skew > TOLERANCE_SECONDS) throw new WebhookVerificationError("timestamp_too_old", "The webhook-timestamp is more than 5 minutes old.");
  if (skew < -TOLERANCE_SECONDS) throw new WebhookVerificationError("timestamp_too_new", "The webhook-timestamp is more than 5 minutes in the future.");
}

function parseDelivery(text: string): WebhookDelivery {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new WebhookVerificationError("invalid_body", "The delivery body is not JSON.");
  }
  if (!body || typeof body !== "object" || typeof (body as { event?: unknown }).event !== "string") {
    throw new WebhookVerificationError("invalid_body", "The delivery body has no event.");
  }
  return body as WebhookDelivery;
}

declare global {
  // Lets Express handlers read `req.webhook` with its type; a no-op for apps without Express's types.
  namespace Express {
    interface Request {
      webhook?: WebhookDelivery;
    }
  }
}

/** What the middleware needs of a request: Node's, with the fields Express adds. */
export interface WebhookRequest extends IncomingMessage {
  body?: unknown;
  webhook?: WebhookDelivery;
}

type RawParser = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
let rawJsonParser: Promise<RawParser> | undefined;

// Loaded on first use, so importing the client never loads Express.
function loadRawJsonParser(): Promise<RawParser> {
  rawJsonParser ??= import("express").then((express) => express.default.raw({ type: "application/json", limit: "1mb" }) as RawParser);
  return rawJsonParser;
}

/**
 * Express middleware for a receiver route: reads the raw `application/json` body (or takes the Buffer an
 * `express.raw()` before it left in `req.body`), verifies it with `secret`, puts the typed delivery on
 * `req.webhook` and calls `next()`. `secret` may be a list (during a rotation: the new and the old secret),
 * any one valid signature passing. A delivery that fails verification gets `400` and
 * `{"success": false, "message": "…", "code": "invalid_signature"}`. Mount it before any `express.json()`.
 *
 * With `{ templated: true }` (a webhook with `payload_templates`), the verified body's parsed JSON, whatever
 * its shape, is put on `req.body` instead, and `req.webhook` is left unset.
 */
export function webhookMiddleware(secret: WebhookSecrets, options?: VerifyOptions) {
  return (req: WebhookRequest, res: ServerResponse, next: (error?: unknown) => void): void => {
    const verify = () => {
      const raw = req.body;
      if (!Buffer.isBuffer(raw) && typeof raw !== "string") {
        return reject(res, new WebhookVerificationError("invalid_body", "The delivery must be an application/json body."));
      }
      try {
        if (options?.templated) req.body = verifyWebhook(raw, req.headers, secret, { templated: true });
        else req.webhook = verifyWebhook(raw, req.headers, secret);
      } catch (error) {
        if (error instanceof WebhookVerificationError) return reject(res, error);
        return next(error);
      }
      next();
    };
    if (Buffer.isBuffer(req.body) || typeof req.body === "string") return verify();
    if (req.body !== undefined) {
      return next(new Error("webhookMiddleware needs the raw body: mount it before express.json(), or use express.raw({ type: \"application/json\" })."));
    }
    loadRawJsonParser().then(
      (parse) => parse(req, res, (error) => (error ? next(error) : verify())),
      next,
    );
  };
}

function reject(res: ServerResponse, error: WebhookVerificationError): void {
  res.statusCode = 400;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ success: false, message: error.message, code: error.code }));
}
