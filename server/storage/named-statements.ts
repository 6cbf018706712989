// Named prepared statements on PostgreSQL, for the worker's hot statements. Kysely's pg driver sends every
// statement unnamed, so PostgreSQL parses and plans it on every call; a named one is parsed once per
// connection, and its plan cached. node-postgres keeps a named statement for the connection's lifetime, so
// only statements whose text never changes may be named: a statement says so by starting with the marker
// (`named`), and the pool (postgres.ts) sends those, and only those, as named statements. A statement whose
// text depends on a batch's size (IN lists, VALUES lists) must not carry it: lists travel as one array
// parameter instead (`idIn` here, `executeWithValues` in bulk.ts).
import { sql } from "kysely";
import type { CompiledQuery, Expression, SqlBool } from "kysely";
import type { Database } from "./db.js";

const MARKER = "/* named */ ";

/** One name per distinct text, for every pool of the process (a name never stands for two texts). */
const names = new Map<string, string>();

/**
 * `compiled` marked, on PostgreSQL, as a statement of fixed text (see the header): the caller vouches that
 * its text never varies (no list of placeholders whose length follows the data).
 */
export function named<R>(database: Database, compiled: CompiledQuery<R>): CompiledQuery<R> {
  return database.dialect === "postgres" ? { ...compiled, sql: MARKER + compiled.sql } : compiled;
}

/** The marker as a prefix of hand-written SQL text. */
export function namedText(text: string): string {
  return MARKER + text;
}

/** The name to prepare a marked statement under, or undefined for a statement sent unnamed. */
export function statementName(text: string): string | undefined {
  if (!text.startsWith(MARKER)) return undefined;
  let name = names.get(text);
  if (name === undefined) {
    name = `talkover_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

/**
 * `column IN (ids)` whose text does not depend on how many ids there are on PostgreSQL (`= ANY($n::text[])`,
 * one array parameter). SQLite has no arrays: a list of placeholders there (its statement cache only misses).
 */
export function idIn(database: Database, column: string, ids: readonly string[]): Expression<SqlBool> {
  return database.dialect === "postgres"
    ? sql<SqlBool>`${sql.ref(column)} = any(${[...ids]}::text[])`
    : sql<SqlBool>`${sql.ref(column)} in (${sql.join([...ids])})`;
}
