// WAL checkpoints on a thread of their own, so that they never hold up the event loop.
//
// In WAL mode a commit appends pages to the -wal file; a checkpoint copies them back into the database
// file and syncs it (with synchronous = NORMAL the checkpoint is where the fsyncs are: none at commit).
// SQLite runs one itself in the COMMIT that takes the WAL past 1,000 pages (wal_autocheckpoint): on
// better-sqlite3 that is a synchronous copy of ≈ 4 MB and two fsyncs inside whichever request or
// delivery committed, with every other request of the process waiting. On a busy disk an fsync can take
// seconds: a frozen event loop. Measured at 700 events/s (intake with the worker in the process):
// COMMIT 0.237 ms on average with the checkpoints in it, 0.140 ms without.
//
// So the process's own connection checkpoints only as a backstop (BACKSTOP_PAGES, in case this thread
// falls behind or is gone), and a worker thread with a connection of its own runs, every INTERVAL_MS:
// - PASSIVE: copies what it can without waiting for anyone; the process's writes go on meanwhile.
// - RESTART, when the WAL still holds RESTART_FRAMES or more after that: under steady writes a PASSIVE
//   checkpoint never catches up with the last commit, and SQLite starts the WAL over (reusing the file
//   from its beginning) only after one has; otherwise the file would grow for as long as writes go on.
//   RESTART holds off new writers while it copies the few frames PASSIVE left and syncs; a write of the
//   process meets SQLITE_BUSY meanwhile and is retried asynchronously (sqlite.ts): it waits (tens of
//   milliseconds under heavy writes, bench section 8) without freezing anything. RESTART's own wait for a
//   write under way is bounded by its connection's busy_timeout (RESTART_WAIT_MS).
//
// A checkpoint moves committed pages from one file to the other: it never loses or changes a committed
// transaction, and a crash in the middle of one is recovered by SQLite on the next open.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** How often the thread checkpoints. */
const INTERVAL_MS = 200;
/** WAL frames (pages) left after a PASSIVE checkpoint that make the thread RESTART the WAL (≈ 40 MB). */
const RESTART_FRAMES = 10_000;
/** How long RESTART waits for a write transaction under way (busy_timeout of the thread's connection). */
const RESTART_WAIT_MS = 200;
/** The process's own connection checkpoints only past this many WAL pages (≈ 160 MB): the backstop. */
export const BACKSTOP_PAGES = 40_000;

// CommonJS, run by the worker thread as a script (eval: a file beside this one would need its own build
// and resolution in source and in dist). Errors are reported to the parent, which logs nothing secret:
// SQLite's messages carry no data.
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = " + workerData.restartWaitMs);
const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const restart = db.prepare("PRAGMA wal_checkpoint(RESTART)");
function tick() {
  try {
    if (passive.get().log >= workerData.restartFrames) {
      passive.get(); // the frames written during the first: what RESTART copies with writers held off is then little
      restart.get();
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
let timer = setTimeout(tick, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the thread and closes its connection (before the process's own connection closes). */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  onError(message: string): void;
  /** Tests only: the module's constants otherwise. */
  intervalMs?: number;
  restartFrames?: number;
}

export function startCheckpointer(filename: string, options: CheckpointerOptions): Checkpointer {
  const { onError } = options;
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    execArgv: [], // not the parent's (e.g. --import tsx): the script is plain CommonJS
    workerData: {
      driver: createRequire(import.meta.url).resolve("better-sqlite3"),
      filename,
      intervalMs: options.intervalMs ?? INTERVAL_MS,
      restartFrames: options.restartFrames ?? RESTART_FRAMES,
      restartWaitMs: RESTART_WAIT_MS,
    },
  });
  // Never what keeps the process alive; a thread that died leaves the backstop to checkpoint.
  worker.unref();
  worker.on("message", (message: { error?: string }) => {
    if (message.error !== undefined) onError(message.error);
  });
  worker.on("error", (error) => onError(error.message));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    async stop() {
      worker.ref(); // now its exit is awaited
      worker.postMessage("stop");
      await exited;
    },
  };
}
