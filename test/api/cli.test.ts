// The admin CLI, run as users run it (`node server/bin/talkover-webhooks.js …`), against SQLite and PostgreSQL.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabaseUrl } from "../support/databases.js";

const run = promisify(execFile);
const BIN = "server/bin/talkover-webhooks.js";

describe.each(["sqlite", "postgres"] as const)("the CLI on %s", (dialect) => {
  let database: { url: string; drop(): Promise<void> };
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: "silent" } });
    return stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await cli(...args, "--json"));

  beforeAll(async () => {
    database = await freshDatabaseUrl(dialect);
  });
  afterAll(() => database?.drop());

  it("migrate applies the migrations once, then reports the database up to date", async () => {
    const first = await json("migrate");
    expect(first.applied.length).toBeGreaterThan(0);
    expect(await json("migrate")).toEqual({ applied: [] });
  });

  it("env create --json prints {id, name, token} and agent create --json prints {id, environment_id, name}", async () => {
    const env = await json("env", "create", "--name", "Production");
    expect(Object.keys(env).sort()).toEqual(["id", "name", "token"]);
    expect(env.name).toBe("Production");
    expect(env.token).toMatch(/^talq_[0-9A-Za-z]{40}$/);
    const agent = await json("agent", "create", "--environment", env.id, "--name", "Support line");
    expect(agent).toEqual({ id: expect.any(String), environment_id: env.id, name: "Support line" });

    const envs = await json("env", "list");
    expect(envs.map((e: any) => e.id)).toContain(env.id);
    expect(JSON.stringify(envs)).not.toContain(env.token);
    const agents = await json("agent", "list", "--environment", env.id);
    expect(agents).toEqual([agent]);
  });

  it("token rotate prints a new token", async () => {
    const env = await json("env", "create", "--name", "Rotating");
    const rotated = await json("token", "rotate", "--environment", env.id);
    expect(rotated.id).toBe(env.id);
    expect(rotated.token).toMatch(/^talq_/);
    expect(rotated.token).not.toBe(env.token);
  });

  it("emit queues an event for an agent and is idempotent by key", async () => {
    const env = await json("env", "create", "--name", "Emitting");
    const agent = await json("agent", "create", "--environment", env.id, "--name", "A");
    const args = ["emit", "--agent", agent.id, "--event", "event_phone_call_ended", "--data", '{"call_id":"c1","duration":45}', "--idempotency-key", "k1"];
    const first = await json(...args);
    expect(first).toEqual({ event_id: expect.any(String), deliveries_queued: 0, replayed: false });
    expect(await json(...args)).toEqual({ event_id: first.event_id, deliveries_queued: 0, replayed: true });
  });

  it("bad usage exits 2 with a message, never a stack trace", async () => {
    const failure = await run(process.execPath, [BIN, "agent", "create", "--name", "x"], { env: { ...process.env, DATABASE_URL: database.url } }).catch((e) => e);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("--environment is required");
    const unknown = await run(process.execPath, [BIN, "emit", "--agent", "a", "--event", "event_nope"], { env: { ...process.env, DATABASE_URL: database.url } }).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown event "event_nope"');
  });
});

describe("npm start on an empty database", () => {
  it("creates a demo environment and agent and prints a curl that creates a webhook", async () => {
    const database = await freshDatabaseUrl("sqlite");
    const child = spawn(process.execPath, [BIN, "serve"], {
      env: { ...process.env, DATABASE_URL: database.url, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      const curl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no curl printed:\n${output}`)), 60_000);
        child.stdout.on("data", (chunk) => {
          output += chunk;
          const match = /curl -X POST[\s\S]*?-d '(\{.*\})'/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[0]);
          }
        });
        child.once("exit", (code) => reject(new Error(`server exited ${code}:\n${output}`)));
      });
      // Run the printed command's parts as curl would send them.
      const url = /curl -X POST '([^']+)'/.exec(curl)![1]!;
      const authorization = /-H 'Authorization: ([^']+)'/.exec(curl)![1]!;
      const body = /-d '(\{.*\})'/.exec(curl)![1]!;
      const response = await fetch(url, { method: "POST", headers: { authorization, "content-type": "application/json" }, body });
      expect(response.status).toBe(201);
      const created = (await response.json()) as any;
      expect(created).toMatchObject({ success: true, message: "Webhook created successfully", data: { name: "My Webhook", status: "active" } });

      // SIGTERM is a graceful stop.
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
      await database.drop();
    }
  }, 90_000);
});
