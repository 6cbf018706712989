// Makes a test server's database unable to answer writes, for the contract suite's 503 step: another
// connection holds the write lock of the SQLite file, or a PostgreSQL session holds ACCESS EXCLUSIVE locks
// on the tables that writes need (the server's statement timeout then gives up on them).
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import type { Database } from "../../server/storage/db.js";

/** Holds the lock until the returned function is called. */
export async function holdDatabase(database: Database): Promise<() => Promise<void>> {
  if (database.dialect === "sqlite") {
    const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(database.db);
    const file = rows.find((row) => row.name === "main")?.file;
    if (!file) throw new Error("an in-memory SQLite database cannot be locked from another connection");
    const other = new BetterSqlite3(file);
    other.pragma("busy_timeout = 5000");
    other.exec("BEGIN EXCLUSIVE");
    return async () => {
      other.exec("COMMIT");
      other.close();
    };
  }
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const session = database.db.connection().execute(async (connection) => {
    // The server's own transactions (the worker's claim, retention) take these tables in another order, so
    // PostgreSQL may pick this session as a deadlock's victim (40P01, "deadlock detected"): start over then.
    for (let attempt = 1; ; attempt++) {
      await sql`BEGIN`.execute(connection);
      try {
        await sql`LOCK TABLE webhooks, events, deliveries IN ACCESS EXCLUSIVE MODE`.execute(connection);
        break;
      } catch (error) {
        await sql`ROLLBACK`.execute(connection);
        if ((error as { code?: string }).code !== "40P01" || attempt === 10) throw error;
      }
    }
    locked();
    await released;
    await sql`ROLLBACK`.execute(connection);
  });
  await Promise.race([isLocked, session]);
  return async () => {
    release();
    await session;
  };
}
