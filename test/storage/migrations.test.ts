import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, parseDatabaseUrl } from "../../server/storage/db.js";
import type { Database } from "../../server/storage/db.js";
import { migrate, migrations } from "../../server/storage/migrations.js";
import { backends, sqliteBackend } from "../support/databases.js";
import { migrateTo, T0 } from "./fixtures.js";

describe.each(backends)("migrations on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open({ migrate: false });
  });
  afterEach(() => database.close());

  it("applies every migration on a new database", async () => {
    const result = await migrate(database);
    expect(result.results?.map((r) => [r.migrationName, r.status])).toEqual(
      Object.keys(migrations(backend.name)).map((name) => [name, "Success"]),
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
      Object.keys(migrations(backend.name)).length,
    );
  });
});

describe.each(backends)("migration 0003 (campaigns) on $name", (backend) => {
  let database: Database;
  beforeEach(async () => {
    database = await backend.open({ migrate: false });
    await migrateTo(database, "0002_delivery_options");
  });
  afterEach(() => database.close());

  const TABLES = ["environments", "agents", "webhooks", "events", "deliveries", "logs"] as const;
  const id = (n: number) => `0191b1d0-0000-7000-8000-${String(n).padStart(12, "0")}`;
  const bool = (value: boolean) => (database.dialect === "postgres" ? value : value ? 1 : 0);
  // Raw rows, as 0002 left them: the migration must carry every column of every row across unchanged.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rowsOf = (table: string) => database.db.selectFrom(table as never).selectAll().orderBy("id" as never).execute() as Promise<any[]>;

  async function seedAt0002(): Promise<void> {
    const db = database.db;
    await db.insertInto("environments").values({ id: id(1), name: "Production", token_hash: "h", token_hint: "abcd", created_at: T0, token_rotated_at: T0 }).execute();
    await db.insertInto("agents").values({ id: id(2), environment_id: id(1), name: "Support line", created_at: T0 }).execute();
    const webhook = {
      agent_id: id(2), webhook_url: "https://example.com/hook", webhook_secret: "whsec", events: '["event_recording"]', timeout: 30,
      max_retries: 3, consecutive_failures: 2, logs_total: 1, created_at: T0, updated_at: T0 + 1,
    };
    await db.insertInto("webhooks").values({
      ...webhook, id: id(3), name: "Live", enabled: bool(true), deleted_at: null, http_method: "PUT", authorization_scheme: "bearer",
      authorization_credentials: '{"token":"t"}', custom_headers: '[{"key":"X-A","value":"1"}]', payload_templates: '{"event_recording":"{{call.id}}"}',
    }).execute();
    // One row per INSERT: a multi-row INSERT on SQLite would write NULL, not the default, where a column is left out.
    await db.insertInto("webhooks").values({ ...webhook, id: id(4), name: "Gone", enabled: bool(false), deleted_at: T0 + 2 }).execute();
    await db.insertInto("events").values([
      { id: id(5), agent_id: id(2), event: "event_recording", data: '{"call_id":"c1"}', occurred_at: T0, idempotency_key: "k1", created_at: T0 },
      { id: id(6), agent_id: id(2), event: "event_recording", data: "{}", occurred_at: T0, idempotency_key: null, created_at: T0 },
    ] as never).execute();
    await db.insertInto("deliveries").values({
      id: id(7), event_id: id(5), webhook_id: id(3), status: "pending", attempts: 1, next_attempt_at: T0 + 5, lease_owner: "w",
      lease_expires_at: T0 + 5, current_log_id: id(8), created_at: T0, updated_at: T0,
    }).execute();
    await db.insertInto("logs").values({
      id: id(8), webhook_id: id(3), delivery_id: id(7), event: "event_recording", attempt: 1, created_at: T0, request_payload: "c1",
      status: "retrying", http_status: 500, response_body: "no", response_headers: "{}", error: "HTTP 500", duration_ms: 12, delivered_at: null,
    }).execute();
  }

  it("keeps every row of every table and gives the new columns their defaults", async () => {
    await seedAt0002();
    const before = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await rowsOf(t)] as const)));
    await migrate(database);
    for (const table of TABLES) {
      const after = await rowsOf(table);
      // 0005 (secret rotation) runs too: no previous secret on any existing webhook.
      const added = table === "webhooks"
        ? { campaign_id: null, include_call_events: bool(false), previous_secret: null, previous_secret_expires_at: null }
        : table === "events" ? { campaign_id: null } : {};
      expect(after, table).toEqual(before[table]!.map((row) => ({ ...row, ...added })));
    }
    expect(await rowsOf("campaigns")).toEqual([]);
  });

  it("leaves the schema's rules in force: foreign keys, one owner per webhook, idempotency per source", async () => {
    await seedAt0002();
    await migrate(database);
    const db = database.db;
    if (database.dialect === "sqlite") expect((await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db)).rows[0]?.foreign_keys).toBe(1);
    const [webhook] = await rowsOf("webhooks");
    const [delivery] = await rowsOf("deliveries");
    // A rebuilt table's own references, and another table's reference to a rebuilt one.
    await expect(db.insertInto("webhooks").values({ ...webhook, id: id(9), agent_id: id(99) }).execute()).rejects.toThrow(/foreign key/i);
    await expect(db.insertInto("deliveries").values({ ...delivery, id: id(15), webhook_id: id(99) }).execute()).rejects.toThrow(/foreign key/i);
    await expect(db.insertInto("webhooks").values({ ...webhook, id: id(10), agent_id: null }).execute()).rejects.toThrow(/check/i);
    await expect(db.insertInto("webhooks").values({ ...webhook, id: id(11), campaign_id: id(99) }).execute()).rejects.toThrow(/check|foreign key/i);
    const event = { event: "event_recording", data: "{}", occurred_at: T0, created_at: T0 };
    await expect(db.insertInto("events").values({ ...event, id: id(12), agent_id: id(2), idempotency_key: "k1" }).execute()).rejects.toThrow(/unique/i);
    await db.insertInto("events").values({ ...event, id: id(13), agent_id: null, campaign_id: id(20), idempotency_key: "k1" }).execute();
    await expect(db.insertInto("events").values({ ...event, id: id(14), agent_id: null, campaign_id: id(20), idempotency_key: "k1" }).execute()).rejects.toThrow(/unique/i);
    const names = database.dialect === "sqlite"
      ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index'`.execute(db)).rows.map((r) => r.name)
      : (await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()`.execute(db)).rows.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining([
      "webhooks_by_agent", "webhooks_by_campaign", "events_idempotency", "events_idempotency_by_campaign", "campaigns_by_environment",
      "deliveries_due", "deliveries_pending_by_webhook", "logs_by_webhook", "agents_by_environment",
      "logs_by_webhook_status", "logs_by_webhook_event",
    ]));
  });
});

describe("migration 0003 on sqlite", () => {
  it("done but not recorded (the process stopped between its commit and Kysely's record) is recorded, not done again", async () => {
    const database = await sqliteBackend.open({ migrate: false });
    try {
      // Up to 0003 only: Kysely refuses a missing record below later recorded migrations.
      await migrateTo(database, "0003_campaigns");
      await sql`DELETE FROM kysely_migration WHERE name = '0003_campaigns'`.execute(database.db);
      const again = await migrate(database);
      const later = Object.keys(migrations("sqlite")).filter((name) => name > "0003_campaigns");
      expect(again.results?.map((r) => [r.migrationName, r.status])).toEqual(
        ["0003_campaigns", ...later].map((name) => [name, "Success"]),
      );
    } finally {
      await database.close();
    }
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
