// Outcomes: the worker records a batch of attempts in one transaction (log rows, next attempts, deliveries,
// the webhooks' failure streaks and log counts).
import { executeWithValues } from "../bulk.js";
import type { Database } from "../db.js";
import { inTransaction } from "../db.js";
import { forUpdate, fromDbBoolean, toJsonText } from "../dialect.js";
import { newId } from "../ids.js";
import { idIn, named } from "../named-statements.js";
import type { AttemptResult } from "../logs.js";
import type { LogStatus } from "../schema.js";
import { LogCountDeltas, writeLogCounts, type CountedLogRow } from "./log-counts.js";
import { queueNextAttempts } from "./pending-log-row.js";
import { lockWebhooksInOrder } from "./webhook-counters.js";

const CLOSE_ATTEMPTS =
  "UPDATE logs SET status = r.status, http_status = r.http_status, response_body = r.response_body, " +
  "response_headers = r.response_headers, error = r.error, duration_ms = r.duration_ms, delivered_at = r.delivered_at " +
  // Only a pending row is closed (a leased delivery's current row always is): its old status is then known,
  // and the rows returned are exactly those whose counts move (pending → the outcome).
  "FROM r WHERE logs.id = r.id AND logs.status = 'pending' RETURNING logs.webhook_id, logs.event, logs.created_at, logs.status";

const MOVE_DELIVERIES =
  "UPDATE deliveries SET status = t.status, attempts = deliveries.attempts + 1, " +
  "next_attempt_at = COALESCE(t.next_attempt_at, deliveries.next_attempt_at), current_log_id = t.current_log_id, " +
  "lease_owner = NULL, lease_expires_at = NULL, updated_at = t.updated_at " +
  "FROM t WHERE deliveries.id = t.id";

const UPDATE_WEBHOOK_COUNTERS =
  "UPDATE webhooks SET " +
  "consecutive_failures = CASE WHEN c.reset = 1 THEN c.failures ELSE webhooks.consecutive_failures + c.failures END, " +
  "logs_total = webhooks.logs_total + c.new_logs " +
  "FROM c WHERE webhooks.id = c.id";

export interface AttemptOutcome extends AttemptResult {
  deliveryId: string;
  logId: string;
  webhookId: string;
  /** success: 2xx. retrying: failed, another attempt at `nextAttemptAt`. failed: failed, no more attempts. */
  status: "success" | "retrying" | "failed";
  /** Required when status is "retrying". */
  nextAttemptAt?: number;
}

export interface RecordAttemptsInput {
  /** The owner that claimed the deliveries; outcomes of deliveries leased to someone else are skipped. */
  owner: string;
  outcomes: readonly AttemptOutcome[];
  now?: number;
}

export interface RecordAttemptsResult {
  /** Delivery ids whose outcome was written. */
  recorded: string[];
  /** Delivery ids not written: the lease was lost (re-claimed by another worker) or already recorded. */
  skipped: string[];
}

/**
 * Writes a batch of attempt outcomes in one transaction: fills each attempt's log row; for "retrying"
 * adds the next attempt's pending row (same request_payload) and reschedules the delivery; "success" and
 * "failed" finish it. Every delivery's lease is released. consecutive_failures: reset on success, +1 per
 * failed attempt. An outcome counts only while the lease is still `owner`'s, so a delivery re-claimed
 * after its lease expired is never recorded twice. A "retrying" outcome for a webhook that was disabled
 * or deleted meanwhile is recorded as "failed" and the delivery cancelled.
 */
