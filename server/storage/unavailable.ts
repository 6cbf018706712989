// One error class at the storage boundary for "the database cannot answer right now": the API answers it
// with 503 and Retry-After, the loops back off and try again. Chosen by error class and by where the
// failure happened, never by matching message text; any other error stays what it was (a 500 at the API).
//
// | source                     | unavailable when                                                        |
// |----------------------------|-------------------------------------------------------------------------|
// | Node sockets (pg)          | err.code ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH, ECONNABORTED |
// | PostgreSQL SQLSTATE        | class 08 (connection exception), class 57P (operator intervention: admin/crash shutdown, cannot connect now, idle session timeout), 57014 (statement timeout), 53300 (too many connections) |
// | pg, by where it happened   | any failure to get a connection from the pool (refused, connect timeout, server starting up or shutting down, too many clients); any failure of a query on a connection that has emitted 'error' or 'end' (terminated, "Connection terminated unexpectedly"); the client-side query timeout |
// | SQLite (better-sqlite3)    | err.code SQLITE_BUSY, SQLITE_LOCKED and their extended codes (SQLITE_BUSY_SNAPSHOT, …), once the asynchronous retries have run out (db.ts) |

/** The database cannot answer now (down, restarting, unreachable, locked, out of connections). Retry shortly. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
  /** Seconds a client should wait before retrying (Retry-After). */
  readonly retryAfterSeconds: number;

  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
  }
}

/** What a 503 asks clients to wait: long enough for a restart or a failover to get going, short enough to matter. */
export const DEFAULT_RETRY_AFTER_SECONDS = 2;

/** The DatabaseUnavailableError that `err` is, or carries as its `cause` (a few levels deep). */
export function findDatabaseUnavailable(err: unknown): DatabaseUnavailableError | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return e;
  }
  return undefined;
}

/** True for a DatabaseUnavailableError, also one carried as the `cause` of another error. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return findDatabaseUnavailable(err) !== undefined;
}

/** Socket-level failures: the server is not there, or the connection to it broke. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** PostgreSQL SQLSTATEs that mean "not now" rather than "this request is wrong". */
export function isUnavailableSqlState(code: string): boolean {
  return (
    code.startsWith("08") || // connection_exception and its subclasses
    code.startsWith("57P") || // admin_shutdown, crash_shutdown, cannot_connect_now, database_dropped, idle_session_timeout
    code === "57014" || // query_canceled: statement_timeout
    code === "53300" // too_many_connections
  );
}

/** SQLite's lock errors, with their extended codes (better-sqlite3 reports the extended one). */
export function isSqliteLockCode(code: string): boolean {
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || code.startsWith("SQLITE_BUSY_") || code.startsWith("SQLITE_LOCKED_");
}

/** The error's own class says the database is unavailable (whatever the place it happened). */
export function isUnavailableByCode(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return NETWORK_CODES.has(code) || isUnavailableSqlState(code) || isSqliteLockCode(code);
}

/** `err` as a DatabaseUnavailableError when its class says so; otherwise `err` unchanged. */
export function classifyDatabaseError(err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError) return err;
  if (isUnavailableByCode(err)) return unavailable(err);
  return err;
}

export function unavailable(cause: unknown, message = "The database is unavailable"): DatabaseUnavailableError {
  if (cause instanceof DatabaseUnavailableError) return cause;
  const detail = (cause as { code?: unknown } | null)?.code;
  return new DatabaseUnavailableError(typeof detail === "string" ? `${message} (${detail})` : message, { cause });
}
