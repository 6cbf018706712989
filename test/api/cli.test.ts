// The admin CLI against SQLite and PostgreSQL. What a command does is tested through the CLI's `main()` in
// this process; what the process does (the bin starts and finds the database, prints one JSON document,
// exits 2 with a message on bad usage, `serve` prints a demo and stops on SIGTERM) by running
// `node server/bin/talkover-webhooks.js …` as users do. Such a process loads the TypeScript sources through tsx,
// ≈ 1.5 s at rest and over 10 s on a busy 2-core machine: so each test starts at most one, with a timeout
// sized for that.
import { execFile, spawn } from "node:child_process";
import { format, promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main, UsageError } from "../../server/cli.js";
import { openDatabase } from "../../server/storage/db.js";
import { agentOwner, campaignOwner, type Owner } from "../../server/storage/owner.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { claimDueDeliveries } from "../../server/storage/queue/claim.js";
import { recordAttempts } from "../../server/storage/queue/record-attempts.js";
import { freshDatabaseUrl } from "../support/databases.js";

const run = promisify(execFile);
const BIN = "server/bin/talkover-webhooks.js";
/** Time allowed per CLI process a test starts: twenty times its cost at rest, for a loaded 2-core machine. */
const PER_PROCESS_MS = 30_000;

describe.each(["sqlite", "postgres"] as const)("the CLI on %s", (dialect) => {
  let database: { url: string; drop(): Promise<void> };
  /** `talkover-webhooks …` as a process; its stdout. */
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: "silent" } });
    return stdout;
  };
  /** The same command through `main()` in this process, with the same environment; its stdout. */
  const command = async (...args: string[]) => {
    const stdout: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void stdout.push(format(...parts) + "\n"));
    vi.stubEnv("DATABASE_URL", database.url);
    vi.stubEnv("LOG_LEVEL", "silent");
    try {
      expect(await main(args)).toBe(0);
    } finally {
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    return stdout.join("");
  };
  const json = async (...args: string[]) => JSON.parse(await command(...args, "--json"));
  /** The UsageError `main()` throws for a command; the bin turns it into exit 2 (tested below). */
  const usageError = async (...args: string[]) => {
    vi.stubEnv("DATABASE_URL", database.url);
    vi.stubEnv("LOG_LEVEL", "silent");
    const error = await main(args)
      .then(() => undefined, (e: unknown) => e)
      .finally(() => vi.unstubAllEnvs());
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  };
  /** A webhook made in storage, as the API would: `emit` then counts the deliveries it queues for it. */
  const webhookOf = async (owner: Owner, events: string[], includeCallEvents = false) => {
    const opened = await openDatabase(database.url);
    try {
      const input = { name: "hook", webhookUrl: "https://example.com/hook", webhookSecret: null, events, timeout: 30, maxRetries: 0, enabled: true };
      return await createWebhook(opened, owner, { ...input, includeCallEvents });
    } finally {
      await opened.close();
    }
  };

  beforeAll(async () => {
    database = await freshDatabaseUrl(dialect);
  });
  afterAll(() => database?.drop());

  it("migrate applies the migrations once, then reports the database up to date", async () => {
    // The first as a process: the bin starts, reads DATABASE_URL and prints one JSON document.
    const first = JSON.parse(await cli("migrate", "--json"));
    expect(first.applied.length).toBeGreaterThan(0);
    expect(await json("migrate")).toEqual({ applied: [] });
  }, PER_PROCESS_MS + 10_000);

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

  it("campaign create --json prints {id, environment_id, name, agent_id}; campaign list lists them oldest first", async () => {
    const env = await json("env", "create", "--name", "Campaigns");
    const agent = await json("agent", "create", "--environment", env.id, "--name", "Dialler");
    const renewals = await json("campaign", "create", "--environment", env.id, "--name", "September renewals", "--agent", agent.id);
    expect(renewals).toEqual({ id: expect.any(String), environment_id: env.id, name: "September renewals", agent_id: agent.id });
    const unassigned = await json("campaign", "create", "--environment", env.id, "--name", "No agent yet");
    expect(unassigned).toEqual({ id: expect.any(String), environment_id: env.id, name: "No agent yet", agent_id: null });

    expect(await json("campaign", "list", "--environment", env.id)).toEqual([renewals, unassigned]);
    expect((await json("campaign", "list")).map((c: any) => c.id)).toEqual(expect.arrayContaining([renewals.id, unassigned.id]));
    // Without --json, a line for people.
    expect(await command("campaign", "create", "--environment", env.id, "--name", "Winback", "--agent", agent.id)).toMatch(
      new RegExp(`^campaign \\S+ \\(Winback\\) of agent ${agent.id}\\n$`),
    );
    expect(await command("campaign", "list", "--environment", env.id)).toContain(`${renewals.id}  ${env.id}  ${agent.id}  September renewals`);
  });

  it("campaign create refuses an unknown environment and an agent of another environment", async () => {
    const env = await json("env", "create", "--name", "Home");
    const other = await json("env", "create", "--name", "Elsewhere");
    const foreign = await json("agent", "create", "--environment", other.id, "--name", "Not ours");
    expect(await usageError("campaign", "create", "--environment", env.id, "--name", "x", "--agent", foreign.id)).toBe(`no agent ${foreign.id} in environment ${env.id}`);
    expect(await usageError("campaign", "create", "--environment", "env_nope", "--name", "x")).toBe("no environment env_nope");
    expect(await usageError("campaign", "create", "--environment", env.id)).toBe("--name is required");
    // Names are delivered (a test delivery's agent_name, a template's campaign.name): one line, at most 255.
    expect(await usageError("campaign", "create", "--environment", env.id, "--name", "n".repeat(256))).toBe("--name must be one line of at most 255 characters");
    expect(await usageError("agent", "create", "--environment", env.id, "--name", "two\nlines")).toBe("--name must be one line of at most 255 characters");
    expect(await json("campaign", "list", "--environment", env.id)).toEqual([]);
  });

  it("emit --campaign queues a campaign event for the campaign's webhooks, idempotent by key per campaign", async () => {
    const env = await json("env", "create", "--name", "Campaign events");
    const agent = await json("agent", "create", "--environment", env.id, "--name", "A");
    const campaign = await json("campaign", "create", "--environment", env.id, "--name", "C", "--agent", agent.id);
    await webhookOf(campaignOwner(campaign.id), ["campaign.started", "campaign.completed"]);
    await webhookOf(agentOwner(agent.id), ["event_phone_call_ended"]);

    const args = ["emit", "--campaign", campaign.id, "--event", "campaign.started", "--data", '{"name":"C","status":"running"}', "--idempotency-key", "k1"];
    const first = await json(...args);
    expect(first).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });
    expect(await json(...args)).toEqual({ event_id: first.event_id, deliveries_queued: 0, replayed: true });
    // The same key on the campaign's agent is the agent's own event, not a replay of the campaign's.
    const agentEvent = await json("emit", "--agent", agent.id, "--event", "event_phone_call_ended", "--data", '{"call_id":"c1"}', "--idempotency-key", "k1");
    expect(agentEvent).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });
    expect(agentEvent.event_id).not.toBe(first.event_id);
    // No webhook of the campaign subscribes to campaign.paused.
    expect(await json("emit", "--campaign", campaign.id, "--event", "campaign.paused", "--data", "{}")).toMatchObject({ deliveries_queued: 0, replayed: false });

    // The campaign catalogue: an agent event is not a campaign event.
    expect(await usageError("emit", "--campaign", campaign.id, "--event", "event_phone_call_ended")).toMatch(
      /^unknown campaign event "event_phone_call_ended"; one of: campaign\.created, campaign\.started, .*event_call_report$/,
    );
    expect(await usageError("emit", "--campaign", "campaign_nope", "--event", "campaign.started")).toBe("no campaign campaign_nope");
    expect(await usageError("emit", "--event", "campaign.started")).toBe("--agent or --campaign is required");
  });

  it("emit --agent --campaign hands over an agent event of a call in the campaign: its call-event webhooks receive it too", async () => {
    const env = await json("env", "create", "--name", "Campaign calls");
    const agent = await json("agent", "create", "--environment", env.id, "--name", "A");
    const campaign = await json("campaign", "create", "--environment", env.id, "--name", "C", "--agent", agent.id);
    await webhookOf(agentOwner(agent.id), ["event_phone_call_ended"]);
    await webhookOf(campaignOwner(campaign.id), ["campaign.completed"], true);
    await webhookOf(campaignOwner(campaign.id), ["campaign.completed"], false);

    const data = '{"call_id":"c1","duration":45}';
    const inCampaign = await json("emit", "--agent", agent.id, "--campaign", campaign.id, "--event", "event_phone_call_ended", "--data", data);
    expect(inCampaign).toEqual({ event_id: expect.any(String), deliveries_queued: 2, replayed: false });
    const outside = await json("emit", "--agent", agent.id, "--event", "event_phone_call_ended", "--data", data);
    expect(outside).toEqual({ event_id: expect.any(String), deliveries_queued: 1, replayed: false });

    // The agent catalogue still decides, and the campaign must be of the agent's environment.
    expect(await usageError("emit", "--agent", agent.id, "--campaign", campaign.id, "--event", "campaign.started")).toContain('unknown event "campaign.started"');
    const other = await json("env", "create", "--name", "Elsewhere");
    const foreign = await json("campaign", "create", "--environment", other.id, "--name", "Not ours");
    expect(await usageError("emit", "--agent", agent.id, "--campaign", foreign.id, "--event", "event_phone_call_ended")).toBe(
      `campaign ${foreign.id} is not of agent ${agent.id}'s environment`,
    );
  });

  it("recover queues a webhook's failed deliveries of the range again, with the API's rules", async () => {
    const env = await json("env", "create", "--name", "Recovering");
    const agent = await json("agent", "create", "--environment", env.id, "--name", "A");
    const webhook = await webhookOf(agentOwner(agent.id), ["event_phone_call_ended"]);
    const since = new Date(Date.now() - 60_000).toISOString();
    for (const key of ["r1", "r2"]) await json("emit", "--agent", agent.id, "--event", "event_phone_call_ended", "--data", "{}", "--idempotency-key", key);
    // Both sent once and failed (max_retries 0), as a worker would record them.
    const opened = await openDatabase(database.url);
    try {
      const claimed = await claimDueDeliveries(opened, { owner: "cli-test", limit: 1_000, leaseMs: 30_000, now: Date.now() });
      // The database is shared with the tests above: their deliveries are claimed too, and recorded as failed alike.
      expect(claimed.filter((d) => d.webhookId === webhook.id)).toHaveLength(2);
      const outcomes = claimed.map((d) => ({ deliveryId: d.deliveryId, logId: d.logId, webhookId: d.webhookId, status: "failed" as const, httpStatus: 500, durationMs: 5 }));
      await recordAttempts(opened, { owner: "cli-test", outcomes, now: Date.now() });
    } finally {
      await opened.close();
    }

    expect(await json("recover", "--webhook", webhook.id, "--since", since)).toEqual({ deliveries_queued: 2 });
    const check = await openDatabase(database.url);
    try {
      const rows = await check.db.selectFrom("logs").select(["attempt", "status"]).where("webhook_id", "=", webhook.id).orderBy("attempt").execute();
      expect(rows.map((l) => [l.attempt, l.status])).toEqual([[1, "failed"], [1, "failed"], [2, "pending"], [2, "pending"]]);
    } finally {
      await check.close();
    }
    expect(await json("recover", "--webhook", webhook.id, "--since", since)).toEqual({ deliveries_queued: 0 });

    expect(await usageError("recover", "--webhook", webhook.id)).toBe("--since is required");
    expect(await usageError("recover", "--webhook", webhook.id, "--since", new Date(Date.now() + 60_000).toISOString())).toBe(
      "The since field must be a date before now.",
    );
    expect(await usageError("recover", "--webhook", webhook.id, "--since", since, "--until", "soon")).toBe("The until field must be a valid date-time.");
    expect(await usageError("recover", "--webhook", "00000000-0000-7000-8000-000000000000", "--since", since)).toBe(
      "no webhook 00000000-0000-7000-8000-000000000000",
    );
  });

  it("bad usage exits 2 with a message, never a stack trace", async () => {
    const failure = await run(process.execPath, [BIN, "agent", "create", "--name", "x"], { env: { ...process.env, DATABASE_URL: database.url } }).catch((e) => e);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("--environment is required");
    expect(failure.stderr).not.toMatch(/^\s+at /m);
    // Every command reports bad usage the same way, as a UsageError, which the bin turns into that exit.
    expect(await usageError("emit", "--agent", "a", "--event", "event_nope")).toContain('unknown event "event_nope"');
  }, PER_PROCESS_MS + 10_000);
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
