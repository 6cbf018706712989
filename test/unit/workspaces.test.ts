// The two packages of the repository (README.md, "Packages and workspaces"): one version, the integrator's
// package with two dependencies, and the server using the client package by name, never by a relative path.
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const manifest = async (dir: string) => JSON.parse(await readFile(join(ROOT, dir, "package.json"), "utf8"));

async function sources(dir: string): Promise<string[]> {
  const files = await readdir(join(ROOT, dir), { recursive: true });
  return files.filter((file) => file.endsWith(".ts") && !file.startsWith("dist/") && !file.endsWith(".d.ts")).map((file) => join(dir, file));
}

describe("the workspace packages", () => {
  it("share one version and one Node range, and the server depends on exactly that talkover-webhooks", async () => {
    const [root, client, server] = await Promise.all([manifest("."), manifest("client"), manifest("server")]);
    expect([root.workspaces, client.name, server.name]).toEqual([["client", "server"], "talkover-webhooks", "talkover-webhooks-server"]);
    expect(client.version).toBe(root.version);
    expect(server.version).toBe(root.version);
    expect(server.dependencies["talkover-webhooks"]).toBe(root.version);
    expect([client.engines, server.engines]).toEqual([root.engines, root.engines]);
  });

  it("talkover-webhooks depends on openapi-fetch and standardwebhooks only; Express and Prism are optional peers", async () => {
    const client = await manifest("client");
    expect(Object.keys(client.dependencies).sort()).toEqual(["openapi-fetch", "standardwebhooks"]);
    expect(client.peerDependenciesMeta).toEqual({ "@stoplight/prism-cli": { optional: true }, express: { optional: true } });
    expect(Object.keys(client.scripts ?? {}).filter((name) => /install/.test(name))).toEqual([]);
  });

  it("the server imports the client package by name, and the client nothing of the server", async () => {
    const offenders: string[] = [];
    for (const file of await sources("server")) {
      const text = await readFile(join(ROOT, file), "utf8");
      if (/from ["'](\.\.\/)+(client|generated)\//.test(text)) offenders.push(file);
    }
    for (const file of await sources("client")) {
      const text = await readFile(join(ROOT, file), "utf8");
      if (/from ["'](\.\.\/)+server\//.test(text) || /from ["']talkover-webhooks-server/.test(text)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
