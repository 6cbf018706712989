// 1. API throughput ratio: POST create webhook (≈ 300-byte body) and GET logs page 1, 50 connections, a fixed
// duration, against (a) bare Express 5 + express.json() (the ceiling), (b) our server on SQLite in production
// mode, (c) ours with response validation on, and (d) bare Express + express-openapi-validator with our spec and
// nothing else (a calibration: PERFORMANCE.md's 0.73–0.79 row, measured on this machine). Each server is its own
// process; each run is a fresh load process. Rounds are interleaved (the order of the servers rotates every round) and the figures are medians.
//
//   node --conditions=talkover-source --import tsx bench/api/throughput.ts [--quick]      → RESULT {…}
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CREATE_BODY } from "../lib/fixtures.js";
import { announceResult, cleanupAll, cpuTimeMs, isMain, makeTempDir, parseArgs, runTs, sleep, spawnTs, type Child } from "../lib/proc.js";
import { median, round } from "../lib/stats.js";
import type { LoadResult, LoadSpec } from "../load.js";
import type { ServerReady } from "./server.js";

export interface ThroughputOptions {
  rounds: number;
  durationMs: number;
  /** Untimed load before each measured run (JIT, caches, connections). */
  warmupMs: number;
  /** Extra load on every server and operation before the first round. */
  prewarmMs: number;
  connections: number;
  log?: (line: string) => void;
}

type ServerName = "bare-express" | "sqlite" | "sqlite+validate-responses" | "validator-only";
type Operation = "create" | "logs";

