// The webhook secret's rule (client/protocol/secret.ts), which the delivery engine signs with and the receiver
// helper verifies with, and openapi.yaml's WebhookSecret pattern, which the API validates with: they must
// accept and refuse the same secrets.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { secretKeyBytes, validateSecret } from "../../client/protocol/secret.js";

const WHSEC_ERROR = "a secret starting with whsec_ must be base64 after the prefix";

describe("validateSecret and secretKeyBytes", () => {
  it.each([
    ["whsec_", WHSEC_ERROR],
    ["whsec_not base64!", WHSEC_ERROR],
    ["whsec_abc", WHSEC_ERROR], // bad length
    ["whsec_YWJj\n", WHSEC_ERROR], // Buffer would skip the newline; the standardwebhooks libraries would not
    ["whsec_YQ", WHSEC_ERROR], // unpadded
    ["whsec_-_-_", WHSEC_ERROR], // base64url is not base64
    ["", "must not be empty"],
  ])("refuses %j", (secret, reason) => {
    expect(validateSecret(secret)).toBe(reason);
    expect(() => secretKeyBytes(secret)).toThrow(new TypeError(`Invalid webhook secret: ${reason}`));
  });

  it.each(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_YQ==", "optional_secret_for_hmac", "whsec-looks-similar", "WHSEC_lowercase prefix only", "🔑 unicode"])(
    "accepts %j",
    (secret) => expect(validateSecret(secret)).toBeUndefined(),
  );

  it("a whsec_ secret is the bytes its base64 encodes, the key the standardwebhooks package uses", () => {
    const raw = randomBytes(24);
    const secret = "whsec_" + raw.toString("base64");
    expect(secretKeyBytes(secret).equals(raw)).toBe(true);
    const [id, at, body] = ["msg_1", new Date(), '{"a":1}'];
    expect(new Webhook(secretKeyBytes(secret), { format: "raw" }).sign(id, at, body)).toBe(new Webhook(secret).sign(id, at, body));
  });

  it("any other secret is its UTF-8 bytes", () => {
    expect(secretKeyBytes("optional_secret_for_hmac").toString("utf8")).toBe("optional_secret_for_hmac");
    expect([...secretKeyBytes("é")]).toEqual([0xc3, 0xa9]);
  });
});

describe("the rule and openapi.yaml's WebhookSecret pattern", () => {
  const spec = parse(readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8"));
  const schema = spec.components.schemas.WebhookSecret as { pattern: string; maxLength: number };
  const pattern = new RegExp(schema.pattern, "u"); // as the validators compile it

  // Where the pattern is looser than the rule, on purpose: the API takes "" as no secret (deliveries go
  // unsigned, as with null), while a receiver cannot verify with an empty key.
  const PATTERN_LOOSER = [""];

  const b64 = (bytes: number) => randomBytes(bytes).toString("base64");
  const samples = [
    ...PATTERN_LOOSER,
    "whsec_",
    "optional_secret_for_hmac",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_not base64!",
    "whsec_abc",
    "whsec_YQ",
    "whsec_YQ=",
    "whsec_YQ==",
    "whsec_YWI=",
    "whsec_YWJj",
    "whsec_YWJj\n",
    "\nwhsec_YWJj",
    "whsec_-_-_",
    "whsec-x",
    "whsec",
    "x whsec_",
    "line\nbreaks\r\nand\ttabs",
    "🔑 unicode",
    ...Array.from({ length: 40 }, (_, n) => "whsec_" + b64(n + 1)),
    ...Array.from({ length: 40 }, (_, n) => "whsec_" + b64(n + 1).replace(/=+$/, "")),
    ...Array.from({ length: 40 }, (_, n) => "whsec_" + b64(n + 3).slice(1)),
    ...Array.from({ length: 40 }, () => randomBytes(12).toString("latin1")),
  ];

  it("agree on every other secret", () => {
    for (const secret of samples.filter((s) => !PATTERN_LOOSER.includes(s))) {
      expect(pattern.test(secret), JSON.stringify(secret)).toBe(validateSecret(secret) === undefined);
    }
  });

  it.each(PATTERN_LOOSER.map((s) => [s]))("disagree on %j, by design", (secret) => {
    expect(pattern.test(secret)).toBe(true);
    expect(validateSecret(secret)).toBeDefined();
  });
});
