// The Operations tag's scrape endpoint: GET /metrics, the Prometheus text exposition of this server's
// metrics (server/metrics/registry.ts). Behind the service token, mounted in app.ts.
import type { AppContext } from "./context.js";
import type { HandlerTable } from "./handler.js";

export function metricsHandlers(ctx: AppContext) {
  return {
    async getMetrics(_req, res) {
      const body = await ctx.metrics.scrape();
      // Text, not JSON: written with send(), outside the response validator's JSON check.
      res.status(200).type(ctx.metrics.contentType).send(body as never);
    },
  } satisfies Partial<HandlerTable>;
}
