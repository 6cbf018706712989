// Fills one webhook's attempt log with N rows straight into the SQLite file: raw better-sqlite3, one
// transaction, one prepared statement, and webhooks.logs_total bumped and the webhook's log_counts filled (by
// migration 0007's own statements) in the same transaction so the listing's `total`, filtered or not, stays right. Rows are delivered attempts (status success, a real ≈ 500-byte event body
// and the receiver's answer), created one every 250 ms up to now: newest first is insertion order reversed,
// all inside the 30-day retention so the server's start-up purge leaves them alone. delivery_id is NULL
// (as for test-endpoint rows) so that no deliveries/events rows are needed: the listing never reads them.
// fillFailedDeliveries writes deliveries too: N whose one attempt failed, for a recovery (bench/delivery/recovery.ts).
//
//   node --conditions=talkover-source --import tsx bench/api/fill-logs.ts <sqlite file> <webhook id> <agent id> <rows>
import BetterSqlite3 from "better-sqlite3";
import { randomBytes, randomUUID } from "node:crypto";
import { logCountsFillSql } from "../../server/storage/migrations.js";
import { toApiTimestamp } from "../../server/storage/time.js";
import { RECEIVER_RESPONSE_BODY, RECEIVER_RESPONSE_HEADERS, samplePayload } from "../lib/fixtures.js";
import { announceResult, isMain } from "../lib/proc.js";
import { round } from "../lib/stats.js";

export const FILL_STEP_MS = 250;
const DELIVERED = { status: "success", event: "event_phone_call_ended" };

/**
 * A UUIDv7 of `ms` (the server's newId() would stamp them all "now": it never goes back in time). The
 * low bits come from a counter over random bytes, so ids of one run are unique and ascending.
 */
