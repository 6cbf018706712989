// Opens SQLite (a file, for one process) or PostgreSQL (for several workers) behind one Kysely instance.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import type {
  CompiledQuery,
  DatabaseConnection,
  Driver,
  KyselyConfig,
  PostgresPool,
  PostgresPoolClient,
  QueryResult,
  SqliteDatabase,
  TransactionSettings,
} from "kysely";
import pg from "pg";
import { migrate as runMigrations } from "./migrations.js";
import type { Schema } from "./schema.js";
import { currentDeadline, remainingMs } from "./deadline.js";
import { classifyDatabaseError, DatabaseUnavailableError, isSqliteLockCode, unavailable } from "./unavailable.js";

export type Dialect = "sqlite" | "postgres";

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  maxConnections?: number;
  /** Kysely's query log hook, e.g. to report slow queries. */
  log?: KyselyConfig["log"];
  /**
   * PostgreSQL: told when a pooled connection that is not running a query breaks (server restart,
   * terminated backend). The pool has already dropped it; the next query opens a new one.
   */
  onConnectionError?: (error: Error) => void;
  /** PostgreSQL: how long to wait for a pooled connection, connecting included (default 2,000 ms). */
  connectTimeoutMs?: number;
  /** PostgreSQL: the server's statement_timeout (default 3,000 ms; 0 for none). */
  statementTimeoutMs?: number;
  /**
   * PostgreSQL: how long a query may go without an answer before its connection is given up on (default
   * 4,000 ms; 0 for none). A backstop for a server that is not there to enforce its own statement_timeout.
   */
  queryTimeoutMs?: number;
  /** SQLite: how long a statement keeps retrying while the file is locked by another connection (default 2,500 ms). */
  lockWaitMs?: number;
  /**
   * SQLite: false opens Kysely's plain driver with a synchronous busy_timeout of lockWaitMs instead (the
   * event loop freezes while the file is locked). Only for `npm run bench`, which measures what the
   * asynchronous wait costs against it; never for a server.
   */
  asyncLockWait?: boolean;
}

// Every request gets its answer, or its 503, within 5 seconds (see "When the database goes away" in the
// README): no wait on the database may be longer than these.
const PG_CONNECT_TIMEOUT_MS = 2_000;
const PG_STATEMENT_TIMEOUT_MS = 3_000;
const PG_QUERY_TIMEOUT_MS = 4_000;
const SQLITE_LOCK_WAIT_MS = 2_500;

const PG_INT8_OID = 20;

export type DatabaseLocation =
  | { dialect: "sqlite"; filename: string }
  | { dialect: "postgres"; connectionString: string };

