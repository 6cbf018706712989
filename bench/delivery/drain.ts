// 3. Delivery throughput: signed, logged deliveries/s to a loopback receiver (its own process), on SQLite and on
// PostgreSQL. N events are recorded through recordEvent before the worker starts, so what is timed is the
// drain of N due deliveries: claim in batches, sign, POST, record outcomes in batches. Each run is a fresh
// process on a fresh copy of the recorded database. Beside our drain, in the same rounds and at the same
// concurrency, run its ceiling and its peer on the very same bodies:
//   raw       a raw undici Pool loop, signing and POSTing with no database (raw-loop.ts);
//   graphile  graphile-worker doing the same POST per job on the same PostgreSQL (graphile-peer.ts; PostgreSQL only);
//   many      our drain over many webhooks (agents × webhooks per agent, events fanned out; as many deliveries).
// Within a round the subjects run one after another, their order rotating each round, and the concurrencies
// alternate; figures are read as ratios within a round (the machine is shared: absolute figures drift).
//
//   node --conditions=talkover-source --import tsx bench/delivery/drain.ts [--events 20000] [--rounds 3] [--dialects sqlite,postgres]
//        [--concurrency 64,128] [--subjects drain,raw,graphile,many]   → RESULT {…}
// Diagnostics: BENCH_DRAIN_WORKER_FLAGS="--sql-stats" (statement counts and times of each run, on stderr) and
// BENCH_DRAIN_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" are handed to every drain worker process.
import { announceResult, cleanupAll, envFlags, isMain, parseArgs, runTs, spawnTs } from "../lib/proc.js";
import { median, round } from "../lib/stats.js";
import { resetReceiver } from "../receiver.js";
import type { DrainResult } from "./drain-worker.js";
import type { GraphilePeerResult } from "./graphile-peer.js";
import type { RawLoopResult } from "./raw-loop.js";
import { postgresHost, prepareFixture, prepareManyFixture, sqliteHost, type Fixture, type Host } from "./fixture.js";
import type { Dialect } from "../../server/storage/db.js";

export type Subject = "drain" | "raw" | "graphile" | "many";

export interface DrainOptions {
  events: number;
  rounds: number;
  dialects: Dialect[];
  concurrencies: number[];
  /** What runs in each round; "drain" (ours, one webhook) is the reference of the ratios. graphile runs on PostgreSQL only. */
  subjects: Subject[];
  /** The shape of "many": `agents` agents of `webhooksPerAgent` webhooks, events fanned out, N deliveries in all. */
  many?: { agents: number; webhooksPerAgent: number };
  /** Stop starting new rounds (keep at least one) once the next would end past this many seconds. */
  budgetSeconds?: number;
  log?: (line: string) => void;
}

export interface SubjectRun {
  round: number;
  perSecond: number;
  seconds: number;
  /** CPU of the process doing the sending (drain worker, raw loop, graphile runner). */
  workerCpuMs: number;
  maxRssMB?: number;
  received: number;
  signed: number;
}

export interface SubjectFigures {
  medianPerSecond: number;
  runs: SubjectRun[];
}

/** ours ÷ other within each round, and their median. */
export interface RoundRatio {
  median: number;
  perRound: number[];
}

export interface ConcurrencyFigures extends SubjectFigures {
  /** Our single-webhook drain is the object itself (medianPerSecond, runs); the others beside it. */
  others: Partial<Record<Exclude<Subject, "drain">, SubjectFigures>>;
  /** drain ÷ raw loop (the ceiling); drain ÷ graphile-worker (the peer); many ÷ drain. */
  ratios: { toRaw?: RoundRatio; toGraphile?: RoundRatio; manyToDrain?: RoundRatio };
}

export interface DrainSummary {
  events: number;
  rounds: number;
  subjects: Subject[];
  many?: { agents: number; webhooksPerAgent: number };
  /** Rounds actually run per dialect (fewer than `rounds` when the time budget ran out). */
  roundsRun: Record<string, number>;
  /** Per dialect: time to record the N events (setup, not timed in the figure) and per concurrency the runs. */
  dialects: Record<string, { recordSeconds: number; manyRecordSeconds?: number; concurrency: Record<string, ConcurrencyFigures> }>;
}