function uuidV7(ms: number, seq: number, random: Buffer): string {
  const time = ms.toString(16).padStart(12, "0");
  const tail = (random.readUInt32BE(0) + seq).toString(16).padStart(8, "0").slice(-8);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.toString("hex", 4, 6).slice(1)}-${(0x8000 | (seq >>> 16 & 0x3fff)).toString(16)}-${random.toString("hex", 6, 8)}${tail}`;
}

/**
 * The event body of samplePayload() with the ids and time cut out: building 1 M bodies by concatenation
 * instead of JSON.stringify saves seconds, and the bytes are the same.
 */
function payloadTemplate(agentId: string): (id: string, occurredAt: number) => string {
  const ID = "@@ID@@";
  const AT = "@@AT@@";
  const text = samplePayload({ deliveryId: ID, eventId: ID, agentId, occurredAt: 0 }).replace(JSON.stringify(toApiTimestamp(0)), `"${AT}"`);
  const [a, b, c, d] = text.split(new RegExp(`${ID}|${AT}`));
  if (d === undefined) throw new Error("unexpected payload template");
  return (id, occurredAt) => a + id + b + id + c + toApiTimestamp(occurredAt) + d;
}

/**
 * Runs `fill` on the file in one transaction without a journal (it either completes or leaves a benchmark's
 * throwaway file broken), then recounts the webhook's log_counts by migration 0007's own statements and puts
 * the file back in WAL mode. Call with the file closed by every other connection.
 */
function bulkFill(file: string, webhookId: string, fill: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(file);
  try {
    // WAL would write every page twice (log, then checkpoint): a throwaway bulk load needs neither.
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144"); // 256 MiB for this bulk write only
    db.transaction(() => {
      fill(db);
      db.prepare("DELETE FROM log_counts WHERE webhook_id = ?").run(webhookId);
      for (const statement of logCountsFillSql(true)) db.prepare(statement).run(webhookId);
    })();
    db.pragma("journal_mode = WAL");
  } finally {
    db.close();
  }
}

function bumpLogsTotal(db: BetterSqlite3.Database, webhookId: string, rows: number): void {
  const changed = db.prepare("UPDATE webhooks SET logs_total = logs_total + ? WHERE id = ?").run(rows, webhookId).changes;
  if (changed !== 1) throw new Error(`webhook ${webhookId} not found`);
}

export function fillLogs(
  file: string,
  input: {
    webhookId: string;
    agentId: string;
    rows: number;
    now?: number;
    /** Row i's status and event (default: every row a delivered event_phone_call_ended); the body stays the same. */
    shape?: (i: number) => { status: string; event: string };
  },
): { rows: number; seconds: number } {
  const started = performance.now();
  const now = input.now ?? Date.now();
  const payload = payloadTemplate(input.agentId);
  bulkFill(file, input.webhookId, (db) => {
    const insert = db.prepare(
      `INSERT INTO logs (id, webhook_id, delivery_id, event, attempt, status, http_status, request_payload,
         response_body, response_headers, error, duration_ms, delivered_at, created_at)
       VALUES (?, ?, NULL, ?, 1, ?, 200, ?, ?, ?, NULL, ?, ?, ?)`,
    );
    const shape = input.shape ?? (() => DELIVERED);
    const first = now - input.rows * FILL_STEP_MS;
    const random = randomBytes(8);
    for (let i = 0; i < input.rows; i++) {
      const createdAt = first + i * FILL_STEP_MS;
      const id = uuidV7(createdAt, i, random);
      const { status, event } = shape(i);
      insert.run(id, input.webhookId, event, status, payload(id, createdAt - 40), RECEIVER_RESPONSE_BODY, RECEIVER_RESPONSE_HEADERS, 3, createdAt + 3, createdAt);
    }
    bumpLogsTotal(db, input.webhookId, input.rows);
  });
  return { rows: input.rows, seconds: round((performance.now() - started) / 1000, 2) };
}

/**
 * N deliveries of the webhook whose one attempt failed (its receiver answered 500, no retry left), one every
 * 250 ms up to now, each with its `failed` log row: what a recovery queues again. No events rows: sending
 * never reads them.
 */
export function fillFailedDeliveries(file: string, input: { webhookId: string; agentId: string; rows: number; now?: number }): { rows: number; seconds: number } {
  const started = performance.now();
  const now = input.now ?? Date.now();
  const payload = payloadTemplate(input.agentId);
  bulkFill(file, input.webhookId, (db) => {
    const delivery = db.prepare(
      `INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, next_attempt_at, lease_owner, lease_expires_at,
         current_log_id, created_at, updated_at)
       VALUES (?, ?, ?, 'failed', 1, ?, NULL, NULL, ?, ?, ?)`,
    );
    const log = db.prepare(
      `INSERT INTO logs (id, webhook_id, delivery_id, event, attempt, status, http_status, request_payload,
         response_body, response_headers, error, duration_ms, delivered_at, created_at)
       VALUES (?, ?, ?, 'event_phone_call_ended', 1, 'failed', 500, ?, '{"error":"unavailable"}', ?, NULL, 3, ?, ?)`,
    );
    const first = now - input.rows * FILL_STEP_MS;
    const random = randomBytes(8);
    for (let i = 0; i < input.rows; i++) {
      const createdAt = first + i * FILL_STEP_MS;
      const deliveryId = uuidV7(createdAt, 2 * i, random);
      const logId = uuidV7(createdAt, 2 * i + 1, random);
      delivery.run(deliveryId, randomUUID(), input.webhookId, createdAt, logId, createdAt, createdAt + 3);
      log.run(logId, input.webhookId, deliveryId, payload(deliveryId, createdAt - 40), RECEIVER_RESPONSE_HEADERS, createdAt + 3, createdAt);
    }
    bumpLogsTotal(db, input.webhookId, input.rows);
  });
  return { rows: input.rows, seconds: round((performance.now() - started) / 1000, 2) };
}

if (isMain(import.meta.url)) {
  const [file, webhookId, agentId, rows] = process.argv.slice(2);
  if (!file || !webhookId || !agentId || !rows) {
    console.error("usage: node --conditions=talkover-source --import tsx bench/api/fill-logs.ts <sqlite file> <webhook id> <agent id> <rows>");
    process.exit(2);
  }
  announceResult(fillLogs(file, { webhookId, agentId, rows: Number(rows) }));
}
