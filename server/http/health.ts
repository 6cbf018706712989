// The Operations tag: liveness and readiness probes.
import { checkDatabase } from "../storage/db.js";
import type { AppContext } from "./context.js";
import type { HandlerTable } from "./handler.js";

/** /readyz waits no longer than this for the database: a probe must answer well within its own timeout. */
export const READINESS_TIMEOUT_MS = 2_000;

export function healthHandlers(ctx: AppContext) {
  return {
    /** Liveness: the process and its event loop answer. Never touches the database. */
    getHealth(_req, res) {
      res.json({ status: "ok" });
    },

    /** Readiness: not shutting down, and the database answers (on SQLite: its write lock can be taken). */
    async getReadiness(_req, res) {
      let ready = ctx.isReady();
      if (ready) {
        try {
          await checkDatabase(ctx.database, READINESS_TIMEOUT_MS);
        } catch {
          ready = false;
        }
      }
      res.status(ready ? 200 : 503).json({ status: ready ? "ok" : "unavailable" });
    },
  } satisfies Partial<HandlerTable>;
}
