// A webhook's signing secret, read one way by the delivery engine that signs with it
// (server/delivery/sign.ts) and by the receiver helper that verifies with it (client/receive.ts).
// openapi.yaml's WebhookSecret states the same rule as a pattern; test/client/secret.test.ts holds the two
// side by side.
//
// `whsec_<base64>` (Standard Webhooks' form) is a key in base64; any other string is used as its UTF-8 bytes,
// so that plain secrets like `optional_secret_for_hmac` work.

export const WHSEC_PREFIX = "whsec_";

// Strict base64 (standard alphabet, padded), what the standardwebhooks libraries decode. Node's Buffer is
// lenient (it skips stray characters and ignores missing padding), so a secret is checked before decoding.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Why `secret` can't be used as a key, or undefined if it can: it must not be empty, and after a `whsec_`
 * prefix there must be non-empty base64.
 */
export function validateSecret(secret: string): string | undefined {
  if (secret === "") return "must not be empty";
  if (secret.startsWith(WHSEC_PREFIX)) {
    const b64 = secret.slice(WHSEC_PREFIX.length);
    if (b64 === "" || !BASE64.test(b64)) return "a secret starting with whsec_ must be base64 after the prefix";
  }
  return undefined;
}

/**
 * The HMAC key of `secret`: the bytes the base64 after `whsec_` encodes, or else the string's UTF-8 bytes.
 * Throws a TypeError naming the problem for a secret `validateSecret` refuses.
 */
export function secretKeyBytes(secret: string): Buffer {
  const problem = validateSecret(secret);
  if (problem !== undefined) throw new TypeError(`Invalid webhook secret: ${problem}`);
  return secret.startsWith(WHSEC_PREFIX) ? Buffer.from(secret.slice(WHSEC_PREFIX.length), "base64") : Buffer.from(secret, "utf8");
}
