// PostgreSQL through node-postgres: several processes on one database. Every connection's errors are
// handled (a restart or a terminated backend must never end the process), and no wait is unbounded.
import { Kysely, PostgresDialect } from "kysely";
import type { PostgresPool, PostgresPoolClient } from "kysely";
import pg from "pg";
import type { Database, OpenOptions } from "./db.js";
import { remainingMs } from "./deadline.js";
import { statementName } from "./named-statements.js";
import type { Schema } from "./schema.js";
import { classifyDatabaseError, DatabaseUnavailableError, unavailable } from "./unavailable.js";

// Every request gets its answer, or its 503, within 5 seconds (see "When the database goes away" in the
// README, and deadline.ts): no wait on the database may be longer than these.
const PG_CONNECT_TIMEOUT_MS = 2_000;
const PG_STATEMENT_TIMEOUT_MS = 3_000;
const PG_QUERY_TIMEOUT_MS = 4_000;

const PG_INT8_OID = 20;

export function openPostgres(connectionString: string, options: OpenOptions): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    // Waiting for a pooled connection and opening one are bounded: a server that is down or full is a 503.
    connectionTimeoutMillis: options.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
    // Sent at connection start-up: the server cancels a statement that runs (or waits for a lock) longer.
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    // A connection to a host that vanished (no RST) is noticed rather than waited on forever.
    keepAlive: true,
    // Timestamps are epoch milliseconds in bigint columns and counts come back as int8: both fit in a JS
    // number. Set per pool rather than on pg's global registry, which other code may share.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8_OID && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool: guardPool(pool, options.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS, options.onConnectionError) }),
    log: options.log,
  });
  return { db, dialect: "postgres", close: () => db.destroy() };
}

/*
 * PostgreSQL connections break: a restart or failover, pg_terminate_backend, an idle timeout, PgBouncer.
 * node-postgres then emits `error` on the Client, and Node ends the process when nobody listens. The pool
 * listens on idle clients only; a checked-out one (Kysely holds one for a query or a transaction) has no
 * listener. So every client gets its own listener when it connects, which also marks it broken:
 *
 * - a query on a broken client fails at once with DatabaseUnavailableError, and any failure of a query
 *   on a client that broke is one too (node-postgres reports "Connection terminated unexpectedly" and the
 *   like without a code: the place says what happened, not the text);
 * - a broken client is destroyed when released, never handed out again;
 * - any failure to get a connection (refused, connect timeout, the server starting up or shutting down,
 *   too many connections, a full pool past connectTimeoutMs) is DatabaseUnavailableError;
 * - a query without an answer after queryTimeoutMs fails with DatabaseUnavailableError and its client is
 *   given up on;
 * - a request's deadline (deadline.ts) bounds all of it: pool.connect() is raced with it (a connection
 *   that comes too late goes back to the pool), a query is not sent once it has passed, and one still
 *   without an answer when it passes fails with DatabaseUnavailableError; in both cases the client is
 *   given up on (destroyed on release), so a transaction cut short never goes back to the pool open;
 * - any other query error keeps its class (classifyDatabaseError: 57014, 08xxx, 57Pxx, 53300 are
 *   unavailable by their SQLSTATE; a constraint violation stays what it is).
 */
function guardPool(pool: pg.Pool, queryTimeoutMs: number, onConnectionError?: (error: Error) => void): PostgresPool {
  const broken = new WeakMap<pg.ClientBase, Error>();
  const guarded = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const markBroken = (client: pg.ClientBase, error: Error) => {
    if (broken.has(client)) return;
    broken.set(client, error);
    onConnectionError?.(error);
  };
  pool.on("connect", (client) => {
    client.on("error", (error) => markBroken(client, error));
    client.on("end", () => {
      if (!broken.has(client)) broken.set(client, new Error("The connection ended"));
    });
  });
  // An idle client's error is also re-emitted on the pool (which then drops the client): heard above.
  pool.on("error", () => {});
  /** The request's deadline passed: not the connection's fault, so not reported, but it is not reused. */
  const giveUp = (client: pg.ClientBase, error: Error) => {
    if (!broken.has(client)) broken.set(client, error);
  };
  const pastDeadline = () => new DatabaseUnavailableError("The database did not answer within the request's deadline");

  const guard = (client: pg.PoolClient): PostgresPoolClient => ({
    query(text: unknown, parameters?: ReadonlyArray<unknown>) {
      const gone = broken.get(client);
      if (gone !== undefined) return Promise.reject(unavailable(gone, "The database connection was lost"));
      const left = remainingMs();
      if (left <= 0) {
        const error = pastDeadline();
        giveUp(client, error);
        return Promise.reject(error);
      }
      // A statement marked as of fixed text goes as a named prepared statement (named-statements.ts).
      const name = statementName(text as string);
      const running =
        name === undefined
          ? client.query(text as string, parameters as unknown[])
          : client.query({ name, text: text as string, values: parameters as unknown[] });
      return new Promise<pg.QueryResult>((resolve, reject) => {
        const byDeadline = left < queryTimeoutMs || queryTimeoutMs <= 0;
        const limit = byDeadline ? left : queryTimeoutMs;
        const timer = Number.isFinite(limit)
          ? setTimeout(() => {
              if (byDeadline) {
                const error = pastDeadline();
                giveUp(client, error);
                reject(error);
                return;
              }
              const error = new DatabaseUnavailableError(`The database did not answer within ${queryTimeoutMs} ms`);
              markBroken(client, error);
              reject(error);
            }, limit)
          : undefined;
        running.then(
          (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          (error: unknown) => {
            clearTimeout(timer);
            const lost = broken.get(client);
            reject(lost !== undefined ? unavailable(error, "The database connection was lost") : classifyDatabaseError(error));
          },
        );
      });
    },
    release() {
      // With an error, the pool destroys the client instead of keeping it.
      client.release(broken.get(client));
    },
  }) as PostgresPoolClient;

  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await connectBefore(pool, remainingMs());
      } catch (error) {
        throw unavailable(error, "Could not get a database connection");
      }
      let wrapped = guarded.get(client);
      if (wrapped === undefined) {
        wrapped = guard(client);
        guarded.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/** pool.connect(), given up on after `leftMs` (the request's deadline); a connection that comes later goes back to the pool. */
async function connectBefore(pool: pg.Pool, leftMs: number): Promise<pg.PoolClient> {
  if (!Number.isFinite(leftMs)) return pool.connect();
  if (leftMs <= 0) throw new DatabaseUnavailableError("No time left to get a database connection within the request's deadline");
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError("No database connection within the request's deadline")), leftMs);
  });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then(
      (client) => client.release(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
