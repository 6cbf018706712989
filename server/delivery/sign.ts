/**
 * Standard Webhooks (v1) signing: https://www.standardwebhooks.com/
 *
 * signature = base64(HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)), sent as
 * `webhook-signature: v1,<signature>`. The body signed must be byte-for-byte the body sent.
 */
import { createHmac } from "node:crypto";

const WHSEC_PREFIX = "whsec_";
// Strict base64 (standard alphabet, padded): what the standardwebhooks libraries accept.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Why a secret can't be used, or undefined if it can. A `whsec_` secret must be non-empty base64 after the
 * prefix; any other non-empty string is fine (it is used as its UTF-8 bytes). Only secretKey calls it: the
 * API's 422 for a bad secret comes from the WebhookSecret pattern of openapi.yaml, not from here.
 */
export function validateSecret(secret: string): string | undefined {
  if (secret === "") return "must not be empty";
  if (secret.startsWith(WHSEC_PREFIX)) {
    const b64 = secret.slice(WHSEC_PREFIX.length);
    if (b64 === "" || !BASE64.test(b64)) return "a secret starting with whsec_ must be base64 after the prefix";
  }
  return undefined;
}

// Decoded keys by secret. Webhooks are few and secrets repeat on every delivery, so this saves a base64
// decode (or UTF-8 encode) per request; the size cap only guards against unbounded growth.
const KEY_CACHE_MAX = 1024;
const keyCache = new Map<string, Buffer>();

/**
 * The HMAC key bytes for a secret: `whsec_<base64>` is decoded; any other string is its UTF-8 bytes, so
 * users can set plain strings like `optional_secret_for_hmac`. Throws for a malformed `whsec_` secret
 * (Buffer's lenient base64 would silently sign with different bytes than the receiver's library uses).
 */
export function secretKey(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (key !== undefined) return key;

  const problem = validateSecret(secret);
  if (problem !== undefined) throw new TypeError(`Invalid webhook secret: ${problem}`);
  key = secret.startsWith(WHSEC_PREFIX)
    ? Buffer.from(secret.slice(WHSEC_PREFIX.length), "base64")
    : Buffer.from(secret, "utf8");

  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(secret, key);
  return key;
}

export interface SignInput {
  /** `webhook-id`: the message id, the same on every retry so receivers can de-duplicate. */
  id: string;
  /** `webhook-timestamp`: unix seconds of this attempt (receivers reject stale ones, so re-sign per attempt). */
  timestamp: number;
  /** The exact request body. */
  body: string;
  /** A secret string, or its already-decoded key. */
  secret: string | Buffer;
}

/** The `webhook-signature` header value: `v1,<base64 signature>`. */
export function signPayload({ id, timestamp, body, secret }: SignInput): string {
  const key = typeof secret === "string" ? secretKey(secret) : secret;
  // One update with one string: cheaper than three updates for bodies of a few KB.
  return "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}

export interface DeliveryHeaderInput {
  deliveryId: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
  /** null (or empty) for an unsigned webhook: then no `webhook-signature` header is sent. */
  secret: string | null;
  userAgent: string;
}

/** The request headers of one delivery attempt. */
export function deliveryHeaders({ deliveryId, timestamp, body, secret, userAgent }: DeliveryHeaderInput): Record<string, string> {
  // Milliseconds here would put the timestamp millennia ahead and every receiver would reject it.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > 1e11) {
    throw new RangeError(`webhook timestamp must be whole unix seconds, got ${timestamp}`);
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": userAgent,
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestamp),
  };
  if (secret) headers["webhook-signature"] = signPayload({ id: deliveryId, timestamp, body, secret });
  return headers;
}
