// The document's own gates: lint (Redocly, and Spectral with the OWASP ruleset) without warnings, generated/ in
// step with it, docs that build offline and leave out the internal operations.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { loadSpec } from "../../server/spec.js";

const run = promisify(execFile);
const bin = (name: string) => join("node_modules", ".bin", name);
const quiet = { ...process.env, REDOCLY_TELEMETRY: "off", NO_COLOR: "1" };

describe("openapi.yaml tooling", () => {
  it("passes `redocly lint` with no error and no warning", async () => {
    const { stdout, stderr } = await run(bin("redocly"), ["lint", "openapi.yaml", "--format=stylish"], { env: quiet });
    const output = stdout + stderr;
    expect(output).toContain("Your API description is valid");
    // Problem lines look like "  652:7  warning  rule-name  …"; the CLI's Node 20 banner is not one.
    expect(output).not.toMatch(/^\s*\d+:\d+\s+(warning|error)\b/m);
    expect(output).not.toMatch(/\d+ warnings?\b/);
  }, 60_000);

  it("passes Spectral with the OWASP API Security ruleset (.spectral.yaml) with no finding at all", async () => {
    // JSON output: every finding, whatever its severity, is one entry.
    const { stdout } = await run(bin("spectral"), ["lint", "openapi.yaml", "--ruleset", ".spectral.yaml", "--format", "json", "--quiet"], {
      env: quiet,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
    expect(JSON.parse(stdout || "[]")).toEqual([]);
  }, 60_000);

  it("generated/api.ts is exactly what `npm run generate` writes", async () => {
    // --check exits non-zero when the file on disk differs from what the spec generates.
    await expect(run("npm", ["run", "-s", "generate:check"], { env: quiet })).resolves.toBeDefined();
  }, 60_000);

  it("builds HTML docs that render offline and show every public operation and event, and not the internal ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "talkover-docs-"));
    try {
      const output = join(dir, "index.html");
      await run(
        bin("redocly"),
        ["build-docs", "openapi.yaml", "--output", output, "--inlineBundle", "--openapi.disableTelemetry"],
        { env: quiet },
      );
      const html = readFileSync(output, "utf8");
      expect(html).not.toMatch(/<script[^>]+src="https?:/); // Redoc is inlined, no CDN
      const spec = loadSpec();
      const operations = Object.entries<any>(spec.document.paths).flatMap(([path, item]) =>
        ["get", "post", "put", "patch", "delete"].filter((m) => item[m]).map((m) => ({ path, id: item[m].operationId as string, internal: item[m]["x-internal"] === true })),
      );
      expect(operations).toHaveLength(27); // eleven per webhook resource (agent, campaign: nine, the secret rotation, recovery), two intakes, two probes, the metrics
      const internal = operations.filter((o) => o.internal);
      expect(internal.map((o) => o.id).sort()).toEqual(["ingestCampaignEvent", "ingestEvent"]);
      const published = operations.filter((o) => !o.internal);
      expect(published).toHaveLength(25); // redocly.yaml's remove-x-internal drops the two intakes
      for (const { id } of published) expect(html).toContain(id);
      for (const { id, path } of internal) {
        expect(html).not.toContain(`"operationId":"${id}"`);
        expect(html).not.toContain(path);
      }
      expect(html).not.toContain("Hand an event to the delivery engine"); // the intake's summary
      for (const event of [...spec.events, "webhook.test"]) expect(html).toContain(event);
      for (const [key, item] of Object.entries<any>(spec.document.webhooks)) {
        if (!key.startsWith("campaign/")) continue;
        expect(html).toContain(key);
        expect(html).toContain(item.post.operationId);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