/**
 * `postgres://…` / `postgresql://…`, `sqlite::memory:`, `sqlite:PATH`, or a bare file path.
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: "postgres", connectionString: url };
  if (url === "sqlite::memory:" || url === ":memory:") return { dialect: "sqlite", filename: ":memory:" };
  const path = url.startsWith("sqlite:") ? url.slice("sqlite:".length) : url;
  if (path === "") throw new Error(`Database URL has no path: ${url}`);
  return { dialect: "sqlite", filename: path };
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const location = parseDatabaseUrl(url);
  if (location.dialect === "postgres" && (options.migrate ?? true)) {
    // Migrations may rightly take longer than a request's statement timeout (an index on a big table, or
    // waiting for another process's migration lock): they run on a connection of their own without one.
    const migrating = openPostgres(location.connectionString, { ...options, maxConnections: 1, statementTimeoutMs: 0, queryTimeoutMs: 0, connectTimeoutMs: 30_000 });
    try {
      await runMigrations(migrating);
    } finally {
      await migrating.close();
    }
    return openPostgres(location.connectionString, options);
  }
  const database = location.dialect === "postgres" ? openPostgres(location.connectionString, options) : openSqlite(location.filename, options);
  if (options.migrate ?? true) {
    try {
      await runMigrations(database);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}

function openSqlite(filename: string, options: OpenOptions): Database {
  if (filename !== ":memory:") mkdirSync(dirname(resolve(filename)), { recursive: true });
  const sqlite = new BetterSqlite3(filename);
  // WAL lets readers run while the worker writes; NORMAL is durable across app crashes in WAL mode
  // (only an OS crash can lose the last transactions) and saves an fsync per commit.
  // Opening may wait for the lock (nothing else runs yet); from then on nothing waits synchronously.
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
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
  return { db, dialect: "sqlite", close: () => db.destroy() };
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

function openPostgres(connectionString: string, options: OpenOptions): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    // Waiting for a pooled connection and opening one are bounded: a server that is down or full is a 503.
    connectionTimeoutMillis: options.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
    // Sent at connection start-up: the server cancels a statement that runs (or waits for a lock) longer.
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    // A connection to a host that vanished (no RST) is noticed rather than waited on forever.
    keepAlive: true,
    // Timestamps are epoch milliseconds in bigint columns and counts come back as int8: both fit in a JS
    // number. Set per pool rather than on pg's global registry, which other code may share.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8_OID && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool: guardPool(pool, options.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS, options.onConnectionError) }),
    log: options.log,
  });
  return { db, dialect: "postgres", close: () => db.destroy() };
}

/*
 * PostgreSQL connections break: a restart or failover, pg_terminate_backend, an idle timeout, PgBouncer.
 * node-postgres then emits `error` on the Client, and Node ends the process when nobody listens. The pool
 * listens on idle clients only; a checked-out one (Kysely holds one for a query or a transaction) has no
 * listener. So every client gets its own listener when it connects, which also marks it broken:
 *
 * - a query on a broken client fails at once with DatabaseUnavailableError, and any failure of a query
 *   on a client that broke is one too (node-postgres reports "Connection terminated unexpectedly" and the
 *   like without a code: the place says what happened, not the text);
 * - a broken client is destroyed when released, never handed out again;
 * - any failure to get a connection (refused, connect timeout, the server starting up or shutting down,
 *   too many connections, a full pool past connectTimeoutMs) is DatabaseUnavailableError;
 * - a query without an answer after queryTimeoutMs fails with DatabaseUnavailableError and its client is
 *   given up on;
 * - a request's deadline (deadline.ts) bounds all of it: pool.connect() is raced with it (a connection
 *   that comes too late goes back to the pool), a query is not sent once it has passed, and one still
 *   without an answer when it passes fails with DatabaseUnavailableError; in both cases the client is
 *   given up on (destroyed on release), so a transaction cut short never goes back to the pool open;
 * - any other query error keeps its class (classifyDatabaseError: 57014, 08xxx, 57Pxx, 53300 are
 *   unavailable by their SQLSTATE; a constraint violation stays what it is).
 */
