// Opens SQLite (a file, for one process) or PostgreSQL (for several workers) behind one Kysely instance.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import type { KyselyConfig } from "kysely";
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
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }), log: options.log });
  return { db, dialect: "sqlite", close: () => db.destroy() };
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
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), log: options.log });
  return { db, dialect: "postgres", close: () => db.destroy() };
}

/**
 * Runs `work` in one transaction and hands it a Database bound to that transaction, so the table
 * modules' functions compose. Inside a transaction already, `work` simply joins it.
 */
export async function inTransaction<T>(database: Database, work: (tx: Database) => Promise<T>): Promise<T> {
  if (database.db.isTransaction) return work(database);
  return database.db.transaction().execute((trx) =>
    work({
      db: trx,
      dialect: database.dialect,
      close: () => Promise.reject(new Error("close() the Database that opened the transaction, not the transaction")),
    }),
  );
}
