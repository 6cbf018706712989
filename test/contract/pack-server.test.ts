// The platform's package, as a platform gets it: `npm pack` both packages, install talkover-webhooks-server
// (with the talkover-webhooks it depends on: not on a registry yet, so its tarball is installed beside it)
// into a scratch project from the npm cache, then use it as its README says: `npx talkover-webhooks env create`,
// `agent create`, `serve`, a webhook created over HTTP, and `import { startServer }` for embedders.
//
// better-sqlite3 compiles from source on install (≈ 2 min here). The install skips install scripts and takes
// the binary this checkout's `npm ci` built instead: the same version (checked), the same Node.
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, install, npm, pack, ROOT, run } from "../support/pack.js";

const EMBED = `
import { loadConfig, startServer } from "talkover-webhooks-server";

const server = await startServer(loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", DATABASE_URL: process.argv[2] }));
const health = await (await fetch(server.url + "/healthz")).json();
await server.stop();
console.log(JSON.stringify(health));
`;

let scratch: string;
let app: string;
let env: NodeJS.ProcessEnv;

const cli = async (...args: string[]) => JSON.parse((await run(npm, ["exec", "--", "talkover-webhooks", ...args, "--json"], { cwd: app, env })).stdout);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "talkover-pack-server-"));
  const client = await pack("talkover-webhooks", scratch);
  const server = await pack("talkover-webhooks-server", scratch);

  app = join(scratch, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "platform", private: true, type: "module" }));
  await install(app, [client, server], ["--ignore-scripts"]);
  const sqlite = join(app, "node_modules", "better-sqlite3");
  const built = join(ROOT, "node_modules", "better-sqlite3");
  const version = async (dir: string) => JSON.parse(await readFile(join(dir, "package.json"), "utf8")).version;
  expect(await version(sqlite)).toBe(await version(built));
  await mkdir(join(sqlite, "build", "Release"), { recursive: true });
  await copyFile(join(built, "build", "Release", "better_sqlite3.node"), join(sqlite, "build", "Release", "better_sqlite3.node"));

  await writeFile(join(app, "embed.mjs"), EMBED);
  env = cleanEnv({ DATABASE_URL: join(scratch, "talkover.db"), LOG_LEVEL: "silent" });
}, 420_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function filesNamed(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) found.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return found;
}

describe("the platform's package, talkover-webhooks-server", () => {
  test("holds no copy of the contract: one openapi.yaml and one set of generated types, talkover-webhooks'", async () => {
    const modules = join(app, "node_modules");
    expect(await filesNamed(modules, "openapi.yaml")).toEqual([join("talkover-webhooks", "openapi.yaml")]);
    const serverFiles = await readdir(join(modules, "talkover-webhooks-server"), { recursive: true });
    expect(serverFiles.filter((file) => /generated|openapi/.test(file))).toEqual([]);
    expect(await filesNamed(join(modules, "talkover-webhooks", "dist"), "api.d.ts")).toEqual([join("generated", "api.d.ts")]);
  });

  test("npx talkover-webhooks: env create, agent create, serve, and a webhook created over HTTP", async () => {
    const environment = await cli("env", "create", "--name", "Platform");
    expect(Object.keys(environment).sort()).toEqual(["id", "name", "token"]);
    const agent = await cli("agent", "create", "--environment", environment.id, "--name", "Support line");
    expect(agent).toMatchObject({ environment_id: environment.id });

    // Its own process group, so that stopping it stops npm exec and the server under it.
    const serve = spawn(npm, ["exec", "--", "talkover-webhooks", "serve"], {
      cwd: app,
      env: { ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => serve.once("exit", (code) => resolve(code)));
    try {
      let output = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not listen within 60 s:\n${output}`)), 60_000);
        const read = (chunk: Buffer) => {
          output += chunk.toString();
          const listening = output.split("\n").find((line) => line.includes('"talkover-webhooks listening"'));
          if (listening) {
            clearTimeout(timer);
            resolve(JSON.parse(listening).url);
          }
        };
        serve.stdout!.on("data", read);
        serve.stderr!.on("data", read);
        serve.once("exit", () => reject(new Error(`serve exited:\n${output}`)));
      });

      const created = await fetch(`${url}/api/v1/agents/${agent.id}/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${environment.token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Platform", webhook_url: "https://example.com/hook", events: ["event_phone_call_ended"] }),
      });
      expect(created.status).toBe(201);
      expect(((await created.json()) as { data: unknown }).data).toMatchObject({ name: "Platform", status: "active" });
    } finally {
      process.kill(-serve.pid!, "SIGTERM");
      await exited;
    }
  }, 120_000);

  test("import { startServer } from \"talkover-webhooks-server\" runs a server in an embedder's process", async () => {
    const { stdout } = await run(process.execPath, ["embed.mjs", join(scratch, "embedded.db")], { cwd: app, env });
    expect(JSON.parse(stdout)).toEqual({ status: "ok" });
  });
});