export async function recordAttempts(database: Database, input: RecordAttemptsInput): Promise<RecordAttemptsResult> {
  const now = input.now ?? Date.now();
  const unique = new Map<string, AttemptOutcome>();
  for (const outcome of input.outcomes) {
    if (outcome.status === "retrying" && outcome.nextAttemptAt === undefined) {
      throw new Error(`recordAttempts: retrying outcome for delivery ${outcome.deliveryId} has no nextAttemptAt`);
    }
    if (!unique.has(outcome.deliveryId)) unique.set(outcome.deliveryId, outcome);
  }
  if (unique.size === 0) return { recorded: [], skipped: [] };

  return inTransaction(database, async (tx) => {
    // The webhook rows are not locked here but by the counter update at the end (see step 4), so that
    // concurrent batches for the same webhook hold its row only briefly.
    const { rows: leased } = await tx.db.executeQuery(
      named(
        tx,
        forUpdate(
          tx,
          tx.db
            .selectFrom("deliveries as d")
            .innerJoin("webhooks as w", "w.id", "d.webhook_id")
            .select(["d.id", "d.status", "d.webhook_id", "d.current_log_id", "w.enabled", "w.deleted_at"])
            .where(idIn(tx, "d.id", [...unique.keys()]))
            .where("d.lease_owner", "=", input.owner),
          "d",
        ).compile(),
      ),
    );
    // status is checked here, not in SQL: `status = 'pending'` matches the deliveries_due predicate and
    // tempts PostgreSQL into AND-ing with a scan of the whole queue index.
    const ours = new Map(leased.filter((d) => d.status === "pending").map((d) => [d.id, d]));
    const activeWebhooks = new Set(
      leased.filter((d) => fromDbBoolean(d.enabled) && d.deleted_at === null).map((d) => d.webhook_id),
    );

    const applied: Array<AttemptOutcome & { final: "success" | "failed" | "cancelled" | null; nextLogId: string | null }> = [];
    const skipped: string[] = [];
    for (const outcome of unique.values()) {
      const delivery = ours.get(outcome.deliveryId);
      if (delivery === undefined || delivery.current_log_id !== outcome.logId || delivery.webhook_id !== outcome.webhookId) {
        skipped.push(outcome.deliveryId);
        continue;
      }
      if (outcome.status === "retrying" && !activeWebhooks.has(outcome.webhookId)) {
        applied.push({ ...outcome, status: "failed", final: "cancelled", nextLogId: null });
      } else if (outcome.status === "retrying") {
        applied.push({ ...outcome, final: null, nextLogId: newId(now) });
      } else {
        applied.push({ ...outcome, final: outcome.status, nextLogId: null });
      }
    }
    if (applied.length === 0) return { recorded: [], skipped };

    // 1. The attempts' own log rows.
    const counts = new LogCountDeltas();
    const closed = await executeWithValues(
      tx,
      {
        name: "r",
        columns: [
          ["id", "text"],
          ["status", "text"],
          ["http_status", "integer"],
          ["response_body", "text"],
          ["response_headers", "text"],
          ["error", "text"],
          ["duration_ms", "integer"],
          ["delivered_at", "bigint"],
        ],
        rows: applied.map((o) => [
          o.logId,
          o.status,
          o.httpStatus ?? null,
          o.responseBody ?? null,
          o.responseHeaders == null ? null : toJsonText(o.responseHeaders),
          o.error ?? null,
          Math.round(o.durationMs),
          o.deliveredAt ?? null,
        ]),
      },
      CLOSE_ATTEMPTS,
    );
    for (const row of closed.rows as Array<CountedLogRow & { status: LogStatus }>) counts.move(row, "pending", row.status);

    // 2. The next attempts' pending rows, copying event and request_payload from the row just closed.
    const retries = applied.filter((o) => o.nextLogId !== null);
    await queueNextAttempts(
      tx,
      retries.map((o) => ({ id: o.nextLogId!, previousId: o.logId })),
      now,
      counts,
    );

    // 3. The deliveries: rescheduled or finished, lease released either way.
    await executeWithValues(
      tx,
      {
        name: "t",
        columns: [
          ["id", "text"],
          ["status", "text"],
          ["next_attempt_at", "bigint"],
          ["current_log_id", "text"],
          ["updated_at", "bigint"],
        ],
        rows: applied.map((o) => [
          o.deliveryId,
          o.final ?? "pending",
          o.final === null ? o.nextAttemptAt! : null,
          o.nextLogId ?? o.logId,
          now,
        ]),
      },
      MOVE_DELIVERIES,
    );

    // 4. Per webhook: the failure streak (walked in outcome order) and the new log rows.
    const perWebhook = new Map<string, { reset: boolean; failures: number; newLogs: number }>();
    for (const o of applied) {
      const w = perWebhook.get(o.webhookId) ?? { reset: false, failures: 0, newLogs: 0 };
      if (o.status === "success") {
        w.reset = true;
        w.failures = 0;
      } else {
        w.failures += 1;
      }
      if (o.nextLogId !== null) w.newLogs += 1;
      perWebhook.set(o.webhookId, w);
    }
    await lockWebhooksInOrder(tx, perWebhook.keys());
    await executeWithValues(
      tx,
      {
        name: "c",
        columns: [
          ["id", "text"],
          ["reset", "integer"],
          ["failures", "integer"],
          ["new_logs", "integer"],
        ],
        rows: [...perWebhook].map(([id, w]) => [id, w.reset ? 1 : 0, w.failures, w.newLogs]),
      },
      UPDATE_WEBHOOK_COUNTERS,
    );
    // 5. The filtered counts, under the webhook rows' locks just taken.
    await writeLogCounts(tx, counts);

    return { recorded: applied.map((o) => o.deliveryId), skipped };
  });
}
