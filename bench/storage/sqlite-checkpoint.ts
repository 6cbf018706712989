// What the checkpointer thread (server/storage/sqlite-checkpointer.ts) saves the event loop: the same
// intake writes on two files, one whose WAL checkpoints run on the thread, one where SQLite runs them
// inside this connection's commits (every 1,000 pages, its default). Interleaved round by round, so the
// ratio holds on a shared machine. The figures are the event loop's time per write (the calls are
// synchronous better-sqlite3 work: wall time here is time the loop could do nothing else) and the longest
// single write, where an inline checkpoint's copy and fsyncs land.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordEvents } from "../../server/storage/queue/record-events.js";
import { callEndedEvent, openBenchSubject, type BenchSubject } from "../lib/fixtures.js";
import { median } from "../lib/stats.js";

export interface SqliteCheckpointOptions {
  /** Writes per variant per round (each: 10 events, one delivery each, one transaction). */
  writes: number;
  rounds: number;
  log: (line: string) => void;
}

interface VariantRuns {
  /** Event-loop µs per write, one figure per round. */
  perWriteUs: number[];
  /** The longest write of each round, ms. */
  longestMs: number[];
  /** The 99th percentile of each round's writes, ms. */
  p99Ms: number[];
}

export interface SqliteCheckpointResult {
  writes: number;
  rounds: number;
  inline: VariantRuns;
  thread: VariantRuns;
  /** Median over rounds of thread ÷ inline time per write: below 1 is what the thread saves. */
  perWriteRatio: number;
  /** Medians over rounds of the longest write and of the 99th percentile, ms. */
  longestMs: { inline: number; thread: number };
  p99Ms: { inline: number; thread: number };
}

export const sqliteCheckpointOptions = (quick: boolean) => ({ writes: quick ? 1_000 : 3_000, rounds: quick ? 2 : 5 });

const subject = (file: string, checkpointThread: boolean) => openBenchSubject(file, { checkpointThread });

/** One intake batch: 10 events of one delivery each, one transaction, as the intake's group commit writes them. */
function write(s: BenchSubject) {
  const input = callEndedEvent(s);
  return recordEvents(s.database, Array.from({ length: 10 }, () => input));
}

async function timeWrites(writes: number, s: BenchSubject): Promise<{ perWriteUs: number; longestMs: number; p99Ms: number }> {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < writes; i++) {
    const t = performance.now();
    await write(s);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { perWriteUs: ((performance.now() - start) * 1000) / writes, longestMs: times.at(-1)!, p99Ms: times[Math.floor(writes * 0.99)]! };
}

export async function runSqliteCheckpoint({ writes, rounds, log }: SqliteCheckpointOptions): Promise<SqliteCheckpointResult> {
  const dir = mkdtempSync(join(tmpdir(), "talkover-bench-checkpoint-"));
  try {
    const inline = await subject(join(dir, "inline.sqlite"), false);
    const thread = await subject(join(dir, "thread.sqlite"), true);
    const runs = { inline: { perWriteUs: [], longestMs: [], p99Ms: [] } as VariantRuns, thread: { perWriteUs: [], longestMs: [], p99Ms: [] } as VariantRuns };
    for (const s of [inline, thread]) await timeWrites(300, s); // statement caches, JIT
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["inline", "thread"] as const) : (["thread", "inline"] as const);
      for (const name of order) {
        const r = await timeWrites(writes, name === "inline" ? inline : thread);
        runs[name].perWriteUs.push(r.perWriteUs);
        runs[name].longestMs.push(r.longestMs);
        runs[name].p99Ms.push(r.p99Ms);
      }
      log(
        `round ${round + 1}: ${runs.inline.perWriteUs.at(-1)!.toFixed(0)} µs per write inline (p99 ${runs.inline.p99Ms.at(-1)!.toFixed(1)}, longest ${runs.inline.longestMs.at(-1)!.toFixed(1)} ms) ` +
          `vs ${runs.thread.perWriteUs.at(-1)!.toFixed(0)} µs on the thread (p99 ${runs.thread.p99Ms.at(-1)!.toFixed(1)}, longest ${runs.thread.longestMs.at(-1)!.toFixed(1)} ms)`,
      );
    }
    await inline.database.close();
    await thread.database.close();
    const result: SqliteCheckpointResult = {
      writes,
      rounds,
      ...runs,
      perWriteRatio: median(runs.thread.perWriteUs.map((t, i) => t / runs.inline.perWriteUs[i]!)),
      longestMs: { inline: median(runs.inline.longestMs), thread: median(runs.thread.longestMs) },
      p99Ms: { inline: median(runs.inline.p99Ms), thread: median(runs.thread.p99Ms) },
    };
    log(
      `thread ÷ inline event-loop time per write, median of ${rounds} rounds: ${result.perWriteRatio.toFixed(3)}; ` +
        `p99 ${result.p99Ms.inline.toFixed(1)} ms inline, ${result.p99Ms.thread.toFixed(1)} ms on the thread; ` +
        `longest ${result.longestMs.inline.toFixed(1)} ms inline, ${result.longestMs.thread.toFixed(1)} ms on the thread`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("sqlite-checkpoint.ts")) {
  await runSqliteCheckpoint({ ...sqliteCheckpointOptions(process.argv.includes("--quick")), log: (l) => console.error(l) });
}
