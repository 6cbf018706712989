// Child processes and temp directories of the benchmarks, cleaned up always: on normal exit, on an error,
// on Ctrl-C / SIGTERM. Every child is `node --conditions=talkover-source --import tsx <file>` started from the repository root, and
// announces itself with one stdout line `READY {json}` (its URL, ids, …); any later `RESULT {json}` line is
// its answer. Children are stopped by their own pid (SIGTERM, then SIGKILL after a grace period).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BENCH_DIR = join(REPO_ROOT, "bench");

/** True when `importMetaUrl` is the module node was started with (a module run alone). */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(resolve(entry)).href === importMetaUrl;
}

// ---------------------------------------------------------------------------------------------------
// Cleanup registry

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const cleanups = new Set<() => Promise<void>>();
let handlersInstalled = false;
let terminateHandlerInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort, synchronous: whatever is still alive or on disk when this process exits.
  process.on("exit", () => {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        /* already gone */
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      // A child with its own stop (onTerminate) shuts down in order first; its exit removes the temp dirs.
      if (terminateHandlerInstalled && signal !== "SIGHUP") return;
      void cleanupAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
}

/** A temp directory removed at exit (or by cleanupAll). */
export function makeTempDir(prefix = "talkover-bench-"): string {
  installHandlers();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** An async cleanup (a PostgreSQL server, a database) run by cleanupAll; returns its unregister function. */
export function onCleanup(fn: () => Promise<void>): () => void {
  installHandlers();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Stops every child, runs the registered cleanups, removes the temp directories. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    await fn().catch((err) => console.error("[bench] cleanup failed:", (err as Error).message));
  }
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

// ---------------------------------------------------------------------------------------------------
// Children

export interface Child<Ready = unknown> {
  pid: number;
  process: ChildProcess;
  ready: Ready;
  /** The next `RESULT {json}` line (or rejects when the child exits first). */
  result<T = unknown>(): Promise<T>;
  /** Resolves with the exit code once the child has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  /** Lines the child wrote to stderr (kept for error messages). */
  stderr(): string;
}

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  /** Extra node flags, e.g. ["--cpu-prof"]. */
  nodeFlags?: string[];
  /** How long to wait for READY. */
  readyTimeoutMs?: number;
  /** Prefix stderr lines with this and echo them (default: keep quiet, keep the last lines). */
  echoStderr?: string;
  /** False for a child that prints no READY line (it just computes and prints its RESULT). */
  waitReady?: boolean;
}

/** `node --conditions=talkover-source --import tsx <file> …args`, waiting for its READY line. */
export async function spawnTs<Ready = unknown>(file: string, options: SpawnOptions = {}): Promise<Child<Ready>> {
  installHandlers();
  const path = resolve(BENCH_DIR, file);
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), "--conditions=talkover-source", "--import", "tsx", path, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const exited = new Promise<number | null>((resolveExit) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolveExit(code ?? (signal ? 128 : null));
    });
  });

  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrLines.push(line);
    if (stderrLines.length > 200) stderrLines.shift();
    if (options.echoStderr !== undefined) console.error(`${options.echoStderr}${line}`);
  });

  const results: unknown[] = [];
  const resultWaiters: Array<(value: unknown) => void> = [];
  let onReady: ((value: unknown) => void) | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith("READY ")) onReady?.(JSON.parse(line.slice(6)));
    else if (line.startsWith("RESULT ")) {
      const value = JSON.parse(line.slice(7));
      const waiter = resultWaiters.shift();
      if (waiter) waiter(value);
      else results.push(value);
    } else if (line.trim() !== "") console.log(`  [${file}] ${line}`);
  });

  const describeExit = (code: number | null) =>
    new Error(`${file} exited (code ${code}) ${stderrLines.length ? `:\n${stderrLines.slice(-30).join("\n")}` : ""}`);

  const ready = await new Promise<Ready>((resolveReady, reject) => {
    if (options.waitReady === false) return resolveReady(undefined as Ready);
    const timer = setTimeout(() => reject(new Error(`${file}: no READY within ${options.readyTimeoutMs ?? 120_000} ms`)), options.readyTimeoutMs ?? 120_000);
    onReady = (value) => {
      clearTimeout(timer);
      resolveReady(value as Ready);
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(describeExit(code));
    });
  }).catch(async (err) => {
    await stopChild(child);
    throw err;
  });

  return {
    pid: child.pid!,
    process: child,
    ready,
    result<T>() {
      if (results.length > 0) return Promise.resolve(results.shift() as T);
      return new Promise<T>((resolveResult, reject) => {
        resultWaiters.push(resolveResult as (value: unknown) => void);
        void exited.then((code) => reject(describeExit(code)));
      });
    },
    exited,
    stop: () => stopChild(child),
    stderr: () => stderrLines.join("\n"),
  };
}

/** Flags from an environment variable, split on spaces (e.g. BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"). */
export function envFlags(name: string): string[] {
  return (process.env[name] ?? "").split(" ").filter((f) => f !== "");
}

/** Runs a child to completion: spawn, wait for its RESULT, wait for its exit. */
export async function runTs<T>(file: string, options: SpawnOptions = {}): Promise<T> {
  const child = await spawnTs(file, { waitReady: false, ...options });
  try {
    const result = await child.result<T>();
    await child.exited;
    return result;
  } finally {
    await child.stop();
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
  children.delete(child);
}

// ---------------------------------------------------------------------------------------------------
// The child side

/** Announces readiness to the parent (one stdout line). */
export function announceReady(value: unknown): void {
  process.stdout.write(`READY ${JSON.stringify(value)}\n`);
}

/** Hands a result to the parent (one stdout line). */
export function announceResult(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

/** Runs `stop` once on SIGTERM/SIGINT, then exits. */
export function onTerminate(stop: () => Promise<void>): void {
  terminateHandlerInstalled = true;
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop()
      .catch((err) => console.error((err as Error).stack))
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** `--name value` and `--flag` arguments. */
export function parseArgs(argv: string[] = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) out[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) out[arg.slice(2)] = argv[++i]!;
    else out[arg.slice(2)] = "true";
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// Another process's CPU time and memory (Linux /proc; undefined elsewhere)

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on every Linux architecture Node runs on

/** User + system CPU time of a process so far, in ms (10 ms resolution). */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
