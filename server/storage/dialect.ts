// Every difference between SQLite and PostgreSQL that the storage modules must care about lives here,
// so that the table modules read the same for both. (bigint → number is set on the pg pool in db.ts.)
import { sql } from "kysely";
import type { SelectQueryBuilder } from "kysely";
import type { Database } from "./db.js";

/** The n-th (1-based) parameter marker in hand-written SQL: `?` for SQLite, `$n` for PostgreSQL. */
export function placeholder(database: Database, n: number): string {
  return database.dialect === "postgres" ? `$${n}` : "?";
}

/** better-sqlite3 cannot bind JS booleans; PostgreSQL wants real ones. */
export function toDbBoolean(database: Database, value: boolean): boolean | number {
  if (database.dialect === "postgres") return value;
  return value ? 1 : 0;
}

/** SQLite answers 0/1, PostgreSQL true/false. */
export function fromDbBoolean(value: boolean | number): boolean {
  return value === true || value === 1;
}

export function toJsonText(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJsonText<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function fromNullableJsonText<T>(text: string | null): T | null {
  return text === null ? null : fromJsonText<T>(text);
}

/**
 * For the rest of the transaction, makes PostgreSQL walk an ordered index instead of collecting every
 * matching row in a bitmap and sorting it. `ORDER BY x LIMIT n` over a big queue should read n index
 * entries; but before autovacuum has analyzed a table (a fresh database filled with a backlog) the
 * planner's defaults estimate a few dozen rows and pick bitmap + sort, which reads the whole backlog on
 * every claim. SQLite plans these queries from the index alone.
 */
export async function preferOrderedIndexScans(tx: Database): Promise<void> {
  if (tx.dialect === "postgres") await sql`SET LOCAL enable_bitmapscan = off`.execute(tx.db);
}

/**
 * Row locks exist only on PostgreSQL: Kysely would emit FOR UPDATE on SQLite too, where it is a syntax
 * error, and SQLite needs none because a write transaction there already excludes every other writer.
 */
export function forUpdateSkipLocked<DB, TB extends keyof DB, O>(
  database: Database,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return database.dialect === "postgres" ? query.forUpdate().skipLocked() : query;
}

/** Locks the selected rows (of table `of` only, in a join) until the transaction ends. */
export function forUpdate<DB, TB extends keyof DB, O>(
  database: Database,
  query: SelectQueryBuilder<DB, TB, O>,
  of?: TB & string,
): SelectQueryBuilder<DB, TB, O> {
  if (database.dialect !== "postgres") return query;
  return of === undefined ? query.forUpdate() : query.forUpdate(of as never);
}

/**
 * Locks rows that will be updated without blocking inserts of rows that reference them (FOR NO KEY
 * UPDATE does not conflict with the KEY SHARE lock a foreign-key check takes).
 */
export function forNoKeyUpdate<DB, TB extends keyof DB, O>(
  database: Database,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return database.dialect === "postgres" ? query.forNoKeyUpdate() : query;
}
