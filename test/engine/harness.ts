// Shared pieces of the engine tests: the per-test set-up (a server and receivers), a poll helper, a
// controllable clock for the engine, and shortcuts over a test server's API (create a webhook, hand it an
// event, read its logs), for the agent's webhooks and the campaign's.
import { afterEach, beforeEach } from "vitest";
import { SERVICE_TOKEN, startTestServer, type TestServer } from "../support/server.js";
import type { Config } from "../../server/config.js";
import type { Dialect } from "../../server/storage/db.js";
import type { StartOptions } from "../../server/server.js";
import { startReceiver, type Receiver } from "./receiver.js";
import { campaignDeliveryExample, deliveryExample } from "../../server/spec.js";

/** Polls `check` until it returns a truthy value (returned) or throws after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`waitFor: ${what} not reached within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The engine's clock: real time plus an offset the test moves. The worker claims due deliveries and
 * schedules retries with it, so advancing it past a retry's delay makes the retry due at once.
 * Advance it only while no attempt is in flight (after the last attempt's log row left `pending`):
 * a jump past the lease would let the worker claim an in-flight delivery again.
 */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
  /** The current time, without counting as a read. */
  peek(): number;
  /** How many times now() was called: the worker calls it once per claim. */
  readonly calls: number;
  /**
   * Resolves once the engine has read the clock `n` more times: with nothing in flight, the worker's loop
   * (one read per claim) has then gone round at least n − 1 times with the current time. Used to show
   * that something did NOT become due, without a fixed sleep.
   */
  workerCycles(n?: number): Promise<void>;
}

