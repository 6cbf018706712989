// The Operations tag: liveness and readiness probes.
import { sql } from "kysely";
import type { AppContext } from "./context.js";
import type { HandlerTable } from "./handler.js";

export function healthHandlers(ctx: AppContext) {
  return {
    getHealth(_req, res) {
      res.json({ status: "ok" });
    },

    async getReadiness(_req, res) {
      let ready = ctx.isReady();
      if (ready) {
        try {
          await sql`select 1`.execute(ctx.database.db);
        } catch {
          ready = false;
        }
      }
      res.status(ready ? 200 : 503).json({ status: ready ? "ok" : "unavailable" });
    },
  } satisfies Partial<HandlerTable>;
}