function guardPool(pool: pg.Pool, queryTimeoutMs: number, onConnectionError?: (error: Error) => void): PostgresPool {
  const broken = new WeakMap<pg.ClientBase, Error>();
  const guarded = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const markBroken = (client: pg.ClientBase, error: Error) => {
    if (broken.has(client)) return;
    broken.set(client, error);
    onConnectionError?.(error);
  };
  pool.on("connect", (client) => {
    client.on("error", (error) => markBroken(client, error));
    client.on("end", () => {
      if (!broken.has(client)) broken.set(client, new Error("The connection ended"));
    });
  });
  // An idle client's error is also re-emitted on the pool (which then drops the client): heard above.
  pool.on("error", () => {});
  /** The request's deadline passed: not the connection's fault, so not reported, but it is not reused. */
  const giveUp = (client: pg.ClientBase, error: Error) => {
    if (!broken.has(client)) broken.set(client, error);
  };
  const pastDeadline = () => new DatabaseUnavailableError("The database did not answer within the request's deadline");

  const guard = (client: pg.PoolClient): PostgresPoolClient => ({
    query(text: unknown, parameters?: ReadonlyArray<unknown>) {
      const gone = broken.get(client);
      if (gone !== undefined) return Promise.reject(unavailable(gone, "The database connection was lost"));
      const left = remainingMs();
      if (left <= 0) {
        const error = pastDeadline();
        giveUp(client, error);
        return Promise.reject(error);
      }
      const running = client.query(text as string, parameters as unknown[]);
      return new Promise<pg.QueryResult>((resolve, reject) => {
        const byDeadline = left < queryTimeoutMs || queryTimeoutMs <= 0;
        const limit = byDeadline ? left : queryTimeoutMs;
        const timer = Number.isFinite(limit)
          ? setTimeout(() => {
              if (byDeadline) {
                const error = pastDeadline();
                giveUp(client, error);
                reject(error);
                return;
              }
              const error = new DatabaseUnavailableError(`The database did not answer within ${queryTimeoutMs} ms`);
              markBroken(client, error);
              reject(error);
            }, limit)
          : undefined;
        running.then(
          (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          (error: unknown) => {
            clearTimeout(timer);
            const lost = broken.get(client);
            reject(lost !== undefined ? unavailable(error, "The database connection was lost") : classifyDatabaseError(error));
          },
        );
      });
    },
    release() {
      // With an error, the pool destroys the client instead of keeping it.
      client.release(broken.get(client));
    },
  }) as PostgresPoolClient;

  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await connectBefore(pool, remainingMs());
      } catch (error) {
        throw unavailable(error, "Could not get a database connection");
      }
      let wrapped = guarded.get(client);
      if (wrapped === undefined) {
        wrapped = guard(client);
        guarded.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/** pool.connect(), given up on after `leftMs` (the request's deadline); a connection that comes later goes back to the pool. */
async function connectBefore(pool: pg.Pool, leftMs: number): Promise<pg.PoolClient> {
  if (!Number.isFinite(leftMs)) return pool.connect();
  if (leftMs <= 0) throw new DatabaseUnavailableError("No time left to get a database connection within the request's deadline");
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError("No database connection within the request's deadline")), leftMs);
  });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then(
      (client) => client.release(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves when the database can answer within `timeoutMs`; otherwise throws DatabaseUnavailableError.
 * On SQLite "answer" means taking the write lock (BEGIN IMMEDIATE, ROLLBACK): reads keep working while
 * another connection holds it, writes do not. On PostgreSQL, `select 1` on a pooled connection.
 */
export async function checkDatabase(database: Database, timeoutMs = 2_000): Promise<void> {
  const probe =
    database.dialect === "postgres"
      ? sql`select 1`.execute(database.db).then(() => {})
      : database.db.connection().execute(async (connection) => {
          await sql`BEGIN IMMEDIATE`.execute(connection);
          await sql`ROLLBACK`.execute(connection);
        });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`The database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe.catch((error: unknown) => Promise.reject(classifyDatabaseError(error))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connections that run an open transaction of inTransaction's own (SQLite's BEGIN IMMEDIATE). */
const openTransactions = new WeakSet<Kysely<Schema>>();

/**
 * Runs `work` in one transaction and hands it a Database bound to that transaction, so the table
 * modules' functions compose. Inside a transaction already, `work` simply joins it.
 *
 * SQLite transactions start with BEGIN IMMEDIATE: one that began by reading (the default, deferred)
 * fails at once with SQLITE_BUSY when another process (the CLI, a second server) wrote in between,
 * whereas waiting for the write lock up front honours busy_timeout.
 */
export async function inTransaction<T>(database: Database, work: (tx: Database) => Promise<T>): Promise<T> {
  if (database.db.isTransaction || openTransactions.has(database.db)) return work(database);
  const bound = (db: Kysely<Schema>): Database => ({
    db,
    dialect: database.dialect,
    close: () => Promise.reject(new Error("close() the Database that opened the transaction, not the transaction")),
  });
  if (database.dialect === "postgres") return database.db.transaction().execute((trx) => work(bound(trx)));
  return database.db.connection().execute(async (connection) => {
    await sql`BEGIN IMMEDIATE`.execute(connection);
    openTransactions.add(connection);
    try {
      const result = await work(bound(connection));
      await sql`COMMIT`.execute(connection);
      return result;
    } catch (error) {
      await sql`ROLLBACK`.execute(connection).catch(() => {});
      throw error;
    } finally {
      openTransactions.delete(connection);
    }
  });
}
