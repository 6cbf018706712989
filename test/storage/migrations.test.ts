import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, parseDatabaseUrl } from "../../server/storage/db.js";
import type { Database } from "../../server/storage/db.js";
import { migrate, migrations } from "../../server/storage/migrations.js";
import { backends } from "../support/databases.js";

describe.each(backends)("migrations on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open({ migrate: false });
  });
  afterEach(() => database.close());

  it("applies every migration on a new database", async () => {
    const result = await migrate(database);
    expect(result.results?.map((r) => [r.migrationName, r.status])).toEqual(
      Object.keys(migrations).map((name) => [name, "Success"]),
    );
    const tables = await database.db.introspection.getTables();
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(["environments", "agents", "webhooks", "events", "deliveries", "logs"]),
    );
  });

  it("running migrations again changes nothing", async () => {
    await migrate(database);
    const again = await migrate(database);
    expect(again.results).toEqual([]);
  });

  it("two migrators started at once apply each migration once", async () => {
    const [a, b] = await Promise.all([migrate(database), migrate(database)]);
    expect([...(a.results ?? []), ...(b.results ?? [])].filter((r) => r.status === "Success")).toHaveLength(
      Object.keys(migrations).length,
    );
  });
});

describe("openDatabase", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "talkover-open-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reads every documented URL form", () => {
    expect(parseDatabaseUrl("./data/talkover.db")).toEqual({ dialect: "sqlite", filename: "./data/talkover.db" });
    expect(parseDatabaseUrl("sqlite:/var/lib/t.db")).toEqual({ dialect: "sqlite", filename: "/var/lib/t.db" });
    expect(parseDatabaseUrl("sqlite::memory:")).toEqual({ dialect: "sqlite", filename: ":memory:" });
    expect(parseDatabaseUrl("postgres://u:p@h/db")).toEqual({ dialect: "postgres", connectionString: "postgres://u:p@h/db" });
    expect(parseDatabaseUrl("postgresql://u:p@h/db").dialect).toBe("postgres");
  });

  it("creates the SQLite file's parent directory and migrates it at open", async () => {
    const file = join(dir, "nested", "deeper", "talkover.db");
    const database = await openDatabase(`sqlite:${file}`);
    try {
      expect(existsSync(file)).toBe(true);
      const rows = await database.db.selectFrom("webhooks").selectAll().execute();
      expect(rows).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it("opens SQLite in WAL mode with foreign keys enforced", async () => {
    const database = await openDatabase(join(dir, "t.db"));
    try {
      const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(database.db);
      const fk = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(database.db);
      const sync = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(database.db);
      expect(journal.rows[0]?.journal_mode).toBe("wal");
      expect(fk.rows[0]?.foreign_keys).toBe(1);
      expect(sync.rows[0]?.synchronous).toBe(1); // NORMAL
      await expect(
        database.db
          .insertInto("agents")
          .values({ id: "a", environment_id: "no-such-environment", name: "x", created_at: 0 })
          .execute(),
      ).rejects.toThrow(/FOREIGN KEY/);
    } finally {
      await database.close();
    }
  });

  it("opens an in-memory SQLite database", async () => {
    const database = await openDatabase("sqlite::memory:");
    try {
      expect(database.dialect).toBe("sqlite");
      expect(await database.db.selectFrom("environments").selectAll().execute()).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
