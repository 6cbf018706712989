// Schema migrations, kept in code so that the bin needs no migration files on disk. They use Kysely's
// schema builder only, so the same steps make the same tables and indexes on SQLite and PostgreSQL.
//
// Index budget: every delivery inserts a delivery and a log row and updates each about twice, and on
// PostgreSQL most of those updates write a new entry into every index of the table. So the hot tables
// carry only the indexes the hot path reads. Retention needs no time index of its own: ids are UUIDv7,
// so the primary key is already in creation order (see retention in queue/purge.ts).
import { Migrator, sql } from "kysely";
import type { Kysely, Migration, MigrationResultSet } from "kysely";
import type { Database, Dialect } from "./db.js";
import { rebuildTable, withForeignKeysOff } from "./sqlite-rebuild.js";
import type { TableRebuild } from "./sqlite-rebuild.js";

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

// The delivery options of Talkover's 2026 create page. Existing webhooks keep what they did: POST, no
// authorization, no custom headers, the default body.
const deliveryOptions: Migration = {
  async up(db: AnyDb) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable("webhooks").addColumn("http_method", "text", (c) => c.notNull().defaultTo("POST")).execute();
    await db.schema.alterTable("webhooks").addColumn("authorization_scheme", "text", (c) => c.notNull().defaultTo("none")).execute();
    await db.schema.alterTable("webhooks").addColumn("authorization_credentials", "text").execute();
    await db.schema.alterTable("webhooks").addColumn("custom_headers", "text", (c) => c.notNull().defaultTo("[]")).execute();
    await db.schema.alterTable("webhooks").addColumn("payload_templates", "text", (c) => c.notNull().defaultTo("{}")).execute();
  },

  async down(db: AnyDb) {
    for (const column of ["payload_templates", "custom_headers", "authorization_credentials", "authorization_scheme", "http_method"]) {
      await db.schema.alterTable("webhooks").dropColumn(column).execute();
    }
  },
};

