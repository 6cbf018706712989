// bench/results/latest.md: every figure next to its target from /work/shared/PERFORMANCE.md, then the details.
import type { ConcurrencyFigures, SubjectFigures } from "../delivery/drain.js";
import type { BenchResults } from "../run.js";

const TARGETS = {
  apiRatio: 0.7,
  logsPage1Ms: 5,
  deliveriesPerSecond: 5_000,
  /** Issue 13: the drain ÷ the raw undici loop (no database) in the same rounds. */
  drainToRaw: { sqlite: 0.75, postgres: 0.6 } as Record<string, number>,
  /** Issue 13: the PostgreSQL drain ÷ graphile-worker doing the same POST per job. */
  drainToGraphile: 2,
  /** Issue 13: the drain over 1,000 webhooks ÷ the single-webhook drain. */
  manyToDrain: 0.8,
  fanoutIntakeP50Ms: 50,
  intakeP50Ms: 5,
  intakeP99Ms: 50,
  /** The worker's RSS is "flat" when the second half of the run peaks no more than this above the first half. */
  memoryGrowth: 0.1,
  /** Issue 16: the asynchronous SQLite lock wait may cost the everyday path at most 5 %. */
  sqliteLockWaitRatio: 0.95,
};

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined || !Number.isFinite(n) ? "—" : n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const verdict = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? "✅ meets" : "❌ below");

