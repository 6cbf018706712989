// SQLite cannot drop a NOT NULL or add a CHECK to an existing table: such a change makes the table again,
// the way https://www.sqlite.org/lang_altertable.html#otheralter prescribes. Kysely's Migrator runs SQLite
// migrations without a transaction (SqliteAdapter.supportsTransactionalDdl is false) and without a lock,
// on one connection; that is what makes the procedure possible at all, since PRAGMA foreign_keys is a
// no-op inside a transaction. So the transaction is ours: everything between BEGIN IMMEDIATE and COMMIT
// happens or nothing does.
import { sql } from "kysely";
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Runs `work` in one write transaction with foreign-key enforcement off (dropping a parent table would
 * otherwise delete, or fail on, its children's references), checks every foreign key before committing,
 * and restores enforcement as it was. `db` must be bound to one connection (the Migrator's is).
 */
export async function withForeignKeysOff(db: AnyDb, work: () => Promise<void>): Promise<void> {
  const { rows } = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db);
  const enforced = rows[0]?.foreign_keys === 1;
  await sql`PRAGMA foreign_keys = OFF`.execute(db);
  try {
    await sql`BEGIN IMMEDIATE`.execute(db);
    try {
      await work();
      const violations = await sql<{ table: string; parent: string }>`PRAGMA foreign_key_check`.execute(db);
      if (violations.rows.length > 0) {
        const first = violations.rows[0]!;
        throw new Error(`Table rebuild would break ${violations.rows.length} foreign key(s), e.g. ${first.table} → ${first.parent}`);
      }
      await sql`COMMIT`.execute(db);
    } catch (error) {
      await sql`ROLLBACK`.execute(db).catch(() => {});
      throw error;
    }
  } finally {
    if (enforced) await sql`PRAGMA foreign_keys = ON`.execute(db);
  }
}

export interface TableRebuild {
  table: string;
  /** Creates the table's new shape under `name`. */
  create(name: string): Promise<void>;
  /** The columns copied from the old table; columns only the new shape has take their defaults. */
  columns: readonly string[];
  /** Creates the table's indexes again (they are dropped with the old table). */
  indexes(): Promise<void>;
}

/** Steps 4 to 8 of the procedure, for one table: create new, copy, drop old, rename, index. Call it in withForeignKeysOff. */
export async function rebuildTable(db: AnyDb, rebuild: TableRebuild): Promise<void> {
  const temporary = `${rebuild.table}_rebuilt`;
  await rebuild.create(temporary);
  const columns = sql.join(rebuild.columns.map((c) => sql.ref(c)));
  await sql`INSERT INTO ${sql.table(temporary)} (${columns}) SELECT ${columns} FROM ${sql.table(rebuild.table)}`.execute(db);
  await db.schema.dropTable(rebuild.table).execute();
  await db.schema.alterTable(temporary).renameTo(rebuild.table).execute();
  await rebuild.indexes();
}
