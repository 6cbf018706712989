// Set-based writes for batches: one statement updates many rows with different values, instead of one
// round trip per row. The form `WITH v(cols) AS (VALUES …) UPDATE t SET … FROM v WHERE …` runs
// unchanged on PostgreSQL and on SQLite (3.33+).
import { sql } from "kysely";
import type { RawBuilder } from "kysely";

export type ColumnSqlType = "text" | "integer" | "bigint";

/**
 * `name(col, …) AS (VALUES (…), …)` for a WITH clause. Every value is CAST to its column type: an
 * untyped parameter in a VALUES list is text to PostgreSQL, which would not assign it to an integer.
 */
export function valuesCte(
  name: string,
  columns: ReadonlyArray<readonly [string, ColumnSqlType]>,
  rows: ReadonlyArray<ReadonlyArray<string | number | null>>,
): RawBuilder<unknown> {
  if (rows.length === 0) throw new Error("valuesCte needs at least one row");
  const tuples = rows.map((row) => {
    if (row.length !== columns.length) throw new Error(`valuesCte ${name}: row has ${row.length} values for ${columns.length} columns`);
    return sql`(${sql.join(row.map((value, i) => sql`CAST(${value} AS ${sql.raw(columns[i]![1])})`))})`;
  });
  const names = sql.join(columns.map(([column]) => sql.ref(column)));
  return sql`${sql.ref(name)}(${names}) AS (VALUES ${sql.join(tuples)})`;
}