// Campaigns (an outbound calling run of an environment, optionally of one agent) own webhooks and events
// too, on the same tables: a webhook names exactly one owner, agent_id or campaign_id; an event of a
// campaign has no agent_id, and an agent's event of a call in a campaign names both. SQLite cannot drop
// NOT NULL, so there the two tables are made again (sqlite-rebuild.ts); PostgreSQL alters them in place.
// No down: a campaign's webhooks and events could not go back to a NOT NULL agent_id.
function campaigns(dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      if (dialect === "sqlite") {
        await withForeignKeysOff(db, async () => {
          // Our transaction commits before Kysely records the migration: a run that stopped in between
          // left it done but unrecorded, and it is not done twice.
          const done = await sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'campaigns'`.execute(db);
          if (done.rows.length > 0) return;
          await createCampaigns(db);
          await rebuildTable(db, webhooksAt0003(db));
          await rebuildTable(db, eventsAt0003(db));
          await createOwnerIndexes(db);
        });
        return;
      }
      await createCampaigns(db);
      await db.schema.alterTable("webhooks").alterColumn("agent_id", (c) => c.dropNotNull()).execute();
      await db.schema.alterTable("webhooks").addColumn("campaign_id", "text", (c) => c.references("campaigns.id")).execute();
      await db.schema.alterTable("webhooks").addColumn("include_call_events", "boolean", (c) => c.notNull().defaultTo(false)).execute();
      await db.schema.alterTable("webhooks").addCheckConstraint("webhooks_one_owner", ONE_OWNER).execute();
      await db.schema.alterTable("events").alterColumn("agent_id", (c) => c.dropNotNull()).execute();
      await db.schema.alterTable("events").addColumn("campaign_id", "text").execute();
      await createOwnerIndexes(db);
    },
  };
}

const ONE_OWNER = sql`(agent_id IS NOT NULL AND campaign_id IS NULL) OR (agent_id IS NULL AND campaign_id IS NOT NULL)`;

async function createCampaigns(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("campaigns")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("environment_id", "text", (c) => c.notNull().references("environments.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("agent_id", "text", (c) => c.references("agents.id"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("campaigns_by_environment").on("campaigns").columns(["environment_id", "created_at"]).execute();
}

/** The indexes 0003 adds on both databases: a campaign's webhooks, and its own events' idempotency keys. */
async function createOwnerIndexes(db: AnyDb): Promise<void> {
  await db.schema
    .createIndex("webhooks_by_campaign")
    .on("webhooks")
    .columns(["campaign_id", "created_at", "id"])
    .where(sql.ref("deleted_at"), "is", null)
    .execute();
  // Keys are per source: an agent's events are unique by (agent_id, key) already; a campaign's own events
  // (agent_id NULL) by (campaign_id, key). An agent's event of a campaign call is not in this index.
  await db.schema
    .createIndex("events_idempotency_by_campaign")
    .on("events")
    .columns(["campaign_id", "idempotency_key"])
    .unique()
    .where(sql.ref("agent_id"), "is", null)
    .execute();
}

/** webhooks as 0001 and 0002 made it, with agent_id nullable, the campaign columns and the one-owner CHECK. */
function webhooksAt0003(db: AnyDb): TableRebuild {
  return {
    table: "webhooks",
    columns: [
      "id", "agent_id", "name", "webhook_url", "webhook_secret", "events", "timeout", "max_retries", "enabled",
      "consecutive_failures", "logs_total", "created_at", "updated_at", "deleted_at",
      "http_method", "authorization_scheme", "authorization_credentials", "custom_headers", "payload_templates",
    ],
    create: (name) =>
      db.schema
        .createTable(name)
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("agent_id", "text", (c) => c.references("agents.id"))
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
        .addColumn("http_method", "text", (c) => c.notNull().defaultTo("POST"))
        .addColumn("authorization_scheme", "text", (c) => c.notNull().defaultTo("none"))
        .addColumn("authorization_credentials", "text")
        .addColumn("custom_headers", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("payload_templates", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("campaign_id", "text", (c) => c.references("campaigns.id"))
        .addColumn("include_call_events", "boolean", (c) => c.notNull().defaultTo(false))
        .addCheckConstraint("webhooks_one_owner", ONE_OWNER)
        .execute(),
    indexes: () =>
      db.schema
        .createIndex("webhooks_by_agent")
        .on("webhooks")
        .columns(["agent_id", "created_at", "id"])
        .where(sql.ref("deleted_at"), "is", null)
        .execute(),
  };
}

/** events as 0001 made it, with agent_id nullable and campaign_id. */
function eventsAt0003(db: AnyDb): TableRebuild {
  return {
    table: "events",
    columns: ["id", "agent_id", "event", "data", "occurred_at", "idempotency_key", "created_at"],
    create: (name) =>
      db.schema
        .createTable(name)
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("agent_id", "text", (c) => c.references("agents.id"))
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("occurred_at", "bigint", (c) => c.notNull())
        .addColumn("idempotency_key", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("campaign_id", "text")
        .execute(),
    indexes: () => db.schema.createIndex("events_idempotency").on("events").columns(["agent_id", "idempotency_key"]).unique().execute(),
  };
}

// The attempt log's filters (status, event, since/until on created_at). Each index starts like logs_by_webhook
// and gives the same newest-first order within one status or one event, so a filtered page 1 is a short
// backward scan and the filtered total a COUNT over one index range that never reads the table: the event
// index carries status as its last column, so `event` + `status` counts inside it too; time ranges are ranges
// on created_at within either index (or logs_by_webhook alone). Budget: inserts write two more index entries;
// a status change rewrites its entries in logs_by_webhook_status and logs_by_webhook_event (on PostgreSQL,
// with status indexed, that update is no longer HOT and writes every index of the row).
const logFilters: Migration = {
  async up(db: AnyDb) {
    // IF NOT EXISTS: a run that stopped after creating them but before Kysely recorded 0004 creates nothing twice.
    await db.schema.createIndex("logs_by_webhook_status").ifNotExists().on("logs").columns(["webhook_id", "status", "created_at", "id"]).execute();
    await db.schema.createIndex("logs_by_webhook_event").ifNotExists().on("logs").columns(["webhook_id", "event", "created_at", "id", "status"]).execute();
  },

  async down(db: AnyDb) {
    await db.schema.dropIndex("logs_by_webhook_event").execute();
    await db.schema.dropIndex("logs_by_webhook_status").execute();
  },
};

// Secret rotation with an overlap: the secret a rotation replaced and until when it still signs. Nullable
// columns, so plain ALTER TABLE on both databases; existing webhooks have no previous secret.
const secretRotation: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable("webhooks").addColumn("previous_secret", "text").execute();
    await db.schema.alterTable("webhooks").addColumn("previous_secret_expires_at", "bigint").execute();
  },

  async down(db: AnyDb) {
    for (const column of ["previous_secret_expires_at", "previous_secret"]) {
      await db.schema.alterTable("webhooks").dropColumn(column).execute();
    }
  },
};

/**
 * Recovery (POST …/recover) finds a webhook's failed deliveries of a time range. The queue's indexes hold
 * pending rows only, and the primary key alone would walk every webhook's deliveries of the range; this
 * one holds only the deliveries that ended without success. It costs the hot path little: a delivery
 * enters it once, when it fails for good (an update that already rewrites the row's index entries on
 * PostgreSQL, since `status` is in deliveries_due's predicate), and never on success.
 */
export const RECOVERABLE_STATUSES = sql<boolean>`status in ('failed', 'cancelled')`;
const recovery: Migration = {
  async up(db: AnyDb) {
    // IF NOT EXISTS: safe to run again when the process stopped between its commit and Kysely's record.
    await db.schema.createIndex("deliveries_recoverable").ifNotExists().on("deliveries").columns(["webhook_id", "id"]).where(RECOVERABLE_STATUSES).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex("deliveries_recoverable").execute();
  },
};

// Filtered totals of the attempt log (storage/log-buckets.ts): per webhook, the rows by status and event at four
// levels (all time, day, hour, minute; bucket = the level's start in epoch ms), kept in code by the queue's
// writers (queue/log-counts.ts), never by triggers. Filled here from the rows already there. On SQLite the
// table is its primary key (WITHOUT ROWID), so a bucket range is one contiguous read. No foreign key: on
// PostgreSQL its KEY SHARE lock on the webhook row would join the hot webhook row's lock traffic.
export const LOG_COUNT_LEVELS: ReadonlyArray<readonly [level: number, widthMs: number | null]> = [
  [0, null],
  [1, 86_400_000],
  [2, 3_600_000],
  [3, 60_000],
];

/** The statements that count `logs` into log_counts (empty before), optionally for one webhook (`$webhook`). */
export function logCountsFillSql(forOneWebhook: boolean, parameter = "?"): string[] {
  return LOG_COUNT_LEVELS.map(([level, width]) => {
    // Floored also before 1970 (% truncates toward zero in both databases), as log-buckets.ts floors.
    const bucket = width === null ? "0" : `created_at - ((created_at % ${width}) + ${width}) % ${width}`;
    const where = forOneWebhook ? ` WHERE webhook_id = ${parameter}` : "";
    return (
      `INSERT INTO log_counts (webhook_id, level, bucket, status, event, n) ` +
      `SELECT webhook_id, ${level} AS level, ${bucket} AS bucket, status, event, count(*) AS n FROM logs${where} ` +
      `GROUP BY webhook_id, ${width === null ? "" : `${bucket}, `}status, event`
    );
  });
}

function logCounts(dialect: Dialect): Migration {
  return {
    async up(db: AnyDb) {
      let table = db.schema
        .createTable("log_counts")
        .ifNotExists()
        .addColumn("webhook_id", "text", (c) => c.notNull())
        .addColumn("level", "integer", (c) => c.notNull())
        .addColumn("bucket", "bigint", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .addColumn("n", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("log_counts_pkey", ["webhook_id", "level", "bucket", "status", "event"]);
      if (dialect === "sqlite") table = table.modifyEnd(sql`WITHOUT ROWID`);
      await table.execute();
      // Safe to run again: a run that stopped before Kysely's record counts from scratch.
      await sql`DELETE FROM log_counts`.execute(db);
      for (const statement of logCountsFillSql(false)) await sql.raw(statement).execute(db);
    },
    async down(db: AnyDb) {
      await db.schema.dropTable("log_counts").execute();
    },
  };
}

/** Ordered by name: Kysely runs them in alphabetical order. Some steps differ by database (0003). */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    "0001_initial": initial,
    "0002_delivery_options": deliveryOptions,
    "0003_campaigns": campaigns(dialect),
    "0004_log_filters": logFilters,
    "0005_secret_rotation": secretRotation,
    "0006_recovery": recovery,
    "0007_log_counts": logCounts(dialect),
  };
}

function migratorFor(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations(database.dialect) },
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
