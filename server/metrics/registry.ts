// The server's Prometheus metrics: one prom-client Registry per server instance (never the global one:
// tests run many servers in one process, and each must count only its own work). The delivery worker,
// the intake and the HTTP middleware bump counters here; the gauges that describe shared state (the
// queue's backlog, webhooks by status) are read from the database at scrape time, so every process on one
// database reports the same values. Every metric is described in the README ("Metrics").
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../storage/db.js";
import { queueBacklog, webhookStatusCounts } from "../storage/metrics.js";
import { isDatabaseUnavailable } from "../storage/unavailable.js";

export type DeliveryOutcome = "success" | "retrying" | "failed";

export interface MetricsOptions {
  database: Database;
  /** WEBHOOK_ERROR_THRESHOLD: where a webhook's published status becomes `error`. */
  errorThreshold: number;
  /** The engine's clock: "due" is what the worker would claim now. */
  now?: () => number;
}

/** Attempts last from milliseconds to a webhook's timeout (at most 120 s). */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** The API answers within its 5 s database budget; the test call may take a webhook's timeout. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The label of requests that match no operation of openapi.yaml. */
export const UNKNOWN_OPERATION = "unknown";

/** One operation's HTTP series, resolved once so that a request bumps them without building label objects. */
interface OperationSeries {
  duration: Histogram.Internal<"operation">;
  byStatus: Map<number, Counter.Internal>;
}

export class Metrics {
  /** This process's own metrics (counters, histograms, process metrics, talkover_database_up). */
  readonly registry = new Registry();
  /** The gauges read from the database: left out of a scrape while it cannot answer. */
  private readonly shared = new Registry();
  private readonly database: Database;
  private readonly errorThreshold: number;
  private readonly now: () => number;

  private readonly deliveries: Record<DeliveryOutcome, Counter.Internal>;
  private readonly attemptDuration: Histogram;
  private readonly attemptsStarted: Record<"claim" | "handoff", Counter.Internal>;
  private readonly eventsIngested: Counter;
  private readonly deliveriesQueued: Counter;
  private readonly httpRequests: Counter<"operation" | "status">;
  private readonly httpDuration: Histogram<"operation">;
  private readonly operations = new Map<string, OperationSeries>();
  private readonly databaseUp: Gauge;
  private readonly due: Gauge;
  private readonly oldestDueAge: Gauge;
  private readonly webhooks: Gauge<"status">;