export async function runDrain(options: DrainOptions): Promise<DrainSummary> {
  const log = options.log ?? (() => {});
  const receiver = await spawnTs<{ url: string }>("receiver.ts");
  const many = options.subjects.includes("many") ? (options.many ?? { agents: 100, webhooksPerAgent: 10 }) : undefined;
  const summary: DrainSummary = { events: options.events, rounds: options.rounds, subjects: options.subjects, ...(many ? { many } : {}), roundsRun: {}, dialects: {} };
  const sectionStarted = performance.now();
  const elapsed = () => (performance.now() - sectionStarted) / 1000;
  try {
    for (const dialect of options.dialects) {
      const host: Host = dialect === "postgres" ? await postgresHost() : await sqliteHost();
      try {
        const subjects = options.subjects.filter((s) => s !== "graphile" || dialect === "postgres");
        const single = await prepareFixture(host, options.events);
        log(`${dialect}: recorded ${options.events.toLocaleString("en")} events in ${single.recordSeconds} s (setup, not timed)`);
        let manyFixture: Fixture | undefined;
        if (many) {
          manyFixture = await prepareManyFixture(host, { ...many, deliveries: options.events });
          log(
            `${dialect}: ${many.agents} agents × ${many.webhooksPerAgent} webhooks, ${options.events.toLocaleString("en")} deliveries recorded in ` +
              `${manyFixture.recordSeconds} s (setup, not timed)`,
          );
        }
        const runs = new Map<string, SubjectRun[]>(); // `${concurrency}/${subject}`
        // Dialects left after this one each need at least one round (≈ as long as one of this one's).
        const dialectsLeft = options.dialects.length - options.dialects.indexOf(dialect) - 1;
        let roundSeconds = 0;
        for (let round = 0; round < options.rounds; round++) {
          if (round > 0 && options.budgetSeconds !== undefined && elapsed() + roundSeconds * (1 + dialectsLeft) > options.budgetSeconds) {
            log(`${dialect}: time budget reached, ${round} round(s) run`);
            break;
          }
          const roundStarted = performance.now();
          summary.roundsRun[dialect] = round + 1;
          const order = round % 2 === 0 ? options.concurrencies : [...options.concurrencies].reverse();
          const rotated = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
          for (const concurrency of order) {
            for (const subject of rotated) {
              const fixture = subject === "many" ? manyFixture! : single;
              const run = await runSubject(subject, host, fixture, receiver.ready.url, concurrency, round);
              const key = `${concurrency}/${subject}`;
              runs.set(key, [...(runs.get(key) ?? []), run]);
              log(
                `${dialect} round ${round + 1} concurrency ${String(concurrency).padStart(3)} ${subject.padEnd(8)}: ${String(run.perSecond).padStart(6)} deliveries/s` +
                  ` (${run.seconds} s, CPU ${run.workerCpuMs} ms, received ${run.received}, signed ${run.signed})`,
              );
            }
          }
          roundSeconds = (performance.now() - roundStarted) / 1000;
        }
        summary.dialects[dialect] = {
          recordSeconds: single.recordSeconds,
          ...(manyFixture ? { manyRecordSeconds: manyFixture.recordSeconds } : {}),
          concurrency: Object.fromEntries(options.concurrencies.map((c) => [c, figures(subjects, (s) => runs.get(`${c}/${s}`) ?? [])])),
        };
      } finally {
        await host.stop();
      }
    }
    return summary;
  } finally {
    await receiver.stop();
  }
}

