import { describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";
import { pointer, schemaErrors } from "../support/spec-schemas.js";

const spec = loadSpec();

interface ExampleCase {
  where: string;
  schemaPointer: string;
  value: unknown;
}

/** Every `example`/`examples` in the document that sits beside a `schema` (media types, parameters, headers). */
function collectExamples(): ExampleCase[] {
  const cases: ExampleCase[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (!node || typeof node !== "object") return;
    const object = node as Record<string, any>;
    if ("schema" in object && ("example" in object || "examples" in object)) {
      const schemaPointer = pointer([...path, "schema"]);
      if ("example" in object) cases.push({ where: pointer(path), schemaPointer, value: object.example });
      for (const [name, example] of Object.entries<any>(object.examples ?? {})) {
        const resolved = spec.resolve<{ value?: unknown; externalValue?: string }>(example);
        cases.push({ where: `${pointer(path)} (${name})`, schemaPointer, value: resolved.value });
      }
    }
    for (const [key, child] of Object.entries(object)) walk(child, [...path, key]);
  };
  walk(spec.document, []);
  return cases;
}

const cases = collectExamples();

describe("examples in openapi.yaml", () => {
  it("are found in every operation's bodies and responses", () => {
    expect(cases.length).toBeGreaterThan(60);
  });

  it("include the body of every webhooks: entry (agent events, campaign events, webhook.test)", () => {
    const where = new Set(cases.map((c) => c.where));
    for (const key of Object.keys(spec.document.webhooks)) {
      expect(where, key).toContain(pointer(["webhooks", key, "post", "requestBody", "content", "application/json"]));
    }
  });

  it.each(cases.map((c) => [c.where, c] as const))("%s validates against its schema", (_where, c) => {
    expect(schemaErrors(c.schemaPointer, c.value)).toEqual([]);
  });
});

describe("component schemas reject what the API forbids", () => {
  it("a response Webhook never carries webhook_secret", () => {
    const seedWebhook = (spec.resolve<any>(spec.document.components.examples.WebhookCreated).value as any).data;
    expect(schemaErrors("#/components/schemas/Webhook", seedWebhook)).toEqual([]);
    expect(schemaErrors("#/components/schemas/Webhook", { ...seedWebhook, webhook_secret: "s" })).not.toEqual([]);
  });

  it("a webhook_url that is not http(s) is rejected even though it is a URI", () => {
    expect(schemaErrors("#/components/schemas/WebhookUrl", "javascript:alert(1)")).not.toEqual([]);
    expect(schemaErrors("#/components/schemas/WebhookUrl", "https://example.com/webhook")).toEqual([]);
  });
});
