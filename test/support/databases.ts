// Both storage backends for `describe.each(backends)`: every test gets a database of its own.
//   describe.each(backends)("$name", (backend) => {
//     let database: Database;
//     beforeEach(async () => { database = await backend.open(); });
//     afterEach(() => database.close());
//   });
// PostgreSQL comes from the globalSetup server (global-postgres.ts); without it, from TEST_DATABASE_URL,
// or else from one embedded server started lazily for this test file. TALKOVER_TEST_BACKENDS=sqlite
// (or postgres) narrows the list.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, inject } from "vitest";
import { openDatabase } from "../../server/storage/db.js";
import type { Database, Dialect } from "../../server/storage/db.js";
import { POSTGRES_URL_ENV } from "./global-postgres.js";
import { createDatabase, startPostgres } from "./postgres.js";
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
    const fresh = await createDatabase(await postgresServerUrl());
    const database = await openDatabase(fresh.url, options);
    return track(database, fresh.drop);
  },
};

const wanted = (process.env.TALKOVER_TEST_BACKENDS ?? "sqlite,postgres").split(",").map((s) => s.trim());

export const backends: Backend[] = [sqliteBackend, postgresBackend].filter((b) => wanted.includes(b.name));

/** A fresh, empty database's URL, for a child process to open itself (the CLI, a second worker). */
export async function freshDatabaseUrl(dialect: Dialect): Promise<{ url: string; drop(): Promise<void> }> {
  if (dialect === "postgres") return createDatabase(await postgresServerUrl());
  const dir = await mkdtemp(join(tmpdir(), "talkover-sqlite-"));
  return { url: `sqlite:${join(dir, "talkover.db")}`, drop: () => rm(dir, { recursive: true, force: true }) };
}
