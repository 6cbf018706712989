// app.ts turns express-openapi-validator's file uploader (multer) off: that is right only while no operation of
// openapi.yaml takes a multipart or binary request body. One that does needs `fileUploader` back on.
import { describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";

describe("request bodies of openapi.yaml", () => {
  it("are never multipart nor binary, so the validator's uploader stays off", () => {
    const spec = loadSpec();
    const uploads: string[] = [];
    let bodies = 0;
    for (const [path, item] of Object.entries<Record<string, any>>(spec.document.paths ?? {})) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const content: Record<string, { schema?: unknown }> = spec.resolve<any>(operation?.requestBody ?? {}).content ?? {};
        for (const [mediaType, { schema }] of Object.entries(content)) {
          bodies++;
          // The uploader takes a body whose media type's own schema is `format: binary`, or any multipart one.
          const binary = spec.resolve<{ format?: string }>(schema ?? {}).format === "binary";
          if (mediaType !== "application/json" || binary) uploads.push(`${method.toUpperCase()} ${path} ${mediaType}`);
        }
      }
    }
    expect(bodies).toBeGreaterThan(10);
    expect(uploads).toEqual([]);
  });
});
