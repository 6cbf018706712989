// The Operations tag: liveness and readiness probes.
import type { Request, Response } from "express";
import { sql } from "kysely";
import type { AppContext } from "./context.js";

export function healthHandlers(ctx: AppContext) {
  return {
    getHealth(_req: Request, res: Response) {
      res.json({ status: "ok" });
    },

    async getReadiness(_req: Request, res: Response) {
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
  };
}
