// Handlers of the Webhook logs tag: the paginated attempt log and manual retry.
import { listLogs } from "../storage/logs.js";
import { toApiTimestamp } from "../storage/time.js";
import type { AppContext } from "./context.js";
import { MESSAGES, notFound, notRetriable } from "./errors.js";
import type { HandlerTable } from "./handler.js";
import { presentLog } from "./present.js";

export function logHandlers(ctx: AppContext) {
  return {
    async listWebhookLogs(req, res) {
      // The validator has checked the ranges and applied the defaults (page 1, per_page 25).
      const { page, per_page: perPage } = req.query;
      const { rows, total } = await listLogs(ctx.database, res.locals.webhook.id, { page, perPage });
      res.json({
        success: true,
        data: rows.map(presentLog),
        pagination: { current_page: page, per_page: perPage, total, last_page: Math.max(1, Math.ceil(total / perPage)) },
      });
    },

    async retryWebhookLog(req, res) {
      const result = await ctx.delivery.retryLog(res.locals.webhook, req.params.log_id);
      if (result.outcome === "not_found") throw notFound(MESSAGES.logNotFound);
      if (result.outcome === "not_retriable") throw notRetriable();
      res.json({
        success: true,
        message: "Webhook retry queued successfully",
        data: { log_id: result.logId, original_log_id: result.originalLogId, queued_at: toApiTimestamp(result.queuedAt) },
      });
    },
  } satisfies Partial<HandlerTable>;
}
