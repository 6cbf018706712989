// SQLite through better-sqlite3: one file, one process (the default). What matters here is that a file
// locked by another connection never freezes the event loop (see the comment above LockRetryingSqliteDialect).
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, SqliteDatabase, TransactionSettings } from "kysely";
import type { Database, OpenOptions } from "./db.js";
import { currentDeadline } from "./deadline.js";
import { BACKSTOP_PAGES, startCheckpointer } from "./sqlite-checkpointer.js";
import type { Schema } from "./schema.js";
import { DatabaseUnavailableError, isSqliteLockCode, unavailable } from "./unavailable.js";

/** How long a statement keeps retrying while another connection holds the lock (the 5 s bound: deadline.ts). */
const SQLITE_LOCK_WAIT_MS = 2_500;

export function openSqlite(filename: string, options: OpenOptions): Database {
  if (filename !== ":memory:") mkdirSync(dirname(resolve(filename)), { recursive: true });
  const sqlite = new BetterSqlite3(filename);
  // WAL lets readers run while the worker writes; NORMAL is durable across app crashes in WAL mode
  // (only an OS crash can lose the last transactions) and saves an fsync per commit.
  // Opening may wait for the lock (nothing else runs yet); from then on nothing waits synchronously.
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  // Checkpoints on a thread of their own; this connection only as a backstop (sqlite-checkpointer.ts).
  const checkpointer =
    filename === ":memory:" || options.checkpointThread === false
      ? undefined
      : startCheckpointer(filename, { onError: (message) => options.onConnectionError?.(new Error(`SQLite checkpoint: ${message}`)) });
  if (checkpointer) sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const lockWaitMs = options.lockWaitMs ?? SQLITE_LOCK_WAIT_MS;
  const config = { database: withStatementCache(sqlite) };
  let dialect: SqliteDialect;
  if (options.asyncLockWait === false) {
    sqlite.pragma(`busy_timeout = ${lockWaitMs}`);
    dialect = new SqliteDialect(config);
  } else {
    sqlite.pragma("busy_timeout = 0");
    dialect = new LockRetryingSqliteDialect(config, lockWaitMs);
  }
  const db = new Kysely<Schema>({ dialect, log: options.log });
  return {
    db,
    dialect: "sqlite",
    close: async () => {
      // The thread first: the last connection to close checkpoints and removes the WAL, as before.
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/*
 * A locked SQLite file must not freeze the process.
 *
 * better-sqlite3 is synchronous: with a busy_timeout, a statement that meets another connection's write
 * lock (a backup, the sqlite3 shell, a migration or a second server on the same file) sleeps inside
 * SQLite, and the whole event loop with it: /healthz, every request, the worker's sends. So the busy
 * timeout is 0, and the waiting happens here instead, asynchronously: a statement that fails with
 * SQLITE_BUSY or SQLITE_LOCKED is run again after a short sleep (1 ms growing to 100 ms, with jitter, as
 * SQLite's own busy handler does), until a deadline; then it fails with DatabaseUnavailableError, which
 * the API answers with 503 and Retry-After.
 *
 * Why this rather than the database on a worker thread: it keeps the hot path as it is (a synchronous
 * call, no message passing or copying of rows between threads, the same statement cache), so throughput
 * does not change when nothing is locked; the cost is only paid while a lock is met.
 *
 * Retrying a statement is safe: SQLite guarantees that a statement that failed with SQLITE_BUSY did
 * nothing. Transactions begin with BEGIN IMMEDIATE (inTransaction), so the lock is met, and retried, on
 * the BEGIN, before anything was read; SQLITE_BUSY_SNAPSHOT (a deferred transaction whose snapshot went
 * stale) cannot succeed by retrying the statement and fails at once. In WAL mode readers are not blocked
 * by a writer's lock: while another connection holds it, reads keep answering and only writes wait.
 *
 * The deadline counts from when the caller started waiting for the connection (Kysely runs SQLite's
 * queries one at a time through one connection, so a queued query's wait counts too) or from when this
 * run of lock errors began, whichever is earlier: once a lock has been held for the whole wait, later
 * writes give up on their first attempt instead of each waiting its own full wait in turn (the intake's
 * group commit would otherwise queue one batch's wait behind the other's). A request's own deadline
 * (deadline.ts) ends the wait sooner when it comes first.
 */
class LockRetryingSqliteDialect extends SqliteDialect {
  constructor(
    config: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly lockWaitMs: number,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new LockRetryingDriver(super.createDriver(), this.lockWaitMs);
  }
}

/** Lock errors closer together than this belong to one run (one lock held by someone else). */
const LOCK_RUN_GAP_MS = 1_000;
const LOCK_RETRY_DELAYS_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

class LockRetryingDriver implements Driver {
  private readonly connections = new WeakMap<DatabaseConnection, LockRetryingConnection>();
  /** The current run of lock errors: when it began, when the last one came. */
  private run: { since: number; last: number } | undefined;

  constructor(
    private readonly inner: Driver,
    readonly lockWaitMs: number,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const waitingSince = performance.now();
    const connection = await this.inner.acquireConnection();
    let wrapped = this.connections.get(connection);
    if (wrapped === undefined) {
      wrapped = new LockRetryingConnection(connection, this);
      this.connections.set(connection, wrapped);
    }
    // One user at a time (the driver's mutex): the deadline of this acquisition is the connection's now.
    wrapped.waitingSince = waitingSince;
    return wrapped;
  }

  // Transactions and savepoints are statements on the wrapped connection, so they are retried too.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }
  savepoint(...args: Parameters<NonNullable<Driver["savepoint"]>>): Promise<void> {
    return this.inner.savepoint!(...args);
  }
  rollbackToSavepoint(...args: Parameters<NonNullable<Driver["rollbackToSavepoint"]>>): Promise<void> {
    return this.inner.rollbackToSavepoint!(...args);
  }
  releaseSavepoint(...args: Parameters<NonNullable<Driver["releaseSavepoint"]>>): Promise<void> {
    return this.inner.releaseSavepoint!(...args);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as LockRetryingConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }

  /** A lock error at `now`: returns when the current run of them began. */
  lockMet(now: number): number {
    if (this.run === undefined || now - this.run.last > LOCK_RUN_GAP_MS) this.run = { since: now, last: now };
    else this.run.last = now;
    return this.run.since;
  }

  /** A statement that needed the write lock got it: the run of lock errors is over. */
  lockTaken(): void {
    this.run = undefined;
  }
}

class LockRetryingConnection implements DatabaseConnection {
  waitingSince = 0;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly driver: LockRetryingDriver,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        // SqliteConnection runs the statement synchronously (it may throw rather than reject).
        const result = await this.inner.executeQuery<R>(query);
        // numAffectedRows is set for statements that are not readers: they had the write lock (or needed none).
        if (attempt > 0 && result.numAffectedRows !== undefined) this.driver.lockTaken();
        return result;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== "string" || !isSqliteLockCode(code)) throw error;
        const now = performance.now();
        // The request's deadline (deadline.ts), when it has one, may come sooner.
        const deadline = Math.min(Math.min(this.waitingSince, this.driver.lockMet(now)) + this.driver.lockWaitMs, currentDeadline() ?? Infinity);
        if (code === "SQLITE_BUSY_SNAPSHOT" || now >= deadline) throw unavailable(error, "The SQLite database is locked");
        const base = LOCK_RETRY_DELAYS_MS[Math.min(attempt, LOCK_RETRY_DELAYS_MS.length - 1)]!;
        const delay = Math.min(base * (0.75 + Math.random() / 2), deadline - now);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * Kysely prepares every query anew; for the batch statements (hundreds of parameters) preparing costs
 * about as much as running. Statements are reused by SQL text, least recently used evicted.
 */
function withStatementCache(sqlite: BetterSqlite3.Database, capacity = 200): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(source: string) {
      const cached = cache.get(source);
      // A statement still being iterated (a streamed query) cannot run again: prepare another one.
      if (cached !== undefined && !cached.busy) {
        cache.delete(source);
        cache.set(source, cached);
        return cached;
      }
      const statement = sqlite.prepare(source);
      cache.set(source, statement);
      if (cache.size > capacity) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}
