// The batch statements' fixed text (bulk.ts, named-statements.ts): the same rows come back whatever the batch
// size and the values, and on PostgreSQL exactly the marked statements are prepared, once per text.
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { executeWithValues } from "../../server/storage/bulk.js";
import { inTransaction } from "../../server/storage/db.js";
import type { Database } from "../../server/storage/db.js";
import { idIn } from "../../server/storage/named-statements.js";
import { backends } from "../support/databases.js";

/** Values that an array literal must escape: quotes, backslashes, braces, commas, blanks, NULL, "NULL". */
const AWKWARD = ['a "quoted" \\ back\\slash', "{braces}, commas", "", "NULL", "  spaced  ", "ünï©ødé ✓", null];

function rowsOf(values: ReadonlyArray<string | null>): Array<[number, string | null, number]> {
  return values.map((text, i) => [i, text, 2 ** 40 + i]);
}

function selectAll(tx: Database, rows: Array<[number, string | null, number]>) {
  return executeWithValues(
    tx,
    { name: "v", columns: [["i", "integer"], ["text", "text"], ["big", "bigint"]], rows },
    "SELECT i, text, big FROM v ORDER BY i",
  );
}

describe.each(backends)("batch statements on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open();
  });
  afterEach(() => database.close());

  it("executeWithValues returns every row exactly, whatever the batch size, on one connection", async () => {
    await inTransaction(database, async (tx) => {
      for (const size of [1, AWKWARD.length, 3, 1]) {
        const rows = rowsOf(AWKWARD.slice(0, size));
        const result = await selectAll(tx, rows);
        expect(result.rows).toEqual(rows.map(([i, text, big]) => ({ i, text, big })));
      }
    });
  });

  it("idIn matches the listed ids, one or many", async () => {
    await inTransaction(database, async (tx) => {
      await sql`CREATE TEMPORARY TABLE t (id text PRIMARY KEY)`.execute(tx.db);
      await sql`INSERT INTO t (id) VALUES ('a'), ('b'), ('c,d'), ('e"f')`.execute(tx.db);
      const ids = async (list: string[]) =>
        (await tx.db.selectFrom("t" as never).select(sql<string>`id`.as("id")).where(idIn(tx, "id", list)).orderBy(sql`id`).execute()).map((r) => r.id);
      expect(await ids(["a"])).toEqual(["a"]);
      expect(await ids(["c,d", "e\"f", "x", "b"])).toEqual(["b", "c,d", 'e"f']);
    });
  });

  if (backend.name === "postgres") {
    it("prepares the marked batch statement once for every batch size, and nothing unmarked", async () => {
      await inTransaction(database, async (tx) => {
        for (const size of [1, 4, 2]) await selectAll(tx, rowsOf(AWKWARD.slice(0, size)));
        await sql`SELECT 1 AS unmarked`.execute(tx.db);
        const prepared = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(tx.db);
        const ours = prepared.rows.filter((r) => r.statement.includes("SELECT i, text, big FROM v"));
        expect(ours).toHaveLength(1);
        expect(ours[0]!.statement).toMatch(/^\/\* named \*\/ WITH v\(i, text, big\) AS \(SELECT \* FROM unnest\(\$1::integer\[\], \$2::text\[\], \$3::bigint\[\]\)\)/);
        expect(prepared.rows.some((r) => r.statement.includes("unmarked"))).toBe(false);
      });
    });
  }
});