export function memoryFlat(samples: Array<{ rssMB: number }>): { flat: boolean; firstHalfMax: number; secondHalfMax: number } {
  const run = samples.slice(1);
  const half = Math.floor(run.length / 2);
  const firstHalfMax = Math.max(...run.slice(0, half).map((s) => s.rssMB));
  const secondHalfMax = Math.max(...run.slice(half).map((s) => s.rssMB));
  return { flat: secondHalfMax <= firstHalfMax * (1 + TARGETS.memoryGrowth), firstHalfMax, secondHalfMax };
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [];
  const s = r.sections;
  out.push(`# Benchmark results${r.quick ? " (quick smoke run: BENCH_QUICK=1)" : ""}`);
  out.push("");
  out.push(`- **Date**: ${m.date}`);
  out.push(`- **Node**: ${m.node} · **CPU**: ${m.cpuModel} × ${m.cores} cores · ${m.memoryGB} GB · ${m.os}`);
  out.push(`- **Tree**: commit ${m.commit ?? "?"}${m.uncommittedFiles ? ` + ${m.uncommittedFiles} uncommitted files` : ""}`);
  out.push(`- **Run**: \`${r.quick ? "BENCH_QUICK=1 " : ""}npm run bench\`, ${r.totalSeconds} s; 1-min load average at start ${m.loadAverageAtStart[0]}`);
  const busy = Object.values(s).some((x) => x && Math.max(x.loadAverage.before, x.loadAverage.after) > m.cores);
  if (busy) {
    out.push("");
    out.push(
      `> **The machine was busy** (load average above ${m.cores} during some sections: other work was running). ` +
        "Absolute req/s and deliveries/s are then low and noisy, and even the CPU time per request grows (shared cores " +
        "and caches); the ratios within interleaved rounds, and the calibration row (validator only) against its " +
        "PERFORMANCE.md reference, are the figures to read.",
    );
  }
  out.push("");
  out.push("## Figures and targets");
  out.push("");
  out.push("| what | measured | target | PERFORMANCE.md reference | |");
  out.push("|---|---:|---:|---|---|");

  const api = s.api?.result;
  if (api) {
    for (const op of ["create", "logs"] as const) {
      const o = api.operations[op];
      const label = op === "create" ? "POST create webhook" : "GET logs page 1 (25 rows)";
      out.push(
        `| ${label}, SQLite, throughput ÷ bare Express | **${fmt(o.ratio.sqlite)}** (${fmt(o.servers.sqlite.medianRps, 0)} vs ${fmt(o.servers["bare-express"].medianRps, 0)} req/s); by CPU/request ${fmt(o.cpuRatio.sqlite)} | ≥ ${TARGETS.apiRatio} | ${op === "create" ? "validator + one INSERT: 0.60–0.63" : "—"} | ${verdict(o.ratio.sqlite >= TARGETS.apiRatio)} |`,
      );
      out.push(
        `| ${label}, SQLite + response validation (informational) | ${fmt(o.ratio["sqlite+validate-responses"])}; by CPU/request ${fmt(o.cpuRatio["sqlite+validate-responses"])} | — | ${op === "create" ? "validator, responses validated, no storage: 0.68–0.76" : "—"} | |`,
      );
      out.push(
        `| ${label}, calibration: bare Express + validator only, no auth/storage | ${fmt(o.ratio["validator-only"])}; by CPU/request ${fmt(o.cpuRatio["validator-only"])} | — | ${op === "create" ? "+ express-openapi-validator (requests): 0.73–0.79" : "—"} | |`,
      );
    }
  } else if (s.api?.error) out.push(`| API throughput | failed: ${s.api.error.split("\n")[0]} | | | ❌ |`);

  const logs = s.logs?.result;
  if (logs) {
    const page1 = logs.pages.find((p) => p.page === 1)!;
    const page1000 = logs.pages.find((p) => p.page === 1000);
    const last = logs.pages[logs.pages.length - 1]!;
    out.push(
      `| Logs page 1 at ${fmt(logs.rows, 0)} attempts, p50 (p99) | **${fmt(page1.latencyMs.p50)} ms** (${fmt(page1.latencyMs.p99)} ms) | < ${TARGETS.logsPage1Ms} ms | — | ${verdict(page1.latencyMs.p50 < TARGETS.logsPage1Ms)} |`,
    );
    if (page1000) out.push(`| Logs page 1000, p50 (p99) (informational) | ${fmt(page1000.latencyMs.p50)} ms (${fmt(page1000.latencyMs.p99)} ms) | — | — | |`);
    out.push(`| Logs last page (${fmt(last.page, 0)}), p50 (informational) | ${fmt(last.latencyMs.p50)} ms | — | — | |`);
  } else if (s.logs?.error) out.push(`| Logs listing | failed: ${s.logs.error.split("\n")[0]} | | | ❌ |`);

  const delivery = s.delivery?.result;
  const dialectName = (d: string) => (d === "sqlite" ? "SQLite" : "PostgreSQL");
  if (delivery) {
    for (const [dialect, d] of Object.entries(delivery.dialects)) {
      for (const [concurrency, c] of Object.entries(d.concurrency)) {
        const ref = dialect === "sqlite" ? "SQLite, batches of 100: 6,600–7,400" : "PG SKIP LOCKED batches: 3,300–5,900; graphile-worker ≈ 2,900";
        const what = `${dialectName(dialect)}, concurrency ${concurrency}`;
        out.push(
          `| Deliveries/s, ${what} (${fmt(delivery.events, 0)} events, median of ${c.runs.length}) | **${fmt(c.medianPerSecond, 0)}** | ≥ ${fmt(TARGETS.deliveriesPerSecond, 0)} | ${ref} | ${verdict(c.medianPerSecond >= TARGETS.deliveriesPerSecond)} |`,
        );
        const toRaw = c.ratios.toRaw;
        if (toRaw) {
          const target = TARGETS.drainToRaw[dialect]!;
          out.push(
            `| Drain ÷ raw undici loop (no database, same bodies, same rounds), ${what} | **${fmt(toRaw.median)}** (${fmt(c.medianPerSecond, 0)} vs ${fmt(c.others.raw!.medianPerSecond, 0)}/s; rounds ${toRaw.perRound.map((x) => fmt(x)).join(", ")}) | ≥ ${target} | raw loop, signed: 7,900–9,000/s | ${verdict(toRaw.median >= target)} |`,
          );
        }
        const toGraphile = c.ratios.toGraphile;
        if (toGraphile) {
          out.push(
            `| Drain ÷ graphile-worker (same POST per job, same PostgreSQL, same rounds), ${what} | **${fmt(toGraphile.median)}** (${fmt(c.medianPerSecond, 0)} vs ${fmt(c.others.graphile!.medianPerSecond, 0)}/s; rounds ${toGraphile.perRound.map((x) => fmt(x)).join(", ")}) | ≥ ${TARGETS.drainToGraphile} | graphile-worker ≈ 2,900/s | ${verdict(toGraphile.median >= TARGETS.drainToGraphile)} |`,
          );
        }
      }
    }
  } else if (s.delivery?.error) out.push(`| Delivery throughput | failed: ${s.delivery.error.split("\n")[0]} | | | ❌ |`);
  const many = s.many?.result;
  if (many) {
    const shape = many.drain.many!;
    for (const [dialect, d] of Object.entries(many.drain.dialects)) {
      for (const [concurrency, c] of Object.entries(d.concurrency)) {
        const r = c.ratios.manyToDrain!;
        out.push(
          `| Drain over ${fmt(shape.agents * shape.webhooksPerAgent, 0)} webhooks (${shape.agents} agents) ÷ one webhook, ${dialectName(dialect)}, concurrency ${concurrency} | **${fmt(r.median)}** (${fmt(c.others.many!.medianPerSecond, 0)} vs ${fmt(c.medianPerSecond, 0)}/s; rounds ${r.perRound.map((x) => fmt(x)).join(", ")}) | ≥ ${TARGETS.manyToDrain} | — | ${verdict(r.median >= TARGETS.manyToDrain)} |`,
        );
      }
    }
    const i = many.intake;
    out.push(
      `| Intake of one event fanned out to ${fmt(i.webhooks, 0)} webhooks (SQLite, POST → 202), p50 (p90) | **${fmt(i.quietMs.p50)} ms** (${fmt(i.quietMs.p90)} ms) | < ${TARGETS.fanoutIntakeP50Ms} ms | — | ${verdict(i.quietMs.p50 < TARGETS.fanoutIntakeP50Ms)} |`,
    );
    out.push(`| The same, events back to back while the worker drains (informational), p50 (p90) | ${fmt(i.backToBackMs.p50)} ms (${fmt(i.backToBackMs.p90)} ms) | — | — | |`);
  } else if (s.many?.error) out.push(`| Many webhooks | failed: ${s.many.error.split("\n")[0]} | | | ❌ |`);

  const intake = s.intake?.result;
  if (intake) {
    out.push(`| Intake → receiver at ${fmt(intake.ratePerSec, 0)} events/s, p50 | **${fmt(intake.endToEndMs.p50)} ms** | < ${TARGETS.intakeP50Ms} ms | — | ${verdict(intake.endToEndMs.p50 < TARGETS.intakeP50Ms)} |`);
    out.push(`| Intake → receiver at ${fmt(intake.ratePerSec, 0)} events/s, p99 | **${fmt(intake.endToEndMs.p99)} ms** | < ${TARGETS.intakeP99Ms} ms | — | ${verdict(intake.endToEndMs.p99 < TARGETS.intakeP99Ms)} |`);
    out.push(`| Intake capacity (closed loop, worker in the same process) | ${fmt(intake.intakeCapacityPerSec, 0)} events/s | ≥ ${fmt(intake.ratePerSec, 0)}/s implied | — | ${verdict(intake.intakeCapacityPerSec >= intake.ratePerSec)} |`);
    if (intake.serverCpuUsPerEvent !== undefined)
      out.push(`| Server CPU per event at ${fmt(intake.ratePerSec, 0)} events/s (intake, send and outcome; informational) | ${fmt(intake.serverCpuUsPerEvent, 0)} µs | — | — | |`);
    if (intake.belowCapacity) {
      const b = intake.belowCapacity;
      out.push(`| Intake → receiver at ${fmt(b.ratePerSec, 0)} events/s (half the capacity, informational), p50 / p99 | ${fmt(b.endToEndMs.p50)} / ${fmt(b.endToEndMs.p99)} ms | — | — | |`);
    }
  } else if (s.intake?.error) out.push(`| Intake latency | failed: ${s.intake.error.split("\n")[0]} | | | ❌ |`);
  const sqlite = s.sqlite?.result;
  if (sqlite) {
    for (const [what, ratio] of [["intake write (one event, one delivery)", sqlite.intakeRatio], ["logs page 1 read", sqlite.logsRatio]] as const) {
      out.push(`| SQLite ${what}: CPU per call, synchronous busy_timeout ÷ asynchronous lock wait | **${fmt(ratio, 3)}** | ≥ ${TARGETS.sqliteLockWaitRatio} | — | ${verdict(ratio >= TARGETS.sqliteLockWaitRatio)} |`);
    }
  } else if (s.sqlite?.error) out.push(`| SQLite lock wait | failed: ${s.sqlite.error.split("\n")[0]} | | | ❌ |`);

  const checkpoint = s.checkpoint?.result;
  if (checkpoint) {
    out.push(
      `| SQLite intake write (10 events): event-loop time per write, checkpoints on their thread ÷ inside the commits (informational) | **${fmt(checkpoint.perWriteRatio, 3)}**; ` +
        `p99 ${fmt(checkpoint.p99Ms.thread, 1)} vs ${fmt(checkpoint.p99Ms.inline, 1)} ms | — | — | |`,
    );
  } else if (s.checkpoint?.error) out.push(`| SQLite checkpoints | failed: ${s.checkpoint.error.split("\n")[0]} | | | ❌ |`);
  const recovery = s.recovery?.result;
  if (recovery) {
    out.push(
      `| Recovery of ${fmt(recovery.deliveries, 0)} failed deliveries (SQLite, worker in the server): API calls' p99 during it ÷ before it, logs page / update (informational) | ` +
        `**${fmt(recovery.p99Ratio.logsPage)} / ${fmt(recovery.p99Ratio.update)}**; ${fmt(recovery.perSecond, 0)} deliveries/s | — | — | |`,
    );
  } else if (s.recovery?.error) out.push(`| Recovery | failed: ${s.recovery.error.split("\n")[0]} | | | ❌ |`);
  const filters = s.filters?.result;
  if (filters) {
    for (const c of filters.cases) {
      out.push(
        `| Logs page 1 at ${fmt(filters.rows, 0)} attempts, ${c.name} (${fmt(c.total, 0)} match), SQLite storage, p50 (p99); ÷ unfiltered | **${fmt(c.latencyMs.p50)} ms** (${fmt(c.latencyMs.p99)} ms); ×${fmt(c.ratio, 1)} | < ${TARGETS.logsPage1Ms} ms | — | ${verdict(c.latencyMs.p50 < TARGETS.logsPage1Ms)} |`,
      );
    }
  } else if (s.filters?.error) out.push(`| Logs filters | failed: ${s.filters.error.split("\n")[0]} | | | ❌ |`);

  const memory = s.memory?.result;
  if (memory) {
    const flat = memoryFlat(memory.samples);
    out.push(
      `| Worker RSS, ${fmt(memory.backlog, 0)}-delivery backlog, ${memory.seconds} s (first / max / last) | **${fmt(memory.rssMB.first, 0)} / ${fmt(memory.rssMB.max, 0)} / ${fmt(memory.rssMB.last, 0)} MB** | flat (1 M backlog) | — | ${flat.flat ? "✅ flat" : "❌ grows"} |`,
    );
  } else if (s.memory?.error) out.push(`| Memory with a backlog | failed: ${s.memory.error.split("\n")[0]} | | | ❌ |`);
  else if (r.quick) out.push("| Memory with a backlog | skipped in quick mode | flat | — | |");

  // ---------------------------------------------------------------------------------------------
  if (api) {
    out.push("");
    out.push("## 1. API throughput");
    out.push("");
    const o = api.options;
    out.push(
      `${o.connections} connections (undici Pool, pipelining 1, its own process), ${o.durationMs / 1000} s per run after ${o.warmupMs} ms untimed, ` +
        `${o.rounds} interleaved round(s) (the servers' order rotates each round), every server pre-warmed ${o.prewarmMs / 1000} s per operation. ` +
        "Each server is its own process: bare Express 5 + `express.json()` answering fixed bodies of the same size as ours (`bench/api/bare-express.ts`); " +
        "ours on a temp SQLite file with `LOG_LEVEL=silent`, `validateResponses: false`, the rate limit at 10⁹/min, the worker idle in-process; " +
        "the same with response validation; bare Express + express-openapi-validator with our spec and options and the fixed answers " +
        "(`bench/api/validator-only.ts`, a calibration of this machine against PERFORMANCE.md). The logs webhook holds 1,000 delivered attempts (page 1 = 25 rows, ≈ 26 KB). " +
        "CPU/request is the server process's user+system time over the run divided by the requests it answered.",
    );
    out.push("");
    out.push("| operation | server | median req/s | median CPU µs/request | p50 ms | p99 ms | runs (req/s) |");
    out.push("|---|---|---:|---:|---:|---:|---|");
    for (const [op, ops] of Object.entries(api.operations)) {
      for (const [name, v] of Object.entries(ops.servers)) {
        out.push(
          `| ${op} | ${name} | ${fmt(v.medianRps, 0)} | ${fmt(v.medianCpuUsPerRequest, 0)} | ${fmt(v.medianP50Ms)} | ${fmt(v.medianP99Ms)} | ${v.runs.map((x) => fmt(x.rps, 0)).join(", ")} |`,
        );
      }
      out.push(
        `| ${op} | **ratio ÷ bare** per round | sqlite ${ops.ratioPerRound.sqlite.map((x) => fmt(x)).join(", ")}; validated ${ops.ratioPerRound["sqlite+validate-responses"].map((x) => fmt(x)).join(", ")}; validator only ${ops.ratioPerRound["validator-only"].map((x) => fmt(x)).join(", ")} | | | | |`,
      );
    }
  }

  if (logs) {
    out.push("");
    out.push("## 2. Logs listing");
    out.push("");
    out.push(
      `${fmt(logs.rows, 0)} delivered attempts of one webhook written straight into SQLite in ${logs.fillSeconds} s (one transaction, ` +
        `one prepared statement, \`logs_total\` kept right; database ${fmt(logs.dbMegabytes, 0)} MB), then sequential GETs ` +
        "`…/logs?per_page=25&page=N` on one keep-alive connection against our server in production mode.",
    );
    out.push("");
    out.push("| page | requests | p50 ms | p90 ms | p99 ms | max ms |");
    out.push("|---:|---:|---:|---:|---:|---:|");
    for (const p of logs.pages) out.push(`| ${fmt(p.page, 0)} | ${p.requests} | ${fmt(p.latencyMs.p50)} | ${fmt(p.latencyMs.p90)} | ${fmt(p.latencyMs.p99)} | ${fmt(p.latencyMs.max)} |`);
    out.push("");
    out.push(
      `Query plan: \`${logs.queryPlan.join(" / ")}\`. The same two statements run directly on the file: \`total\` (logs_total) ` +
        `p50 ${fmt(logs.sqlOnlyMs.countP50, 3)} ms, page 1 p50 ${fmt(logs.sqlOnlyMs.page1P50, 3)} ms (p99 ${fmt(logs.sqlOnlyMs.page1P99, 3)} ms): ` +
        "the rest of the answer time is HTTP, auth, validation and JSON.",
    );
  }

  if (delivery) {
    out.push("");
    out.push("## 3. Delivery throughput");
    out.push("");
    out.push(
      `${fmt(delivery.events, 0)} events recorded through the intake's \`recordEvents\` (50 per transaction) before the worker starts (one webhook, signed; the time to record them ` +
        "is setup, not timed), then a fresh process runs the production `DeliveryWorker` (default batch 100, lease, poll; " +
        "`createSender({ allowPrivateTargets: true })` with its defaults, i.e. 32 connections per origin) until no delivery is pending; " +
        "every run starts from a copy of the same recorded database and is checked afterwards (every delivery and log row `success`, " +
        "`logs_total` right, every request signed at the receiver). The receiver is a node:http server in its own process. " +
        "PostgreSQL is the tests' embedded server (`test/support/postgres.ts`: fsync off, synchronous_commit off); " +
        "SQLite is WAL with synchronous NORMAL: neither waits for a disk flush per commit.",
    );
    out.push("");
    out.push(
      "Beside each drain, in the same rounds (the order of the runs rotating each round) and at the same concurrency, on copies of the same recorded " +
        "database: **raw**, a raw undici Pool loop (32 connections, pipelining 1, its own process) that signs each recorded body as the worker does " +
        "and POSTs it to the same receiver, with no database (`bench/delivery/raw-loop.ts`, the ceiling); **graphile**, graphile-worker " +
        "(`graphile-worker` 0.17.3, concurrency C, local queue 100, completions batched over 5 ms) with one job per recorded body on the same " +
        "PostgreSQL, its task signing and POSTing through our production sender (`bench/delivery/graphile-peer.ts`, the peer; it keeps no attempt log). " +
        "Ratios are ours ÷ theirs within each round; the headline is their median.",
    );
    out.push("");
    out.push("| database | record N events (setup) | concurrency | runner | median deliveries/s | runs (deliveries/s) | CPU ms per run | worker max RSS MB |");
    out.push("|---|---:|---:|---|---:|---|---|---|");
    for (const [dialect, d] of Object.entries(delivery.dialects)) {
      for (const [concurrency, c] of Object.entries(d.concurrency)) {
        out.push(...subjectRows(dialect, d.recordSeconds, concurrency, c));
      }
    }
    const cut = Object.entries(delivery.roundsRun).filter(([, n]) => n < delivery.rounds);
    if (cut.length > 0) {
      out.push("");
      out.push(`Rounds cut by the section's time budget: ${cut.map(([d, n]) => `${d} ${n} of ${delivery.rounds}`).join(", ")}.`);
    }
  }

  if (many) {
    const shape = many.drain.many!;
    out.push("");
    out.push("## 3b. Many webhooks");
    out.push("");
    out.push(
      `The drain of section 3 (${fmt(many.drain.events, 0)} deliveries, concurrency ${Object.keys(Object.values(many.drain.dialects)[0]?.concurrency ?? {}).join(", ")}) ` +
        `beside the same number of deliveries spread over ${fmt(shape.agents * shape.webhooksPerAgent, 0)} webhooks: ${shape.agents} agents of ` +
        `${shape.webhooksPerAgent} webhooks, ${fmt(many.drain.events / (shape.agents * shape.webhooksPerAgent), 0)} events per agent recorded round-robin over the agents, ` +
        "each fanned out to its agent's webhooks (a claim of 100 then spans ≈ 100 webhooks), every webhook on the one loopback receiver; " +
        "interleaved round by round; ratio = many ÷ one webhook within each round.",
    );
    out.push("");
    out.push("| database | record (setup): one webhook / many | concurrency | runner | median deliveries/s | runs (deliveries/s) | CPU ms per run | worker max RSS MB |");
    out.push("|---|---:|---:|---|---:|---|---|---|");
    for (const [dialect, d] of Object.entries(many.drain.dialects)) {
      for (const [concurrency, c] of Object.entries(d.concurrency)) {
        out.push(...subjectRows(dialect, d.recordSeconds, concurrency, c, d.manyRecordSeconds));
      }
    }
    const i = many.intake;
    out.push("");
    out.push(
      `Intake: our server (SQLite, production mode, worker in the same process at concurrency 64), one agent with ${fmt(i.webhooks, 0)} webhooks ` +
        `subscribed to the event and pointed at the loopback receiver; ${i.quietMs.n} events POSTed one at a time on one keep-alive connection after 3 ` +
        `untimed ones, each waiting until the receiver had every delivery of the one before (quiet: the intake alone); then ${i.backToBackMs.n} back to back ` +
        `(the worker draining meanwhile: ${fmt(i.backToBackDeliveriesPerSecond, 0)} deliveries/s).`,
    );
    out.push("");
    out.push("| POST → 202 | n | p50 ms | p90 ms | p99 ms | max ms |");
    out.push("|---|---:|---:|---:|---:|---:|");
    out.push(`| quiet | ${i.quietMs.n} | ${fmt(i.quietMs.p50)} | ${fmt(i.quietMs.p90)} | ${fmt(i.quietMs.p99)} | ${fmt(i.quietMs.max)} |`);
    out.push(`| back to back | ${i.backToBackMs.n} | ${fmt(i.backToBackMs.p50)} | ${fmt(i.backToBackMs.p90)} | ${fmt(i.backToBackMs.p99)} | ${fmt(i.backToBackMs.max)} |`);
  }

  if (intake) {
    out.push("");
    out.push("## 4. Intake → receiver latency");
    out.push("");
    out.push(
      `${fmt(intake.sent, 0)} events POSTed to \`/internal/v1/agents/{a}/events\` at ${fmt(intake.ratePerSec, 0)}/s (open loop, after 1 s of untimed warm-up) ` +
        "to our server (SQLite, production mode, worker in the same process, concurrency 64); each event's data carries its send time and the " +
        "receiver records arrival − send (same machine clock).",
    );
    out.push("");
    out.push("| | n | p50 ms | p90 ms | p99 ms | max ms |");
    out.push("|---|---:|---:|---:|---:|---:|");
    const row = (label: string, l: typeof intake.endToEndMs) => out.push(`| ${label} | ${fmt(l.n, 0)} | ${fmt(l.p50)} | ${fmt(l.p90)} | ${fmt(l.p99)} | ${fmt(l.max)} |`);
    row("intake → receiver", intake.endToEndMs);
    row("intake answer (202)", intake.intakeResponseMs);
    if (intake.belowCapacity) {
      row(`intake → receiver at ${fmt(intake.belowCapacity.ratePerSec, 0)}/s`, intake.belowCapacity.endToEndMs);
      row(`intake answer at ${fmt(intake.belowCapacity.ratePerSec, 0)}/s`, intake.belowCapacity.intakeResponseMs);
    }
    out.push("");
    out.push(
      `The generator fell at most ${fmt(intake.generatorLateMsMax)} ms behind its schedule. Intake capacity on this run (closed loop, 50 connections, ` +
        `the worker delivering in the same process): **${fmt(intake.intakeCapacityPerSec, 0)} events/s**` +
        (intake.serverCpuUsPerEvent !== undefined
          ? `; the server's CPU time over the timed run, per event (intake, send and outcome): ${fmt(intake.serverCpuUsPerEvent, 0)} µs`
          : "") +
        (intake.intakeCapacityPerSec < intake.ratePerSec * 1.1
          ? ` — below (or barely above) the offered ${fmt(intake.ratePerSec, 0)}/s, so the latencies above are mostly queueing.`
          : "."),
    );
  }

  if (memory) {
    out.push("");
    out.push("## 5. Memory with a backlog");
    out.push("");
    out.push(
      `${fmt(memory.backlog, 0)} pending deliveries (rows as recordEvent writes them, bulk-inserted in ${memory.fillSeconds} s) to a loopback port nobody listens on; ` +
        `a fresh worker process (concurrency ${memory.concurrency}) runs ${memory.seconds} s, every attempt is refused and rescheduled ` +
        `(${fmt(memory.attemptsRecorded, 0)} failed attempts recorded, ${fmt(memory.pendingAfter, 0)} deliveries still pending). ${memory.note}`,
    );
    out.push("");
    out.push(`RSS idle ${fmt(memory.rssMB.idle, 0)} MB before the worker starts; heap used first / max / last ${fmt(memory.heapUsedMB.first, 0)} / ${fmt(memory.heapUsedMB.max, 0)} / ${fmt(memory.heapUsedMB.last, 0)} MB.`);
    out.push("");
    out.push(`RSS per second (MB): ${memory.samples.map((x) => fmt(x.rssMB, 0)).join(" ")}`);
  }

  if (filters) {
    out.push("");
    out.push("## 7. Logs page 1 with filters");
    out.push("");
    out.push(
      `${fmt(filters.rows, 0)} attempts of one webhook (fill-logs.ts in ${filters.fillSeconds} s; 90 % success, 5 % retrying, 4 % failed, 1 % pending; ` +
        "70 / 20 / 9 / 1 % call ended, call started, recording, webhook.test; one every 250 ms), then storage's `listLogs` page 1 (25 rows, " +
        "the filtered total from log_counts and the page) called directly, the cases interleaved round by round. Ratio: p50 ÷ the unfiltered p50 of this run.",
    );
    out.push("");
    out.push("| case | query | total | calls | p50 ms | p99 ms | ÷ unfiltered | plan |");
    out.push("|---|---|---:|---:|---:|---:|---:|---|");
    for (const c of filters.cases) {
      out.push(`| ${c.name} | \`${c.query}\` | ${fmt(c.total, 0)} | ${c.latencyMs.n} | ${fmt(c.latencyMs.p50)} | ${fmt(c.latencyMs.p99)} | ${fmt(c.ratio, 1)} | ${c.plan.join("<br>")} |`);
    }
  }

  if (checkpoint) {
    out.push("");
    out.push("## 8. SQLite checkpoints");
    out.push("");
    out.push(
      `The same intake writes (10 events of one delivery, one transaction) on two files, ${fmt(checkpoint.writes, 0)} per round, ${checkpoint.rounds} interleaved rounds: ` +
        "one whose WAL checkpoints run on the checkpointer thread (server/storage/sqlite-checkpointer.ts, the server's default), one where SQLite runs " +
        "them inside this connection's commits every 1,000 pages (its default, and this project's before). Time per write is event-loop time " +
        "(synchronous better-sqlite3 calls); on the thread, a write that meets the thread's RESTART waits asynchronously (the loop stays free), " +
        "which is where its longest writes come from; inline, the longest writes are the checkpoints' copies and fsyncs, with the loop frozen.",
    );
    out.push("");
    out.push("| checkpoints | µs per write (rounds) | p99 ms (rounds) | longest ms (rounds) |");
    out.push("|---|---|---|---|");
    for (const [name, r] of [["inside the commits", checkpoint.inline], ["on the thread", checkpoint.thread]] as const) {
      out.push(`| ${name} | ${r.perWriteUs.map((x) => fmt(x, 0)).join(", ")} | ${r.p99Ms.map((x) => fmt(x, 1)).join(", ")} | ${r.longestMs.map((x) => fmt(x, 1)).join(", ")} |`);
    }
  }

  if (recovery) {
    out.push("");
    out.push("## 9. Recovery under API load");
    out.push("");
    out.push(
      `A webhook with ${fmt(recovery.deliveries, 0)} failed deliveries (SQLite, the worker in the server's process at concurrency 64, the receiver back): ` +
        "one client calls the API back to back on one connection, a logs page and a webhook update in turn, first with the worker idle, then from " +
        `POST …/recover until the receiver has had every delivery. The recover call answered in ${fmt(recovery.recoverAnswerMs, 0)} ms (it counts the range); ` +
        `the deliveries arrived in ${fmt(recovery.seconds, 1)} s (${fmt(recovery.perSecond, 0)}/s) while the API kept answering.`,
    );
    out.push("");
    out.push("| call | calls before / during | p50 ms before → during | p99 ms before → during | longest ms before → during |");
    out.push("|---|---|---|---|---|");
    for (const [name, r] of [["logs page (per_page 25)", recovery.logsPageMs], ["webhook update (PUT name)", recovery.updateMs]] as const) {
      out.push(
        `| ${name} | ${r.baseline.n} / ${r.during.n} | ${fmt(r.baseline.p50)} → ${fmt(r.during.p50)} | ${fmt(r.baseline.p99)} → ${fmt(r.during.p99)} | ${fmt(r.baseline.max, 0)} → ${fmt(r.during.max, 0)} |`,
      );
    }
  }

  const failed = Object.entries(s).filter(([, x]) => x?.error);
  if (failed.length > 0) {
    out.push("");
    out.push("## Failures");
    for (const [name, x] of failed) out.push(`- **${name}**: ${x!.error}`);
  }

  out.push("");
  out.push("## Sections");
  out.push("");
  out.push("| section | seconds | load average before → after |");
  out.push("|---|---:|---|");
  for (const [name, x] of Object.entries(s)) if (x) out.push(`| ${name} | ${fmt(x.seconds, 1)} | ${x.loadAverage.before} → ${x.loadAverage.after} |`);
  out.push("");
  return out.join("\n");
}

/** Rows of one concurrency: our drain, then each runner beside it. */
function subjectRows(dialect: string, recordSeconds: number, concurrency: string, c: ConcurrencyFigures, manyRecordSeconds?: number): string[] {
  const record = manyRecordSeconds === undefined ? `${fmt(recordSeconds)} s` : `${fmt(recordSeconds)} s / ${fmt(manyRecordSeconds)} s`;
  const row = (name: string, f: SubjectFigures) =>
    `| ${dialect} | ${record} | ${concurrency} | ${name} | **${fmt(f.medianPerSecond, 0)}** | ${f.runs.map((x) => fmt(x.perSecond, 0)).join(", ")} | ` +
    `${f.runs.map((x) => fmt(x.workerCpuMs, 0)).join(", ")} | ${f.runs.map((x) => (x.maxRssMB === undefined ? "—" : fmt(x.maxRssMB, 0))).join(", ")} |`;
  return [row("ours, one webhook", c), ...Object.entries(c.others).map(([name, f]) => row(name === "many" ? "ours, many webhooks" : name, f!))];
}
