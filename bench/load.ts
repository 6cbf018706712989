// The load generator: its own process, undici Pool (pipelining 1), driven by one JSON spec.
//
//   node --conditions=talkover-source --import tsx bench/load.ts '{"mode":"throughput","url":"http://127.0.0.1:3000","path":"/healthz","durationMs":3000}'
//   node --conditions=talkover-source --import tsx bench/load.ts @spec.json      (the spec from a file: one too long for an argument)
//
// Modes:
//   throughput  closed loop: `connections` requests in flight for `durationMs` (after `warmupMs` not counted);
//               answers req/s, status counts and latency percentiles.
//   sequential  one request after another on one connection, `count` times (after `warmup` untimed ones).
//   rate        open loop: `ratePerSec` intake events for `durationMs`, each body's data carrying its send time
//               (`bench_sent_at`, wall-clock ms with µs precision) for the receiver to measure.
// Prints one line `RESULT {json}` (and, run by hand, a readable copy on stderr).
import { readFileSync } from "node:fs";
import { Pool, type Dispatcher } from "undici";
import type { IncomingHttpHeaders } from "node:http";
import { announceResult, isMain } from "./lib/proc.js";
import { round, summarize, wallClockMs, type LatencySummary } from "./lib/stats.js";

export interface CommonSpec {
  url: string;
  path: string;
  /** Throughput mode: requests take these paths in turn instead of `path` (creates spread over agents). */
  paths?: string[];
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Status every answer should have; others are counted as errors. */
  expectStatus?: number;
}

export type LoadSpec =
  | (CommonSpec & { mode: "throughput"; connections?: number; durationMs: number; warmupMs?: number })
  | (CommonSpec & { mode: "sequential"; count: number; warmup?: number })
  | (CommonSpec & {
      mode: "rate";
      ratePerSec: number;
      durationMs: number;
      connections?: number;
      /** The intake body; `data.bench_sent_at` is set per request. */
      event: { event: string; data: Record<string, unknown> };
    });

export interface LoadResult {
  mode: LoadSpec["mode"];
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
  /** Answers received in all, warm-up included. */
  completed: number;
  /** CPU time this load process used (to tell whether the generator, not the server, was the limit). */
  loadCpuMs: number;
  /** The first unexpected answer, to tell why a run failed. */
  firstError?: string;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export interface Answer {
  status: number;
  body: string;
}

/** One request through the pool's low-level dispatch (no stream per response: the generator stays cheap). */
export function send(pool: Pool, options: Dispatcher.DispatchOptions, keepBody: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let chunks: Buffer[] | null = null;
    pool.dispatch(options, {
      onRequestStart() {},
      onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, _h: IncomingHttpHeaders) {
        status = statusCode;
      },
      onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer) {
        if (keepBody || status >= 300) (chunks ??= []).push(chunk);
      },
      onResponseEnd() {
        resolve({ status, body: chunks ? Buffer.concat(chunks).toString("utf8") : "" });
      },
      onResponseError(_c: Dispatcher.DispatchController, err: Error) {
        reject(err);
      },
    });
  });
}

function dispatchOptions(spec: CommonSpec, body = spec.body): Dispatcher.DispatchOptions {
  const headers: Record<string, string> = { ...spec.headers };
  if (body !== undefined) headers["content-type"] ??= "application/json";
  return { path: spec.path, method: spec.method ?? (body === undefined ? "GET" : "POST"), headers, body };
}

class Tally {
  latencies: number[] = [];
  statuses: Record<string, number> = {};
  errors = 0;
  firstError: string | undefined;

  constructor(private readonly expectStatus: number | undefined) {}

  /** Every answer, counted or not (warm-up included): the server's CPU time covers them all. */
  completed = 0;

