// The integrator's package, as an integrator gets it: `npm pack -w talkover-webhooks` (its prepack builds
// client/dist and copies openapi.yaml in), installed alone into a scratch TypeScript project from the npm cache.
// The install is measured against the targets (≤ 10 packages, ≤ 10 MB, no install script); then a program is
// type-checked and run on plain Node: it creates a webhook on a real server (this checkout's, started here)
// with the typed client, has the server send it a signed test delivery, and verifies that with verifyWebhook.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { cleanEnv, directoryBytes, install, installedPackages, pack, ROOT, run, type InstalledPackage } from "../support/pack.js";

const PROGRAM = `
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createTalkoverClient, packageSpecPath, verifyWebhook, WebhookVerificationError, type Webhook, type WebhookDelivery } from "talkover-webhooks";

const [baseUrl, token, agentId] = process.argv.slice(2) as [string, string, string];
const SECRET = "optional_secret_for_hmac";

// The receiver: plain node:http, the raw body verified.
let onDelivery!: (delivery: WebhookDelivery) => void;
const delivered = new Promise<WebhookDelivery>((resolve) => (onDelivery = resolve));
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => {
    try {
      onDelivery(verifyWebhook(Buffer.concat(chunks), req.headers, SECRET));
      res.writeHead(204).end();
    } catch (error) {
      res.writeHead(400).end(error instanceof WebhookVerificationError ? error.code : String(error));
    }
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hook = "http://127.0.0.1:" + (receiver.address() as AddressInfo).port + "/hook";

const talkover = createTalkoverClient({ baseUrl, token });
const created = await talkover.POST("/api/v1/agents/{agent_id}/webhooks", {
  params: { path: { agent_id: agentId } },
  body: { name: "Pack test", webhook_url: hook, webhook_secret: SECRET, events: ["event_phone_call_ended"] },
});
if (created.error) throw new Error(JSON.stringify(created.error));
const webhook: Webhook = created.data.data;
const tested = await talkover.POST("/api/v1/agents/{agent_id}/webhooks/{webhook_id}/test", {
  params: { path: { agent_id: agentId, webhook_id: webhook.id } },
});
const delivery = await delivered;
receiver.close();
const logs: string[] = [];
for await (const log of talkover.logs(agentId, webhook.id)) logs.push(log.event + " " + log.status);

console.log(JSON.stringify({
  created: created.response.status,
  tested: tested.data?.success,
  event: delivery.event,
  webhook: delivery.event === "webhook.test" && delivery.webhook_id === webhook.id, // narrowed by event
  logs,
  spec: existsSync(packageSpecPath()),
}));
`;

// Compiled, never run: what the published types allow and refuse.
const TYPES = `
import { createTalkoverClient, verifyWebhook, webhookMiddleware, type WebhookDelivery } from "talkover-webhooks";
import type { components, paths } from "talkover-webhooks/types";

const client = createTalkoverClient({ baseUrl: "http://127.0.0.1:4010", token: "talq_x", retryOn429: true });

export async function create(agentId: string) {
  return client.POST("/api/v1/agents/{agent_id}/webhooks", {
    params: { path: { agent_id: agentId } },
    // @ts-expect-error "colour" is not a field of WebhookCreate: the published types must reject it
    body: { name: "n", webhook_url: "https://example.com/hook", events: ["event_recording"], colour: "red" },
  });
}

export function durationOf(raw: string, headers: Record<string, string>): number | undefined {
  const delivery: WebhookDelivery = verifyWebhook(raw, headers, "optional_secret_for_hmac");
  return delivery.event === "event_phone_call_ended" ? delivery.data.duration : undefined;
}

export const middleware = webhookMiddleware("whsec_c2VjcmV0"); // typed without Express installed
export type Log = components["schemas"]["WebhookLog"];
export type LogsPath = paths["/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs"];
`;

let scratch: string;
let app: string;
let tarball: string;
let installSeconds: number;
let packages: InstalledPackage[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "talkover-pack-client-"));
  tarball = await pack("talkover-webhooks", scratch);

  app = join(scratch, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "integrator", private: true, type: "module" }));
  const started = performance.now();
  await install(app, [tarball]);
  installSeconds = (performance.now() - started) / 1000;
  packages = await installedPackages(app);

  // Type-checked with this checkout's TypeScript and Node types, so that the scratch project holds only
  // what `npm install talkover-webhooks` brought.
  await writeFile(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true,
        types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")], outDir: "out",
      },
      files: ["program.ts", "types.ts"],
    }),
  );
  await writeFile(join(app, "program.ts"), PROGRAM);
  await writeFile(join(app, "types.ts"), TYPES);
}, 420_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the integrator's package, talkover-webhooks", () => {
  test("installs alone in seconds: ≤ 10 packages, ≤ 10 MB, no install script, no Express or Prism", async () => {
    const bytes = await directoryBytes(join(app, "node_modules"));
    console.log(`talkover-webhooks installed: ${packages.length} packages, ${(bytes / 1e6).toFixed(2)} MB, ${installSeconds.toFixed(1)} s`);
    expect(packages.length).toBeLessThanOrEqual(10);
    expect(bytes).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(packages.filter((p) => p.hasInstallScript)).toEqual([]);
    expect(installSeconds).toBeLessThan(60);
    const names = packages.map((p) => p.path.replace(/^node_modules\//, ""));
    expect(names).toEqual(expect.arrayContaining(["talkover-webhooks", "openapi-fetch", "standardwebhooks"]));
    for (const peer of ["express", "@stoplight/prism-cli", "better-sqlite3", "talkover-webhooks-server"]) expect(names).not.toContain(peer);
  });

  test("ships the compiled client, the generated types and openapi.yaml, and nothing of the server", async () => {
    const { stdout } = await run("tar", ["tzf", tarball]);
    const files = stdout.trim().split("\n").map((line) => line.replace(/^package\//, "")).sort();
    expect(files).toEqual(
      expect.arrayContaining(["openapi.yaml", "package.json", "README.md", "dist/client/index.js", "dist/client/index.d.ts", "dist/client/receive.d.ts", "dist/generated/api.d.ts"]),
    );
    expect(files.filter((file) => /server|\.test\.|(?<!\.d)\.ts$/.test(file))).toEqual([]);
  });

  describe("a program using it", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer("sqlite");
    });
    afterAll(() => server?.stop());

    test("type-checks, and a field the document does not define is an error", async () => {
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      const result = await run(process.execPath, [tsc, "-p", "."], { cwd: app }).catch((error: { stdout: string }) => error);
      // An unused @ts-expect-error would fail here too: the wrong field really is a type error.
      expect(result.stdout).toBe("");
    }, 90_000);

    test("runs on plain Node: creates a webhook on a server and verifies the signed delivery it gets", async () => {
      const { stdout } = await run(process.execPath, [join("out", "program.js"), server.url, server.token, server.agentId], { cwd: app, env: cleanEnv() });
      expect(JSON.parse(stdout)).toEqual({
        created: 201,
        tested: true,
        event: "webhook.test",
        webhook: true,
        logs: ["webhook.test success"],
        spec: true,
      });
    });
  });
});
