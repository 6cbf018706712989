// Set-based writes for batches: one statement updates or inserts many rows with different values,
// instead of one round trip per row. The form `WITH v(cols) AS (VALUES …) UPDATE t SET … FROM v WHERE …`
// runs unchanged on PostgreSQL and on SQLite (3.33+).
//
// These statements are written as SQL text, not with Kysely's builder: building and compiling hundreds
// of value nodes per batch cost more CPU than SQLite took to run the statement. The text of a full batch
// is always the same, so SQLite's statement cache (db.ts) reuses one prepared statement.
import { CompiledQuery } from "kysely";
import type { QueryResult } from "kysely";
import type { Database } from "./db.js";
import { placeholder } from "./dialect.js";

export type ColumnSqlType = "text" | "integer" | "bigint";

export interface ValuesTable {
  /** The CTE's name, used by the statement. */
  name: string;
  columns: ReadonlyArray<readonly [column: string, type: ColumnSqlType]>;
  rows: ReadonlyArray<ReadonlyArray<string | number | null>>;
}

/**
 * Runs `WITH name(columns) AS (VALUES …) statement` as one query. `statement` must not contain
 * parameters: every value travels in the VALUES rows.
 */
export function executeWithValues(tx: Database, values: ValuesTable, statement: string): Promise<QueryResult<unknown>> {
  const { name, columns, rows } = values;
  if (rows.length === 0) throw new Error(`executeWithValues ${name}: no rows`);
  // PostgreSQL types an untyped parameter in VALUES as text and would not assign it to an integer
  // column; the first row's casts type each column. SQLite needs none.
  const cast = tx.dialect === "postgres";
  const parameters: Array<string | number | null> = [];
  const tuples: string[] = [];
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`executeWithValues ${name}: a row has ${row.length} values for ${columns.length} columns`);
    const items: string[] = [];
    for (let i = 0; i < row.length; i++) {
      parameters.push(row[i]!);
      const p = placeholder(tx, parameters.length);
      items.push(cast && tuples.length === 0 ? `CAST(${p} AS ${columns[i]![1]})` : p);
    }
    tuples.push(`(${items.join(", ")})`);
  }
  const text = `WITH ${name}(${columns.map(([c]) => c).join(", ")}) AS (VALUES ${tuples.join(", ")}) ${statement}`;
  return tx.db.executeQuery(CompiledQuery.raw(text, parameters));
}

/**
 * `INSERT INTO table (columns) VALUES (…), (…)`: many rows in one statement, as SQL text (see the header).
 * Keep rows × columns under SQLite's 32,766 parameters (PostgreSQL's 65,535); the caller chunks.
 */
export function insertRows(tx: Database, table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<QueryResult<unknown>> {
  const parameters: unknown[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`insertRows ${table}: a row has ${row.length} values for ${columns.length} columns`);
    const items: string[] = [];
    for (const value of row) {
      parameters.push(value);
      items.push(placeholder(tx, parameters.length));
    }
    tuples.push(`(${items.join(", ")})`);
  }
  return tx.db.executeQuery(CompiledQuery.raw(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, parameters));
}