export interface RunFigure {
  round: number;
  rps: number;
  /** The server process's CPU time per answered request, in µs (insensitive to other load on the machine). */
  cpuUsPerRequest: number | null;
  /** The load generator's CPU use over the run, in cores (near 1.0: the generator may be the limit). */
  loadCores: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface ThroughputResult {
  options: Omit<ThroughputOptions, "log">;
  operations: Record<
    Operation,
    {
      servers: Record<ServerName, { medianRps: number; medianCpuUsPerRequest: number | null; medianP50Ms: number; medianP99Ms: number; runs: RunFigure[] }>;
      /** median(ours) / median(bare). */
      ratio: Record<Exclude<ServerName, "bare-express">, number>;
      /** CPU per request of bare / ours: the throughput ratio a machine with nothing else running would give. */
      cpuRatio: Record<Exclude<ServerName, "bare-express">, number | null>;
      /** ours / bare within each round (how stable the ratio is). */
      ratioPerRound: Record<Exclude<ServerName, "bare-express">, number[]>;
    }
  >;
}

const SERVERS: ServerName[] = ["bare-express", "sqlite", "sqlite+validate-responses", "validator-only"];
const OURS = ["sqlite", "sqlite+validate-responses", "validator-only"] as const;
const OPERATIONS: Operation[] = ["create", "logs"];

function spec(op: Operation, ready: ServerReady, durationMs: number, warmupMs: number, connections: number): LoadSpec {
  const headers = { authorization: `Bearer ${ready.token}` };
  const base = `/api/v1/agents/${ready.agentId}/webhooks`;
  // Creates go to the agents in turn: ours allows 100 webhooks per agent (the bare servers keep no count).
  const paths = ready.agentIds?.map((id) => `/api/v1/agents/${id}/webhooks`);
  return op === "create"
    ? { mode: "throughput", url: ready.url, path: base, paths, method: "POST", headers, body: CREATE_BODY, expectStatus: 201, connections, durationMs, warmupMs }
    : { mode: "throughput", url: ready.url, path: `${base}/${ready.webhookId}/logs?per_page=25`, method: "GET", headers, expectStatus: 200, connections, durationMs, warmupMs };
}

export async function runThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const log = options.log ?? (() => {});
  const servers = new Map<ServerName, Child<ServerReady>>();
  try {
    servers.set("bare-express", await spawnTs<ServerReady>("api/bare-express.ts"));
    // 1,000 delivered attempts: page 1 answers 25 full rows, like the bare server's fixed page.
    // Agents enough for every create of the run at 100 webhooks each (the most one agent may have).
    const agents = String(agentsFor(options));
    servers.set("sqlite", await spawnTs<ServerReady>("api/server.ts", { args: ["--fill-logs", "1000", "--agents", agents] }));
    servers.set("sqlite+validate-responses", await spawnTs<ServerReady>("api/server.ts", { args: ["--fill-logs", "1000", "--validate-responses", "--agents", agents] }));
    servers.set("validator-only", await spawnTs<ServerReady>("api/validator-only.ts"));

    const specDir = makeTempDir("talkover-bench-load-");
    const load = async (name: ServerName, op: Operation, durationMs: number, warmupMs: number) => {
      const server = servers.get(name)!;
      const cpuBefore = cpuTimeMs(server.pid);
      // In a file: the create spec's 2,300 paths are too long for one argument (E2BIG).
      const file = join(specDir, `${name}-${op}.json`);
      writeFileSync(file, JSON.stringify(spec(op, server.ready, durationMs, warmupMs, options.connections)));
      const result = await runTs<LoadResult>("load.ts", { args: [`@${file}`] });
      const cpuAfter = cpuTimeMs(server.pid);
      if (result.errors > 0) throw new Error(`${op} on ${name}: ${result.errors} unexpected answers, e.g. ${result.firstError}`);
      const cpuUsPerRequest = cpuBefore === undefined || cpuAfter === undefined ? null : round(((cpuAfter - cpuBefore) * 1000) / result.completed, 1);
      return { ...result, cpuUsPerRequest, loadCores: round(result.loadCpuMs / (durationMs + warmupMs), 2) };
    };

    if (options.prewarmMs > 0) {
      for (const name of SERVERS) for (const op of OPERATIONS) await load(name, op, options.prewarmMs, 0);
      log(`pre-warmed every server (${options.prewarmMs} ms per operation)`);
    }

    const runs = new Map<string, RunFigure[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const op of OPERATIONS) {
        const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length]!);
        for (const name of order) {
          await sleep(200); // let the last run's sockets close and the GC settle
          const r = await load(name, op, options.durationMs, options.warmupMs);
          const figure: RunFigure = { round: round + 1, rps: r.rps, cpuUsPerRequest: r.cpuUsPerRequest, loadCores: r.loadCores, p50: r.latencyMs.p50, p99: r.latencyMs.p99, errors: r.errors };
          runs.set(`${op}/${name}`, [...(runs.get(`${op}/${name}`) ?? []), figure]);
          log(`round ${round + 1} ${op.padEnd(6)} ${name.padEnd(26)} ${String(r.rps).padStart(8)} req/s  ${r.cpuUsPerRequest} µs CPU/req  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  (load gen ${r.loadCores} cores)`);
        }
      }
    }

    const operations = {} as ThroughputResult["operations"];
    for (const op of OPERATIONS) {
      const perServer = {} as ThroughputResult["operations"][Operation]["servers"];
      for (const name of SERVERS) {
        const list = runs.get(`${op}/${name}`)!;
        perServer[name] = {
          medianRps: round(median(list.map((r) => r.rps)), 1),
          medianCpuUsPerRequest: list.some((r) => r.cpuUsPerRequest === null) ? null : round(median(list.map((r) => r.cpuUsPerRequest!)), 1),
          medianP50Ms: round(median(list.map((r) => r.p50))),
          medianP99Ms: round(median(list.map((r) => r.p99))),
          runs: list,
        };
      }
      const bare = perServer["bare-express"];
      const perRound = (name: ServerName) => perServer[name].runs.map((r, i) => round(r.rps / bare.runs[i]!.rps));
      operations[op] = {
        servers: perServer,
        ratio: Object.fromEntries(OURS.map((n) => [n, round(perServer[n].medianRps / bare.medianRps)])) as ThroughputResult["operations"][Operation]["ratio"],
        cpuRatio: Object.fromEntries(OURS.map((n) => [n, cpuRatio(bare, perServer[n])])) as ThroughputResult["operations"][Operation]["cpuRatio"],
        ratioPerRound: Object.fromEntries(OURS.map((n) => [n, perRound(n)])) as ThroughputResult["operations"][Operation]["ratioPerRound"],
      };
    }
    const { log: _log, ...shown } = options;
    return { options: shown, operations };
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
  }
}

function cpuRatio(bare: { medianCpuUsPerRequest: number | null }, ours: { medianCpuUsPerRequest: number | null }): number | null {
  return bare.medianCpuUsPerRequest === null || ours.medianCpuUsPerRequest === null ? null : round(bare.medianCpuUsPerRequest / ours.medianCpuUsPerRequest);
}

/** Agents for every create of a run at up to 20,000 creates/s, 100 webhooks each (beyond: 422s, counted as errors). */
function agentsFor(options: ThroughputOptions): number {
  const createMs = options.prewarmMs + options.rounds * (options.durationMs + options.warmupMs);
  return Math.ceil((20 * createMs) / 100);
}

export function throughputOptions(quick: boolean): ThroughputOptions {
  return quick
    ? { rounds: 1, durationMs: 1_500, warmupMs: 500, prewarmMs: 0, connections: 50 }
    : { rounds: 3, durationMs: 3_000, warmupMs: 500, prewarmMs: 1_000, connections: 50 };
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  try {
    const result = await runThroughput({ ...throughputOptions(args.quick === "true" || process.env.BENCH_QUICK === "1"), log: (l) => console.error(l) });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
