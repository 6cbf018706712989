// Schema migrations, kept in code so that the bin needs no migration files on disk. They use Kysely's
// schema builder only, so the same steps make the same tables and indexes on SQLite and PostgreSQL.
//
// Index budget: every delivery inserts a delivery and a log row and updates each about twice, and on
// PostgreSQL most of those updates write a new entry into every index of the table. So the hot tables
// carry only the indexes the hot path reads. Retention needs no time index of its own: ids are UUIDv7,
// so the primary key is already in creation order (see retention in queue/purge.ts).
import { Migrator, sql } from "kysely";
import type { Kysely, Migration, MigrationResultSet } from "kysely";
import type { Database } from "./db.js";

// Migrations must not depend on today's Schema type: they describe the tables as they were.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const initial: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable("environments")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("token_hint", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("token_rotated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("agents")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("environment_id", "text", (c) => c.notNull().references("environments.id"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("agents_by_environment").on("agents").columns(["environment_id", "created_at"]).execute();

    await db.schema
      .createTable("webhooks")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("agent_id", "text", (c) => c.notNull().references("agents.id"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("webhook_url", "text", (c) => c.notNull())
      .addColumn("webhook_secret", "text")
      .addColumn("events", "text", (c) => c.notNull())
      .addColumn("timeout", "integer", (c) => c.notNull())
      .addColumn("max_retries", "integer", (c) => c.notNull())
      .addColumn("enabled", "boolean", (c) => c.notNull())
      .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("logs_total", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("deleted_at", "bigint")
      .execute();
    await db.schema
      .createIndex("webhooks_by_agent")
      .on("webhooks")
      .columns(["agent_id", "created_at", "id"])
      .where(sql.ref("deleted_at"), "is", null)
      .execute();

    // The intake record and the idempotency registry. Deliveries keep the event id without a foreign
    // key: sending never reads the event, and retention removes events and deliveries independently.
    await db.schema
      .createTable("events")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("agent_id", "text", (c) => c.notNull().references("agents.id"))
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("data", "text", (c) => c.notNull())
      .addColumn("occurred_at", "bigint", (c) => c.notNull())
      .addColumn("idempotency_key", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    // NULL keys never collide (both databases treat NULLs as distinct), so events without a key are free.
    await db.schema
      .createIndex("events_idempotency")
      .on("events")
      .columns(["agent_id", "idempotency_key"])
      .unique()
      .execute();

    await db.schema
      .createTable("deliveries")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("event_id", "text", (c) => c.notNull())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("lease_owner", "text")
      .addColumn("lease_expires_at", "bigint")
      .addColumn("current_log_id", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    // The queue: only pending rows are indexed, so finished deliveries never slow the claim down.
    await db.schema
      .createIndex("deliveries_due")
      .on("deliveries")
      .column("next_attempt_at")
      .where(sql.ref("status"), "=", "pending")
      .execute();
    // Disabling or deleting a webhook cancels its queued deliveries.
    await db.schema
      .createIndex("deliveries_pending_by_webhook")
      .on("deliveries")
      .column("webhook_id")
      .where(sql.ref("status"), "=", "pending")
      .execute();

    await db.schema
      .createTable("logs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
      // No foreign key: retention removes finished deliveries while their logs are still shown.
      .addColumn("delivery_id", "text")
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      // Columns that never change come first: when PostgreSQL can rewrite a row on its own page it logs
      // only the bytes between the unchanged prefix and suffix, so the payload stays out of the WAL.
      .addColumn("request_payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("http_status", "integer")
      .addColumn("response_body", "text")
      .addColumn("response_headers", "text")
      .addColumn("error", "text")
      .addColumn("duration_ms", "integer")
      .addColumn("delivered_at", "bigint")
      .execute();
    // Serves `WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?` by a backward index scan.
    await db.schema.createIndex("logs_by_webhook").on("logs").columns(["webhook_id", "created_at", "id"]).execute();
  },

  async down(db: AnyDb) {
    for (const table of ["logs", "deliveries", "events", "webhooks", "agents", "environments"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};

/** Ordered by name: Kysely runs them in alphabetical order. */
export const migrations: Record<string, Migration> = {
  "0001_initial": initial,
};

function migratorFor(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
  });
}

/**
 * Applies every pending migration; a no-op when the schema is current. Safe to call from several
 * processes at once: Kysely holds a migration lock (an advisory lock on PostgreSQL).
 */
export async function migrate(database: Database): Promise<MigrationResultSet> {
  const resultSet = await migratorFor(database).migrateToLatest();
  if (resultSet.error !== undefined) {
    throw resultSet.error instanceof Error ? resultSet.error : new Error(String(resultSet.error));
  }
  return resultSet;
}
