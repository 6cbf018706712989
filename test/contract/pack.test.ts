// The package as a user gets it: `npm pack` (which builds dist/ through prepack), install the tarball into a
// scratch TypeScript project, then type-check a program that imports the client, the receiver helper and the
// generated types, and run a small one. Installs come from the npm cache `npm ci` filled (no registry needed);
// install scripts are skipped because only types and the client's JavaScript are exercised.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let scratch: string;
let app: string;

const CONSUMER = `
import { createTalkoverClient, verifyWebhook, webhookMiddleware, type Webhook, type WebhookDelivery } from "talkover-webhooks";
import type { components, paths } from "talkover-webhooks/types";
import { loadConfig, startServer, type RunningServer } from "talkover-webhooks/server";

export const serve = (): Promise<RunningServer> => startServer(loadConfig({ PORT: "0" }));

const client = createTalkoverClient({ baseUrl: "http://127.0.0.1:4010", token: "talq_x", retryOn429: true });

export async function names(agentId: string): Promise<string[]> {
  const { data, error } = await client.GET("/api/v1/agents/{agent_id}/webhooks", { params: { path: { agent_id: agentId } } });
  if (error) return [error.message];
  const webhooks: Webhook[] = data.data.webhooks;
  return webhooks.map((webhook) => webhook.name);
}

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

export const middleware = webhookMiddleware("whsec_c2VjcmV0");
export type Log = components["schemas"]["WebhookLog"];
export type LogsPath = paths["/api/v1/agents/{agent_id}/webhooks/{webhook_id}/logs"];
`;

const SMOKE = `
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { createTalkoverClient, packageSpecPath, verifyWebhook } from "talkover-webhooks";
import { loadSpec } from "talkover-webhooks/server";

const seen = [];
const fetch = async (request) => {
  seen.push(request.headers.get("authorization"));
  return new Response(JSON.stringify({ status: "ok" }), { headers: { "content-type": "application/json" } });
};
const { data } = await createTalkoverClient({ token: "talq_x", fetch }).GET("/healthz");

const body = JSON.stringify({ event: "webhook.test", agent_id: "a", agent_name: "n", webhook_id: "w", webhook_name: "n", timestamp: "t", test: true });
const timestamp = String(Math.floor(Date.now() / 1000));
const signature = createHmac("sha256", "abcd1234").update("msg_1." + timestamp + "." + body).digest("base64");
const delivery = verifyWebhook(body, { "webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": "v1," + signature }, "abcd1234");

console.log(JSON.stringify({ health: data.status, auth: seen[0], event: delivery.event, spec: existsSync(packageSpecPath()), events: loadSpec().events.length }));
`;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "talkover-pack-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", scratch], { cwd: ROOT, maxBuffer: 16 << 20 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string }[];
  const tarball = join(scratch, packed!.filename);

  app = join(scratch, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await writeFile(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: ["node"], skipLibCheck: true },
      files: ["consumer.ts"],
    }),
  );
  await writeFile(join(app, "consumer.ts"), CONSUMER);
  await writeFile(join(app, "smoke.mjs"), SMOKE);
  await run(
    npm,
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", tarball, "typescript@5.9.3", "@types/node@20.19.43"],
    { cwd: app, maxBuffer: 16 << 20 },
  );
}, 90_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the packed talkover-webhooks", () => {
  test("ships dist/, openapi.yaml and the generated types", async () => {
    const installed = join(app, "node_modules", "talkover-webhooks");
    const files = await readdir(installed);
    expect(files).toEqual(expect.arrayContaining(["dist", "openapi.yaml", "generated", "package.json"]));
    expect(await readdir(join(installed, "dist", "client"))).toEqual(expect.arrayContaining(["index.js", "index.d.ts", "receive.d.ts"]));
  });

  test("type-checks a consumer's program, and rejects a field the document does not define", async () => {
    const tsc = join(app, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", "."], { cwd: app }).catch((error: { stdout: string }) => error);
    // An unused @ts-expect-error would fail here too: the wrong field really is a type error.
    expect(result.stdout).toBe("");
  }, 60_000);

  test("runs on plain Node: a client call, a verified delivery, and the server side finding its openapi.yaml", async () => {
    const { stdout } = await run(process.execPath, ["smoke.mjs"], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ health: "ok", auth: "Bearer talq_x", event: "webhook.test", spec: true, events: 22 });
  });
});
