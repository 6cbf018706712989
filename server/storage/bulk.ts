// Set-based writes for batches: one statement updates or inserts many rows with different values,
// instead of one round trip per row. The form `WITH v(cols) AS (VALUES …) UPDATE t SET … FROM v WHERE …`
// runs on SQLite (3.33+) and PostgreSQL alike; on PostgreSQL the rows come from unnest(arrays) instead of VALUES.
//
// These statements are written as SQL text, not with Kysely's builder: building and compiling hundreds
// of value nodes per batch cost more CPU than SQLite took to run the statement. The text of a full batch
// is always the same, so SQLite's statement cache (db.ts) reuses one prepared statement.
import { CompiledQuery } from "kysely";
import type { QueryResult } from "kysely";
import type { Database } from "./db.js";
import { placeholder } from "./dialect.js";
import { namedText } from "./named-statements.js";

export type ColumnSqlType = "text" | "integer" | "bigint";

export interface ValuesTable {
  /** The CTE's name, used by the statement. */
  name: string;
  columns: ReadonlyArray<readonly [column: string, type: ColumnSqlType]>;
  rows: ReadonlyArray<ReadonlyArray<string | number | null>>;
}

/**
 * Runs `WITH name(columns) AS (VALUES …) statement` as one query. `statement` must be a constant and must
 * not contain parameters: every value travels in the rows. On PostgreSQL the rows travel as one array per column,
 * `unnest($1::text[], $2::integer[], …)`: the text is then the same whatever the number of rows, so
 * PostgreSQL can keep it as a named prepared statement (named-statements.ts) instead of parsing and planning
 * a new text for each batch size.
 */
export function executeWithValues(tx: Database, values: ValuesTable, statement: string): Promise<QueryResult<unknown>> {
  const { name, columns, rows } = values;
  if (rows.length === 0) throw new Error(`executeWithValues ${name}: no rows`);
  const head = `WITH ${name}(${columns.map(([c]) => c).join(", ")}) AS`;
  if (tx.dialect === "postgres") {
    const arrays = columns.map((): unknown[] => []);
    for (const row of rows) {
      checkWidth(`executeWithValues ${name}`, row, columns.length);
      for (let i = 0; i < row.length; i++) arrays[i]!.push(row[i]);
    }
    const unnest = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
    return tx.db.executeQuery(CompiledQuery.raw(namedText(`${head} (SELECT * FROM unnest(${unnest})) ${statement}`), arrays));
  }
  const { tuples, parameters } = valueTuples(tx, `executeWithValues ${name}`, columns.length, rows);
  return tx.db.executeQuery(CompiledQuery.raw(`${head} (VALUES ${tuples}) ${statement}`, parameters));
}

/**
 * `INSERT INTO table (columns) VALUES (…), (…)`: many rows in one statement, as SQL text (see the header).
 * Keep rows × columns under SQLite's 32,766 parameters (PostgreSQL's 65,535); the caller chunks.
 */
export function insertRows(tx: Database, table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<QueryResult<unknown>> {
  const { tuples, parameters } = valueTuples(tx, `insertRows ${table}`, columns.length, rows);
  return tx.db.executeQuery(CompiledQuery.raw(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples}`, parameters));
}

/** `(…), (…)`: one parenthesised tuple of placeholders per row, and the rows' values as parameters in order. */
function valueTuples(
  tx: Database,
  what: string,
  width: number,
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
): { tuples: string; parameters: unknown[] } {
  const parameters: unknown[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    checkWidth(what, row, width);
    const items: string[] = [];
    for (const value of row) {
      parameters.push(value);
      items.push(placeholder(tx, parameters.length));
    }
    tuples.push(`(${items.join(", ")})`);
  }
  return { tuples: tuples.join(", "), parameters };
}

function checkWidth(what: string, row: ReadonlyArray<unknown>, width: number): void {
  if (row.length !== width) throw new Error(`${what}: a row has ${row.length} values for ${width} columns`);
}
