// 5. Memory with a backlog: N pending deliveries (default 200,000; the target speaks of 1 M, scaled down to
// fit the run's time budget: the fill and the run grow linearly, the worker's memory must not) bound for a
// receiver that is down (a free loopback port nobody listens on: every attempt is refused, fails and is
// rescheduled). A fresh worker process then runs the production DeliveryWorker for a while and samples its
// own RSS every second; flat means the queue stays in the database.
//
//   node --conditions=talkover-source --import tsx bench/delivery/memory.ts [--backlog 200000] [--seconds 20] [--concurrency 64]   → RESULT {…}
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { freePort } from "../../client/mock.js";
import { createAgent } from "../../server/storage/agents.js";
import { openDatabase } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { logCountsFillSql } from "../../server/storage/migrations.js";
import { createWebhook } from "../../server/storage/webhooks.js";
import { CALL_ENDED_DATA, samplePayload, WEBHOOK_SECRET } from "../lib/fixtures.js";
import { announceResult, cleanupAll, isMain, makeTempDir, parseArgs, removeTempDir, runTs } from "../lib/proc.js";
import { round } from "../lib/stats.js";
import type { MemoryRun } from "./memory-worker.js";
import { agentOwner } from "../../server/storage/owner.js";

export interface MemoryOptions {
  backlog: number;
  seconds: number;
  concurrency: number;
  log?: (line: string) => void;
}

export interface MemoryResult extends MemoryRun {
  backlog: number;
  fillSeconds: number;
  note: string;
}

/**
 * What recordEvent writes for each event (an event row, a pending delivery due now, its first log row, and the
 * webhook's logs_total and log_counts, the latter by migration 0007's own statements), in one transaction of
 * prepared statements on the raw file.
 */
function fillBacklog(file: string, input: { agentId: string; webhookId: string; deliveries: number; now: number }): void {
  const db = new BetterSqlite3(file);
  try {
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144");
    const event = db.prepare(
      "INSERT INTO events (id, agent_id, event, data, occurred_at, idempotency_key, created_at) VALUES (?, ?, 'event_phone_call_ended', ?, ?, NULL, ?)",
    );
    const delivery = db.prepare(
      `INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, next_attempt_at, lease_owner, lease_expires_at, current_log_id, created_at, updated_at)
       VALUES (?, ?, ?, 'pending', 0, ?, NULL, NULL, ?, ?, ?)`,
    );
    const logRow = db.prepare(
      `INSERT INTO logs (id, webhook_id, delivery_id, event, attempt, status, http_status, request_payload, response_body, response_headers, error, duration_ms, delivered_at, created_at)
       VALUES (?, ?, ?, 'event_phone_call_ended', 1, 'pending', NULL, ?, NULL, NULL, NULL, NULL, NULL, ?)`,
    );
    const data = JSON.stringify(CALL_ENDED_DATA);
    const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
    // UUIDv7-shaped ids: the time, then a kind digit and a counter, unique within the file.
    const id = (ms: number, kind: number, i: number) => {
      const t = hex(ms, 12);
      return `${t.slice(0, 8)}-${t.slice(8)}-7${hex(kind, 3)}-8000-${hex(i, 12)}`;
    };
    db.transaction(() => {
      for (let i = 0; i < input.deliveries; i++) {
        // Spread over the last N ms so that "longest due first" has an order to follow.
        const at = input.now - input.deliveries + i;
        const eventId = id(at, 1, i);
        const deliveryId = id(at, 2, i);
        const logId = id(at, 3, i);
        event.run(eventId, input.agentId, data, at, at);
        delivery.run(deliveryId, eventId, input.webhookId, at, logId, at, at);
        logRow.run(logId, input.webhookId, deliveryId, samplePayload({ deliveryId, eventId, agentId: input.agentId, occurredAt: at }), at);
      }
      db.prepare("UPDATE webhooks SET logs_total = logs_total + ? WHERE id = ?").run(input.deliveries, input.webhookId);
      for (const statement of logCountsFillSql(true)) db.prepare(statement).run(input.webhookId);
    })();
    db.pragma("journal_mode = WAL");
  } finally {
    db.close();
  }
}

export async function runMemory(options: MemoryOptions): Promise<MemoryResult> {
  const log = options.log ?? (() => {});
  const dir = makeTempDir("talkover-bench-memory-");
  try {
    const file = join(dir, "talkover.db");
    const deadPort = await freePort(); // nobody listens here: every attempt is refused
    const database = await openDatabase(file);
    const environment = await createEnvironment(database, { name: "Bench" });
    const agent = await createAgent(database, { environmentId: environment.id, name: "Bench agent" });
    const webhook = await createWebhook(database, agentOwner(agent.id), {
      name: "Receiver that is down",
      webhookUrl: `http://127.0.0.1:${deadPort}/hook`,
      webhookSecret: WEBHOOK_SECRET,
      events: ["event_phone_call_ended"],
      timeout: 30,
      maxRetries: 10,
      enabled: true,
    });
    await database.close();
    const started = performance.now();
    fillBacklog(file, { agentId: agent.id, webhookId: webhook.id, deliveries: options.backlog, now: Date.now() });
    const fillSeconds = round((performance.now() - started) / 1000, 2);
    log(`backlog of ${options.backlog.toLocaleString("en")} pending deliveries written in ${fillSeconds} s; worker runs ${options.seconds} s against a refused port`);

    const run = await runTs<MemoryRun>("delivery/memory-worker.ts", {
      args: ["--db", file, "--seconds", String(options.seconds), "--concurrency", String(options.concurrency)],
    });
    log(
      `RSS first ${run.rssMB.first} MB, max ${run.rssMB.max} MB, last ${run.rssMB.last} MB; ${run.attemptsRecorded.toLocaleString("en")} failed attempts recorded, ` +
        `${run.pendingAfter.toLocaleString("en")} deliveries still pending`,
    );
    return {
      backlog: options.backlog,
      fillSeconds,
      ...run,
      note:
        `Backlog scaled down from the target's 1,000,000 to ${options.backlog.toLocaleString("en")} to fit the run's time budget ` +
        `(writing it takes ≈ ${fillSeconds} s here and grows linearly); the worker reads the queue ${options.concurrency} at a time, ` +
        `so its memory does not depend on the backlog's size.`,
    };
  } finally {
    removeTempDir(dir);
  }
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  try {
    const result = await runMemory({
      backlog: Number(args.backlog ?? 200_000),
      seconds: Number(args.seconds ?? 20),
      concurrency: Number(args.concurrency ?? 64),
      log: (l) => console.error(l),
    });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