  constructor(options: MetricsOptions) {
    this.database = options.database;
    this.errorThreshold = options.errorThreshold;
    this.now = options.now ?? Date.now;
    const own = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const deliveries = new Counter({
      name: "talkover_deliveries_total",
      help: "Delivery attempts recorded by this process, by outcome.",
      labelNames: ["outcome"] as const,
      registers: own,
    });
    this.deliveries = { success: deliveries.labels("success"), retrying: deliveries.labels("retrying"), failed: deliveries.labels("failed") };
    // Present at 0 from the start: a rate() over a series that appears late misses its first increase.
    for (const counter of Object.values(this.deliveries)) counter.inc(0);
    this.attemptDuration = new Histogram({
      name: "talkover_delivery_attempt_duration_seconds",
      help: "Duration of the delivery attempts recorded by this process, from sending the request to the receiver's answer (or the error).",
      buckets: ATTEMPT_BUCKETS,
      registers: own,
    });
    const started = new Counter({
      name: "talkover_delivery_attempts_started_total",
      help: "Delivery attempts started by this process's worker, by how it got the delivery: claimed from the queue, or handed over by this process's intake.",
      labelNames: ["via"] as const,
      registers: own,
    });
    this.attemptsStarted = { claim: started.labels("claim"), handoff: started.labels("handoff") };
    for (const counter of Object.values(this.attemptsStarted)) counter.inc(0);
    this.eventsIngested = new Counter({
      name: "talkover_events_ingested_total",
      help: "Events recorded by this process's intake (replays of an idempotency key not counted).",
      registers: own,
    });
    this.deliveriesQueued = new Counter({
      name: "talkover_deliveries_queued_total",
      help: "Deliveries queued by this process's intake, one per webhook an event goes to.",
      registers: own,
    });
    this.httpRequests = new Counter({
      name: "talkover_http_requests_total",
      help: "HTTP requests answered by this process, by operationId (unknown: no operation of openapi.yaml) and status.",
      labelNames: ["operation", "status"] as const,
      registers: own,
    });
    this.httpDuration = new Histogram({
      name: "talkover_http_request_duration_seconds",
      help: "Time from a request's arrival to its response's end, by operationId.",
      labelNames: ["operation"] as const,
      buckets: HTTP_BUCKETS,
      registers: own,
    });
    this.databaseUp = new Gauge({
      name: "talkover_database_up",
      help: "1 when this scrape could read the database, else 0 (the gauges read from it are then absent).",
      registers: own,
    });

    const shared = [this.shared];
    this.due = new Gauge({
      name: "talkover_deliveries_due",
      help: "Deliveries due now and not yet claimed (all processes, from the database).",
      registers: shared,
    });
    this.oldestDueAge = new Gauge({
      name: "talkover_delivery_oldest_due_age_seconds",
      help: "How long the longest-due delivery has been due (0 when none is).",
      registers: shared,
    });
    this.webhooks = new Gauge({
      name: "talkover_webhooks",
      help: "Webhooks (not deleted) by published status (all processes, from the database).",
      labelNames: ["status"] as const,
      registers: shared,
    });
  }

  /** The exposition's Content-Type (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** One attempt's outcome, as the worker recorded it in the database. */
  attemptRecorded(outcome: DeliveryOutcome, durationMs: number): void {
    this.deliveries[outcome].inc();
    this.attemptDuration.observe(durationMs / 1000);
  }

  /** An attempt the worker starts: a delivery it claimed, or one its intake handed over. */
  attemptStarted(via: "claim" | "handoff"): void {
    this.attemptsStarted[via].inc();
  }

  /** An event recorded by the intake (not a replay), with the deliveries it queued. */
  eventIngested(deliveriesQueued: number): void {
    this.eventsIngested.inc();
    if (deliveriesQueued > 0) this.deliveriesQueued.inc(deliveriesQueued);
  }

  /** One answered request; `operation` is an operationId of openapi.yaml or UNKNOWN_OPERATION. */
  httpRequest(operation: string, status: number, seconds: number): void {
    let series = this.operations.get(operation);
    if (series === undefined) {
      series = { duration: this.httpDuration.labels(operation), byStatus: new Map() };
      this.operations.set(operation, series);
    }
    let counter = series.byStatus.get(status);
    if (counter === undefined) {
      counter = this.httpRequests.labels(operation, String(status));
      series.byStatus.set(status, counter);
    }
    counter.inc();
    series.duration.observe(seconds);
  }

  /** The exposition: this process's metrics, then the gauges just read from the database (when it answers). */
  async scrape(): Promise<string> {
    let shared = "";
    try {
      const now = this.now();
      // One after the other: SQLite has one connection, and a scrape should not take two of PostgreSQL's.
      const backlog = await queueBacklog(this.database, now);
      const webhooks = await webhookStatusCounts(this.database, this.errorThreshold);
      this.due.set(backlog.due);
      this.oldestDueAge.set(backlog.oldestDueAt === null ? 0 : Math.max(0, now - backlog.oldestDueAt) / 1000);
      for (const status of ["active", "disabled", "error"] as const) this.webhooks.set({ status }, webhooks[status]);
      shared = await this.shared.metrics();
      this.databaseUp.set(1);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.databaseUp.set(0);
    }
    const own = await this.registry.metrics();
    // Two expositions of disjoint metric names, joined as prom-client joins families (a blank line).
    return shared === "" ? own : `${own}\n${shared}`;
  }
}
