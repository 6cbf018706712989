// Both storage backends for `describe.each(backends)`: every test gets a database of its own.
//   describe.each(backends)("$name", (backend) => {
//     let database: Database;
//     beforeEach(async () => { database = await backend.open(); });
//     afterEach(() => database.close());
//   });
// PostgreSQL comes from the globalSetup server (global-postgres.ts); without it, from TEST_DATABASE_URL,
// or else from one embedded server started lazily for this test file. TALKOVER_TEST_BACKENDS=sqlite
// (or postgres) narrows the list.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, inject } from "vitest";
import { openDatabase } from "../../server/storage/db.js";
import type { Database, Dialect } from "../../server/storage/db.js";

import { POSTGRES_URL_ENV } from "./global-postgres.js";
import { createDatabase, databaseExists, renameDatabase, startPostgres, withServerLock } from "./postgres.js";
import type { PostgresServer } from "./postgres.js";

export interface Backend {
  name: Dialect;
  /** A fresh, migrated database; its close() also deletes it. */
  open(options?: { migrate?: boolean }): Promise<Database>;
}

const opened = new Set<Database>();
let fileServer: Promise<PostgresServer> | undefined;

afterAll(async () => {
  for (const database of opened) await database.close();
  if (fileServer !== undefined) await (await fileServer).stop();
  fileServer = undefined;
});

function track(database: Database, cleanup: () => Promise<void>): Database {
  let closed = false;
  const tracked: Database = {
    db: database.db,
    dialect: database.dialect,
    async close() {
      if (closed) return;
      closed = true;
      opened.delete(tracked);
      await database.close();
      await cleanup();
    },
  };
  opened.add(tracked);
  return tracked;
}

async function postgresServerUrl(): Promise<string> {
  const fromGlobalSetup = process.env[POSTGRES_URL_ENV] || safeInject();
  if (fromGlobalSetup) return fromGlobalSetup;
  const external = process.env.TEST_DATABASE_URL;
  if (external) return external;
  fileServer ??= startPostgres();
  return (await fileServer).url;
}

function safeInject(): string | undefined {
  try {
    return inject("talkoverPostgresUrl");
  } catch {
    return undefined;
  }
}

export const sqliteBackend: Backend = {
  name: "sqlite",
  async open(options) {
    const dir = await mkdtemp(join(tmpdir(), "talkover-sqlite-"));
    const database = await openDatabase(join(dir, "talkover.db"), options);
    return track(database, () => rm(dir, { recursive: true, force: true }));
  },
};

export const postgresBackend: Backend = {
  name: "postgres",
  async open(options) {
    const server = await postgresServerUrl();
    const migrated = options?.migrate ?? true;
    const fresh = await createDatabase(server, migrated ? { template: await migratedTemplate(server) } : {});
    const database = await openDatabase(fresh.url, options);
    return track(database, fresh.drop);
  },
};

// Copying a migrated template is faster than migrating every test's database. The name carries a hash
// of the migrations' code, so a server kept across runs (TEST_DATABASE_URL) never serves a stale schema:
// the whole module's source, since a migration's up() may call helpers of its file (0003 does).
const templates = new Map<string, Promise<string>>();

function migratedTemplate(serverUrl: string): Promise<string> {
  let template = templates.get(serverUrl);
  if (template === undefined) {
    template = makeTemplate(serverUrl);
    templates.set(serverUrl, template);
  }
  return template;
}

async function makeTemplate(serverUrl: string): Promise<string> {
  const code = readFileSync(MIGRATIONS_SOURCE, "utf8");
  const name = `talkover_template_${createHash("sha256").update(code).digest("hex").slice(0, 12)}`;
  // Test files run in parallel workers: one makes the template, the others wait for it.
  await withServerLock(serverUrl, TEMPLATE_LOCK_KEY, async () => {
    if (await databaseExists(serverUrl, name)) return;
    const building = `${name}_building`;
    const fresh = await createDatabase(serverUrl, { name: building });
    try {
      const database = await openDatabase(fresh.url);
      await database.close();
      await renameDatabase(serverUrl, building, name);
    } catch (error) {
      await fresh.drop();
      throw error;
    }
  });
  return name;
}

const MIGRATIONS_SOURCE = new URL("../../server/storage/migrations.ts", import.meta.url);
const TEMPLATE_LOCK_KEY = 7_204_801;

const wanted = (process.env.TALKOVER_TEST_BACKENDS ?? "sqlite,postgres").split(",").map((s) => s.trim());

export const backends: Backend[] = [sqliteBackend, postgresBackend].filter((b) => wanted.includes(b.name));

/** A fresh, empty database's URL, for a child process to open itself (the CLI, a second worker). */
export async function freshDatabaseUrl(dialect: Dialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "postgres") return createDatabase(await postgresServerUrl());
  const dir = await mkdtemp(join(tmpdir(), "talkover-sqlite-"));
  return { url: `sqlite:${join(dir, "talkover.db")}`, drop: () => rm(dir, { recursive: true, force: true }) };
}
