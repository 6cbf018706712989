// What the asynchronous SQLite lock wait costs (server/storage/db.ts, issue 16): the same storage calls
// through the server's driver, which retries SQLITE_BUSY on the event loop, and through Kysely's plain
// driver with a synchronous busy_timeout (the design it replaced, which freezes the process while another
// connection holds the lock). Nothing is locked here: this is the price on the everyday path, where the
// issue allows at most 5 %. Both run in this process, interleaved round by round, on files of their own
// with the same rows, so the ratio holds on a shared machine where absolute figures do not.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listLogs } from "../../server/storage/logs.js";
import { recordEvents } from "../../server/storage/queue/record-events.js";
import { callEndedEvent, openBenchSubject, type BenchSubject } from "../lib/fixtures.js";
import { median } from "../lib/stats.js";

export interface SqliteLockWaitOptions {
  /** Calls per variant per round, for each of the two operations. */
  calls: number;
  rounds: number;
  log: (line: string) => void;
}

/** CPU µs per call (user + system of this process), one figure per round. */
interface VariantRuns {
  intakeUs: number[];
  logsUs: number[];
}

export interface SqliteLockWaitResult {
  calls: number;
  rounds: number;
  plain: VariantRuns;
  asyncWait: VariantRuns;
  /** Median over rounds of plain ÷ async CPU per call: 1 is free, 0.95 is a 5 % cost. */
  intakeRatio: number;
  logsRatio: number;
}

export const sqliteLockWaitOptions = (quick: boolean) => ({ calls: quick ? 1_000 : 4_000, rounds: quick ? 3 : 5 });

// No checkpointer threads: their CPU is this process's too, whichever file they work on (section 8 measures them).
const subject = (file: string, asyncLockWait: boolean) => openBenchSubject(file, { asyncLockWait, checkpointThread: false });

/** One event fanned out to one webhook, as the intake writes it (one transaction: event, delivery, log). */
function intake(s: BenchSubject) {
  return recordEvents(s.database, [callEndedEvent(s)]);
}

/** Page 1 of the logs listing, as the API reads it. */
function logsPage({ database, webhookId }: BenchSubject) {
  return listLogs(database, webhookId, { page: 1, perPage: 25 });
}

async function cpuPerCall(calls: number, call: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) await call();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}


export async function runSqliteLockWait({ calls, rounds, log }: SqliteLockWaitOptions): Promise<SqliteLockWaitResult> {
  const dir = mkdtempSync(join(tmpdir(), "talkover-bench-sqlite-"));
  try {
    const plain = await subject(join(dir, "plain.sqlite"), false);
    const asyncWait = await subject(join(dir, "async.sqlite"), true);
    const runs = { plain: { intakeUs: [], logsUs: [] } as VariantRuns, asyncWait: { intakeUs: [], logsUs: [] } as VariantRuns };
    // Warm both (statement caches, JIT), then alternate which goes first.
    for (const s of [plain, asyncWait]) {
      await cpuPerCall(200, () => intake(s));
      await cpuPerCall(200, () => logsPage(s));
    }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["plain", "asyncWait"] as const) : (["asyncWait", "plain"] as const);
      for (const name of order) {
        const s = name === "plain" ? plain : asyncWait;
        runs[name].intakeUs.push(await cpuPerCall(calls, () => intake(s)));
        runs[name].logsUs.push(await cpuPerCall(calls, () => logsPage(s)));
      }
      log(
        `round ${round + 1}: intake ${runs.plain.intakeUs.at(-1)!.toFixed(0)} µs plain vs ${runs.asyncWait.intakeUs.at(-1)!.toFixed(0)} µs async; ` +
          `logs page ${runs.plain.logsUs.at(-1)!.toFixed(0)} vs ${runs.asyncWait.logsUs.at(-1)!.toFixed(0)} µs`,
      );
    }
    await plain.database.close();
    await asyncWait.database.close();
    const ratio = (key: keyof VariantRuns) => median(runs.plain[key].map((p, i) => p / runs.asyncWait[key][i]!));
    const result = { calls, rounds, ...runs, intakeRatio: ratio("intakeUs"), logsRatio: ratio("logsUs") };
    log(`plain ÷ async CPU per call, median of ${rounds} rounds: intake ${result.intakeRatio.toFixed(3)}, logs page ${result.logsRatio.toFixed(3)}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