export function testClock(): TestClock {
  let offset = 0;
  let calls = 0;
  return {
    now: () => {
      calls++;
      return Date.now() + offset;
    },
    advance(ms) {
      offset += ms;
    },
    peek: () => Date.now() + offset,
    get calls() {
      return calls;
    },
    async workerCycles(n = 4) {
      const start = calls;
      await waitFor(() => calls - start >= n, 10_000, `${n} worker cycles`);
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A valid `event_phone_call_ended` data object: the example of its delivery in openapi.yaml. */
export const CALL_ENDED_DATA = deliveryExample("event_phone_call_ended").data;

/** Shortcuts over one owner's webhooks (the agent's, or the campaign's). */
export interface OwnerShortcuts {
  createWebhook(fields: Record<string, unknown> & { webhook_url: string }): Promise<any>;
  /** POST …/events with the service token; returns the response's `data`. */
  ingest(body?: Record<string, unknown>): Promise<{ event_id: string; deliveries_queued: number; replayed: boolean }>;
  /** All log rows of a webhook, newest first (per_page 100, first page), and the pagination. */
  logs(webhookId: string, query?: string): Promise<{ data: any[]; pagination: any }>;
  /** Waits until the webhook's log rows (newest first) satisfy `predicate`; returns them. */
  logsUntil(webhookId: string, predicate: (logs: any[]) => boolean, timeoutMs?: number): Promise<any[]>;
  /** Waits until the webhook has exactly `count` log rows, none `pending`; returns them oldest attempt first. */
  settledLogs(webhookId: string, count: number, timeoutMs?: number): Promise<any[]>;
  webhook(webhookId: string): Promise<any>;
}

export interface EngineTestServer extends TestServer, OwnerShortcuts {
  clock: TestClock;
  /** The same over the test campaign's webhooks: its events by default `campaign.started`. */
  campaign: OwnerShortcuts;
}

/** A valid `campaign.started` data object: the example of its delivery in openapi.yaml. */
export const CAMPAIGN_STARTED_DATA = campaignDeliveryExample("campaign.started").data;

export async function startEngineServer(
  dialect: Dialect,
  options: { config?: Partial<Config>; engine?: StartOptions["engine"] } = {},
): Promise<EngineTestServer> {
  const clock = testClock();
  const t = await startTestServer(dialect, {
    config: options.config,
    engine: { now: clock.now, worker: { pollIntervalMs: 25 }, ...options.engine },
  });
  const ok = (response: { status: number; text: string }, expected: number, what: string) => {
    if (response.status !== expected) throw new Error(`${what}: expected ${expected}, got ${response.status} ${response.text}`);
  };

  const shortcuts = (base: string, intake: string, defaults: Record<string, unknown>, events: string[]): OwnerShortcuts => {
    const owner: OwnerShortcuts = {
      async createWebhook(fields) {
        const response = await t.api(`${base}/webhooks`, { method: "POST", body: { name: "Engine test", events, ...fields } });
        ok(response, 201, "create webhook");
        return response.body.data;
      },
      async ingest(body = {}) {
        const response = await t.api(intake, { method: "POST", token: SERVICE_TOKEN, body: { ...defaults, ...body } });
        ok(response, 202, "ingest");
        return response.body.data;
      },
      async logs(webhookId, query = "per_page=100") {
        const response = await t.api(`${base}/webhooks/${webhookId}/logs?${query}`);
        ok(response, 200, "list logs");
        return response.body;
      },
      async logsUntil(webhookId, predicate, timeoutMs = 15_000) {
        let last: any[] = [];
        try {
          return await waitFor(
            async () => {
              last = (await owner.logs(webhookId)).data;
              return predicate(last) ? last : undefined;
            },
            timeoutMs,
            "log rows",
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}; last rows: ${JSON.stringify(last.map(summary))}`);
        }
      },
      async settledLogs(webhookId, count, timeoutMs) {
        const rows = await owner.logsUntil(webhookId, (data) => data.length === count && data.every((l) => l.status !== "pending"), timeoutMs);
        return byAttempt(rows);
      },
      async webhook(webhookId) {
        const response = await t.api(`${base}/webhooks/${webhookId}`);
        ok(response, 200, "show webhook");
        return response.body.data;
      },
    };
    return owner;
  };

  return {
    ...t,
    clock,
    ...shortcuts(
      `/api/v1/agents/${t.agentId}`,
      `/internal/v1/agents/${t.agentId}/events`,
      { event: "event_phone_call_ended", data: CALL_ENDED_DATA },
      ["event_phone_call_ended"],
    ),
    campaign: shortcuts(
      `/api/v1/campaigns/${t.campaignId}`,
      `/internal/v1/campaigns/${t.campaignId}/events`,
      { event: "campaign.started", data: CAMPAIGN_STARTED_DATA },
      ["campaign.started"],
    ),
  };
}

/** The statuses of a webhook's deliveries (pending, success, failed, cancelled), read from the database. */
export async function deliveryStatuses(t: EngineTestServer, webhookId: string): Promise<string[]> {
  const rows = await t.server.database.db.selectFrom("deliveries").select("status").where("webhook_id", "=", webhookId).execute();
  return rows.map((r) => r.status);
}

/** Oldest first, for reading attempts in order. */
export function byAttempt(logs: any[]): any[] {
  return [...logs].sort((a, b) => a.attempt - b.attempt || a.created_at.localeCompare(b.created_at));
}

function summary(log: any) {
  return { attempt: log.attempt, event: log.event, status: log.status, http_status: log.http_status, error: log.error };
}

/**
 * The engine tests' set-up, for a describe block: before each test a fresh engine server, handed to
 * `started` with a way to start receivers; after it, the server stopped and every receiver closed.
 *
 *   let t: EngineTestServer;
 *   let receiver: Receiver;
 *   engineTests(dialect, async (server, newReceiver) => {
 *     t = server;
 *     receiver = await newReceiver();
 *   });
 */
export function engineTests(
  dialect: Dialect,
  started: (server: EngineTestServer, newReceiver: () => Promise<Receiver>) => void | Promise<void>,
  options: Parameters<typeof startEngineServer>[1] = {},
): { newReceiver: () => Promise<Receiver> } {
  let server: EngineTestServer | undefined;
  const receivers: Receiver[] = [];
  const newReceiver = async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    return receiver;
  };
  beforeEach(async () => {
    server = await startEngineServer(dialect, options);
    await started(server, newReceiver);
  });
  afterEach(async () => {
    await server?.stop();
    for (const receiver of receivers.splice(0)) await receiver.close();
  });
  return { newReceiver };
}
