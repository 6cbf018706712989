// Opens SQLite (a file, for one process) or PostgreSQL (for several workers) behind one Kysely instance.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import type { KyselyConfig, SqliteDatabase } from "kysely";
import pg from "pg";
import { migrate as runMigrations } from "./migrations.js";
import type { Schema } from "./schema.js";

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
}

/** Concurrent writers wait this long for SQLite's write lock before failing with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

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
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }), log: options.log });
  return { db, dialect: "sqlite", close: () => db.destroy() };
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
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    // Timestamps are epoch milliseconds in bigint columns and counts come back as int8: both fit in a JS
    // number. Set per pool rather than on pg's global registry, which other code may share.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8_OID && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener, pg re-emits an idle connection's error on the pool and the process dies.
  pool.on("error", (error) => options.onConnectionError?.(error));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), log: options.log });
  return { db, dialect: "postgres", close: () => db.destroy() };
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