async function runSubject(subject: Subject, host: Host, fixture: Fixture, receiverUrl: string, concurrency: number, round: number): Promise<SubjectRun> {
  const url = await host.clone(fixture.url);
  try {
    await resetReceiver(receiverUrl);
    const common = ["--db", url, "--receiver", receiverUrl, "--events", String(fixture.events), "--concurrency", String(concurrency)];
    if (subject === "raw") {
      const r = await runTs<RawLoopResult>("delivery/raw-loop.ts", { args: common });
      return { round, perSecond: r.perSecond, seconds: r.seconds, workerCpuMs: r.cpuMs, received: r.received, signed: r.signed };
    }
    if (subject === "graphile") {
      const r = await runTs<GraphilePeerResult>("delivery/graphile-peer.ts", { args: common });
      return { round, perSecond: r.perSecond, seconds: r.seconds, workerCpuMs: r.workerCpuMs, received: r.received, signed: r.signed };
    }
    const r = await runTs<DrainResult>("delivery/drain-worker.ts", {
      args: [...common, ...envFlags("BENCH_DRAIN_WORKER_FLAGS")],
      nodeFlags: envFlags("BENCH_DRAIN_NODE_FLAGS"),
      echoStderr: process.env.BENCH_DRAIN_WORKER_FLAGS ? `  [worker ${fixture.dialect} ${concurrency} ${subject}] ` : undefined,
    });
    return { round, perSecond: r.perSecond, seconds: r.seconds, workerCpuMs: r.workerCpuMs, maxRssMB: r.maxRssMB, received: r.received, signed: r.signed };
  } finally {
    await host.drop(url);
  }
}

function figures(subjects: Subject[], runsOf: (s: Subject) => SubjectRun[]): ConcurrencyFigures {
  const of = (s: Subject): SubjectFigures => ({ medianPerSecond: round(median(runsOf(s).map((r) => r.perSecond)), 0), runs: runsOf(s) });
  /** a ÷ b of the rounds where both ran. */
  const ratio = (a: SubjectRun[], b: SubjectRun[]): RoundRatio => {
    const perRound = a.flatMap((x) => b.filter((y) => y.round === x.round).map((y) => round(x.perSecond / y.perSecond, 2)));
    return { median: round(median(perRound), 2), perRound };
  };
  const drain = runsOf("drain");
  const others: ConcurrencyFigures["others"] = {};
  for (const s of subjects) if (s !== "drain") others[s] = of(s);
  return {
    ...of("drain"),
    others,
    ratios: {
      ...(others.raw ? { toRaw: ratio(drain, others.raw.runs) } : {}),
      ...(others.graphile ? { toGraphile: ratio(drain, others.graphile.runs) } : {}),
      ...(others.many ? { manyToDrain: ratio(others.many.runs, drain) } : {}),
    },
  };
}

export function drainOptions(quick: boolean): Omit<DrainOptions, "log"> {
  return quick
    ? { events: 5_000, rounds: 1, dialects: ["sqlite", "postgres"], concurrencies: [64, 128], subjects: ["drain", "raw", "graphile"] }
    : { events: 20_000, rounds: 3, dialects: ["sqlite", "postgres"], concurrencies: [64, 128], subjects: ["drain", "raw", "graphile"] };
}

/** The many-webhooks drain: 1,000 webhooks over 100 agents beside the single-webhook drain, concurrency 64. */
export function manyDrainOptions(quick: boolean): Omit<DrainOptions, "log"> {
  return { ...drainOptions(quick), concurrencies: [64], subjects: ["drain", "many"], many: { agents: 100, webhooksPerAgent: 10 } };
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  const defaults = drainOptions(args.quick === "true" || process.env.BENCH_QUICK === "1");
  try {
    const result = await runDrain({
      ...defaults,
      events: Number(args.events ?? defaults.events),
      rounds: Number(args.rounds ?? defaults.rounds),
      dialects: (args.dialects?.split(",") as Dialect[] | undefined) ?? defaults.dialects,
      concurrencies: args.concurrency?.split(",").map(Number) ?? defaults.concurrencies,
      subjects: (args.subjects?.split(",") as Subject[] | undefined) ?? defaults.subjects,
      log: (l) => console.error(l),
    });
    announceResult(result);
  } finally {
    await cleanupAll();
  }
}
