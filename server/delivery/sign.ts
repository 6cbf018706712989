/**
 * Standard Webhooks (v1) signing: https://www.standardwebhooks.com/
 *
 * signature = base64(HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)), sent as
 * `webhook-signature: v1,<signature>`. The body signed must be byte-for-byte the body sent. During a secret
 * rotation's overlap a delivery is signed with both secrets, in one header, space-separated
 * (`v1,<new> v1,<old>`), as the standard allows: a receiver holding either secret verifies it.
 */
import { createHmac } from "node:crypto";
import { secretKeyBytes } from "talkover-webhooks/protocol/secret";

// What a secret may be and which key bytes it stands for is the contract's rule, shared with the receiver
// helper: see client/protocol/secret.ts. This file adds the signing.

// Decoded keys by secret. Webhooks are few and secrets repeat on every delivery, so this saves a base64
// decode (or UTF-8 encode) per request; the size cap only guards against unbounded growth.
const KEY_CACHE_MAX = 1024;
const keyCache = new Map<string, Buffer>();

/**
 * The HMAC key bytes for a secret (client/protocol/secret.ts), cached. Throws for a malformed `whsec_`
 * secret (Buffer's lenient base64 would silently sign with different bytes than the receiver's library uses).
 */
export function secretKey(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (key !== undefined) return key;
  key = secretKeyBytes(secret);
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
  /**
   * The secrets to sign with, current first (storage/webhooks.ts signingSecrets): one signature each. Empty
   * for an unsigned webhook: then no `webhook-signature` header is sent.
   */
  secrets: readonly string[];
  userAgent: string;
}

/** The request headers of one delivery attempt. */
export function deliveryHeaders({ deliveryId, timestamp, body, secrets, userAgent }: DeliveryHeaderInput): Record<string, string> {
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
  if (secrets.length > 0) {
    headers["webhook-signature"] = secrets.map((secret) => signPayload({ id: deliveryId, timestamp, body, secret })).join(" ");
  }
  return headers;
}
