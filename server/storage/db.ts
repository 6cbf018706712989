// Opens SQLite (a file, for one process) or PostgreSQL (for several workers) behind one Kysely instance;
// the two openers, and how each rides through a database that goes away, are sqlite.ts and postgres.ts.
import { sql } from "kysely";
import type { Kysely, KyselyConfig } from "kysely";
import { migrate as runMigrations } from "./migrations.js";
import { openPostgres } from "./postgres.js";
import type { Schema } from "./schema.js";
import { openSqlite } from "./sqlite.js";
import { classifyDatabaseError, DatabaseUnavailableError } from "./unavailable.js";

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
   * terminated backend). The pool has already dropped it; the next query opens a new one. SQLite: told
   * when a checkpoint on the checkpointer thread fails (sqlite-checkpointer.ts); the next one tries again.
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
  /**
   * SQLite file: false leaves WAL checkpoints to SQLite inside the commits of this connection (every
   * 1,000 pages, on the event loop) instead of a thread of their own (sqlite-checkpointer.ts). Only for
   * `npm run bench`, which measures what the thread saves the event loop; never for a server.
   */
  checkpointThread?: boolean;
}

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
