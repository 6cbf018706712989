// A request's deadline (server/storage/deadline.ts) bounds its database work on both databases: waiting
// for a connection, a statement without an answer, SQLite's lock retries. Nothing cut short is left half
// done, and work without a deadline (or after its request was answered) keeps the fixed limits.
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { deadlineAt, remainingMs, runBefore, withDeadline } from "../../server/storage/deadline.js";
import { inTransaction, type Database } from "../../server/storage/db.js";
import { createEnvironment } from "../../server/storage/environments.js";
import { DatabaseUnavailableError } from "../../server/storage/unavailable.js";
import { postgresBackend, sqliteBackend } from "../support/databases.js";

const outcome = <T>(work: Promise<T>) =>
  work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe("the deadline's context", () => {
  it("is there inside its work only, and no longer binds once closed", async () => {
    expect(remainingMs()).toBe(Infinity);
    const deadline = deadlineAt(performance.now() + 1_000);
    await withDeadline(deadline, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(remainingMs()).toBeGreaterThan(0);
      expect(remainingMs()).toBeLessThanOrEqual(1_000);
      deadline.open = false;
      expect(remainingMs()).toBe(Infinity);
    });
    expect(remainingMs()).toBe(Infinity);
  });
});

describe("sqlite: the lock wait ends at the deadline", () => {
  let database: Database | undefined;
  let other: BetterSqlite3.Database | undefined;
  afterEach(async () => {
    if (other?.inTransaction) other.exec("ROLLBACK");
    other?.close();
    other = undefined;
    await database?.close();
    database = undefined;
  });

  it("a write under a 300 ms deadline gives up after about 300 ms, not the 2.5 s lock wait", async () => {
    database = await sqliteBackend.open();
    const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(database.db);
    other = new BetterSqlite3(rows.find((r) => r.name === "main")!.file);
    other.exec("BEGIN EXCLUSIVE");
    const started = performance.now();
    const result = await outcome(runBefore(started + 300, () => createEnvironment(database!, { name: "blocked" })));
    const elapsed = performance.now() - started;
    expect((result as { error: unknown }).error).toBeInstanceOf(DatabaseUnavailableError);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
    other.exec("COMMIT");
    await expect(createEnvironment(database, { name: "after" })).resolves.toMatchObject({ name: "after" });
  }, 20_000);
});

describe("postgres: connection and statements end at the deadline", () => {
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it("a statement without an answer by the deadline fails with DatabaseUnavailableError; its transaction is not left open", async () => {
    database = await postgresBackend.open();
    const db = database;
    const started = performance.now();
    const result = await outcome(
      runBefore(started + 300, () =>
        inTransaction(db, async (tx) => {
          await createEnvironment(tx, { name: "never" });
          await sql`select pg_sleep(2)`.execute(tx.db);
        }),
      ),
    );
    const elapsed = performance.now() - started;
    expect((result as { error: unknown }).error).toBeInstanceOf(DatabaseUnavailableError);
    expect(elapsed).toBeLessThan(1_500);
    // Nothing of the transaction was written, and the pool hands out working connections.
    const { rows } = await sql<{ n: number }>`select count(*) as n from environments where name = 'never'`.execute(db.db);
    expect(rows[0]!.n).toBe(0);
    await expect(createEnvironment(db, { name: "after" })).resolves.toMatchObject({ name: "after" });
  }, 20_000);

  it("waiting for a pooled connection ends at the deadline, before the 2 s connect timeout; the late connection goes back to the pool", async () => {
    database = await postgresBackend.open();
    const db = database.db;
    // The pool's 10 connections are all held.
    const releases: Array<() => void> = [];
    const held = Array.from({ length: 10 }, () => db.connection().execute(() => new Promise<void>((resolve) => releases.push(resolve))));
    while (releases.length < 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = performance.now();
    const result = await outcome(runBefore(started + 300, () => sql`select 1`.execute(db)));
    const elapsed = performance.now() - started;
    expect((result as { error: unknown }).error).toBeInstanceOf(DatabaseUnavailableError);
    expect(elapsed).toBeLessThan(1_500);
    for (const release of releases) release();
    await Promise.all(held);
    // The given-up wait's connection was released when it came: every connection still serves queries.
    const answers = await Promise.all(Array.from({ length: 12 }, () => sql<{ x: number }>`select 1 as x`.execute(db)));
    expect(answers.every((a) => a.rows[0]!.x === 1)).toBe(true);
  }, 20_000);
});