  add(answer: Answer | Error, ms: number, counted: boolean): void {
    this.completed++;
    if (!counted) return;
    const key = answer instanceof Error ? `error:${(answer as NodeJS.ErrnoException).code ?? answer.message}` : String(answer.status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    const bad = answer instanceof Error || (this.expectStatus !== undefined && answer.status !== this.expectStatus);
    if (bad) {
      this.errors++;
      this.firstError ??= answer instanceof Error ? answer.message : `${answer.status} ${answer.body.slice(0, 300)}`;
    }
    this.latencies.push(ms);
  }

  result(mode: LoadSpec["mode"], seconds: number): LoadResult {
    const requests = this.latencies.length;
    return {
      mode,
      requests,
      seconds: round(seconds),
      rps: round(requests / seconds, 1),
      errors: this.errors,
      statuses: this.statuses,
      completed: this.completed,
      loadCpuMs: round(cpuMs()),
      latencyMs: summarize(this.latencies),
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}

async function throughput(spec: Extract<LoadSpec, { mode: "throughput" }>): Promise<LoadResult> {
  const connections = spec.connections ?? 50;
  const pool = new Pool(spec.url, { connections, pipelining: 1 });
  const tally = new Tally(spec.expectStatus);
  const options = (spec.paths ?? [spec.path]).map((path) => dispatchOptions({ ...spec, path }));
  let next = 0;
  const started = performance.now();
  const countFrom = started + (spec.warmupMs ?? 0);
  const end = countFrom + spec.durationMs;
  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      let answer: Answer | Error;
      try {
        answer = await send(pool, options[next++ % options.length]!, false);
      } catch (err) {
        answer = err as Error;
      }
      const t1 = performance.now();
      tally.add(answer, t1 - t0, t0 >= countFrom && t1 <= end);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  return tally.result("throughput", spec.durationMs / 1000);
}

async function sequential(spec: Extract<LoadSpec, { mode: "sequential" }>): Promise<LoadResult> {
  const pool = new Pool(spec.url, { connections: 1, pipelining: 1 });
  const tally = new Tally(spec.expectStatus);
  const options = dispatchOptions(spec);
  const warmup = spec.warmup ?? 0;
  const started = performance.now();
  for (let i = 0; i < warmup + spec.count; i++) {
    const t0 = performance.now();
    let answer: Answer | Error;
    try {
      answer = await send(pool, options, false);
    } catch (err) {
      answer = err as Error;
    }
    tally.add(answer, performance.now() - t0, i >= warmup);
  }
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return tally.result("sequential", seconds);
}

async function rate(spec: Extract<LoadSpec, { mode: "rate" }>): Promise<LoadResult & { sent: number; lateMsMax: number }> {
  const pool = new Pool(spec.url, { connections: spec.connections ?? 50, pipelining: 1 });
  const tally = new Tally(spec.expectStatus);
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const end = started + spec.durationMs;
  const intervalMs = 1000 / spec.ratePerSec;
  let sent = 0;
  let lateMsMax = 0; // how far behind schedule the generator ever fell
  const fire = () => {
    const sentAt = wallClockMs();
    const body = JSON.stringify({ event: spec.event.event, data: { ...spec.event.data, bench_sent_at: sentAt } });
    const t0 = performance.now();
    const p = send(pool, dispatchOptions(spec, body), false)
      .then(
        (answer) => tally.add(answer, performance.now() - t0, true),
        (err: Error) => tally.add(err, performance.now() - t0, true),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
    sent++;
  };
  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.min(Math.floor((now - started) / intervalMs) + 1, Math.ceil(spec.durationMs / intervalMs));
    if (due > sent) lateMsMax = Math.max(lateMsMax, now - (started + sent * intervalMs));
    while (sent < due) fire();
    // Sleep until the next send is due (timers have ≈ 1 ms granularity: sends go out in small bursts).
    const next = started + sent * intervalMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await Promise.all(pending);
  await pool.close();
  return { ...tally.result("rate", spec.durationMs / 1000), sent, lateMsMax: round(lateMsMax) };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  switch (spec.mode) {
    case "throughput":
      return throughput(spec);
    case "sequential":
      return sequential(spec);
    case "rate":
      return rate(spec);
  }
}

if (isMain(import.meta.url)) {
  const raw = process.argv[2];
  if (!raw) {
    console.error("usage: node --conditions=talkover-source --import tsx bench/load.ts '<json spec>'   (see the comment at the top of bench/load.ts)");
    process.exit(2);
  }
  const result = await runLoad(JSON.parse(raw.startsWith("@") ? readFileSync(raw.slice(1), "utf8") : raw) as LoadSpec);
  if (process.stdout.isTTY) console.error(JSON.stringify(result, null, 2));
  announceResult(result);
}
