// The storage boundary's one error class: what is "the database is unavailable" (a 503) and what is not
// (a 500), decided by error class and by where the failure happened, never by message text.
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { checkDatabase, type Database } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { classifyDatabaseError, DatabaseUnavailableError, isDatabaseUnavailable } from "../../server/storage/unavailable.js";
import { postgresBackend, sqliteBackend } from "../support/databases.js";

const withCode = (code: string, message = "anything at all") => Object.assign(new Error(message), { code });

describe("classifyDatabaseError", () => {
  it.each([
    "ECONNREFUSED",
    "ECONNRESET",
    "EPIPE",
    "ETIMEDOUT",
    "08006", // connection_failure
    "08001", // sqlclient_unable_to_establish_sqlconnection
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now
    "57014", // query_canceled (statement_timeout)
    "53300", // too_many_connections
    "SQLITE_BUSY",
    "SQLITE_BUSY_SNAPSHOT",
    "SQLITE_LOCKED",
    "SQLITE_LOCKED_SHAREDCACHE",
  ])("%s is unavailable", (code) => {
    const error = withCode(code);
    const classified = classifyDatabaseError(error);
    expect(classified).toBeInstanceOf(DatabaseUnavailableError);
    expect((classified as DatabaseUnavailableError).cause).toBe(error);
    expect((classified as DatabaseUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it.each(["23505", "42P01", "22P02", "40001", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_ERROR", "ERR_SOMETHING"])("%s stays what it was", (code) => {
    const error = withCode(code);
    expect(classifyDatabaseError(error)).toBe(error);
  });

  it("never reads the message: a message that looks like an outage, without a code, stays what it was", () => {
    const error = new Error("Connection terminated unexpectedly: database is locked, ECONNREFUSED");
    expect(classifyDatabaseError(error)).toBe(error);
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it("isDatabaseUnavailable also finds one carried as the cause of another error", () => {
    const inner = new DatabaseUnavailableError("down");
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: inner }))).toBe(true);
  });
});

describe("sqlite: another connection holds the write lock", () => {
  let database: Database | undefined;
  let other: BetterSqlite3.Database | undefined;
  afterEach(async () => {
    if (other?.inTransaction) other.exec("ROLLBACK");
    other?.close();
    other = undefined;
    await database?.close();
    database = undefined;
  });

  async function locked(): Promise<Database> {
    database = await sqliteBackend.open();
    const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(database.db);
    other = new BetterSqlite3(rows.find((r) => r.name === "main")!.file);
    other.exec("BEGIN EXCLUSIVE");
    return database;
  }

  it("a write waits asynchronously, then fails with DatabaseUnavailableError; the event loop keeps turning and reads keep working", async () => {
    const db = await locked();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = performance.now();
    const write = createEnvironment(db, { name: "blocked" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const error = await write;
    const elapsed = performance.now() - started;
    clearInterval(ticker);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(((error as DatabaseUnavailableError).cause as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(elapsed).toBeGreaterThan(2_000);
    expect(elapsed).toBeLessThan(5_000);
    expect(ticks, "timer ticks while the write waited").toBeGreaterThan(50);
    // A read still answers while the lock is held (WAL: a writer's lock does not block readers).
    expect((await sql<{ n: number }>`select count(*) as n from environments`.execute(db.db)).rows[0]!.n).toBe(0);
  }, 20_000);

  it("the write goes through once the lock is released within the wait", async () => {
    const db = await locked();
    setTimeout(() => other!.exec("COMMIT"), 500);
    const environment = await createEnvironment(db, { name: "after the lock" });
    expect(environment.name).toBe("after the lock");
  }, 20_000);

  it("checkDatabase fails while the write lock is held and passes after", async () => {
    const db = await locked();
    await expect(checkDatabase(db, 1_000)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    other!.exec("COMMIT");
    // The probe that timed out may still be retrying in the background: the next one waits for the connection.
    await expect(checkDatabase(db, 5_000)).resolves.toBeUndefined();
  }, 20_000);
});

describe("postgres: a connection killed under the pool", () => {
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it("a query on a terminated session fails with DatabaseUnavailableError, the process stays up, the next query works", async () => {
    database = await postgresBackend.open();
    const db = database.db;
    const current = await sql<{ db: string }>`select current_database() as db`.execute(db);
    // Hold a connection in a transaction, kill its backend from outside, then use it.
    const outcome = await db.connection().execute(async (connection) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(connection);
      await sql`BEGIN`.execute(connection);
      const killer = await db.connection().execute((c) => sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(c));
      expect(killer.rows).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the client hears of it ('error', 'end')
      return sql`select 1`.execute(connection).then(
        () => "answered",
        (error: unknown) => error,
      );
    });
    expect(outcome).toBeInstanceOf(DatabaseUnavailableError);
    expect(current.rows[0]!.db).toMatch(/^t_/);
    // The broken connection was dropped: the pool opens a new one.
    await expect(checkDatabase(database)).resolves.toBeUndefined();
  });

  it("an error of the query itself (division by zero) stays a plain error: a 500 at the API, not a 503", async () => {
    database = await postgresBackend.open();
    const error = await sql`select 1/0`.execute(database.db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
