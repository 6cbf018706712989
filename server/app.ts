// createApp: Express + express-openapi-validator loaded from openapi.yaml + one handler per operationId +
// one error handler that writes every failure as a documented body.
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import type { AppContext } from "./http/context.js";
import { authenticateEnvironment, authenticateService } from "./http/auth.js";
import { cors } from "./http/cors.js";
import { ApiError, failure, MESSAGES, serviceUnavailable, validationFailed } from "./http/errors.js";
import type { HandlerTable } from "./http/handler.js";
import { healthHandlers } from "./http/health.js";
import { internalHandlers } from "./http/internal.js";
import { metricsHandlers } from "./http/metrics.js";
import { httpMetrics } from "./metrics/http.js";
import { rateLimit } from "./http/rate-limit.js";
import { campaignWebhookHandlers } from "./http/campaign-webhooks.js";
import { loadAgent, loadCampaign, loadWebhook } from "./http/resources.js";
import { toFieldErrors, type ValidatorError } from "./http/validation.js";
import { webhookHandlers } from "./http/webhooks.js";
import type { ApiSpec } from "./spec.js";
import { deadlineAt, REQUEST_BUDGET_MS, withDeadline, type Deadline } from "./storage/deadline.js";
import { findDatabaseUnavailable } from "./storage/unavailable.js";

/** Every operationId of the document's paths (not of `webhooks:`, which we send rather than serve). */
export function specOperationIds(spec: ApiSpec): string[] {
  return Object.values<Record<string, any>>(spec.document.paths ?? {}).flatMap((item) =>
    ["get", "put", "post", "delete", "patch", "head", "options"].flatMap((m) => (item[m]?.operationId ? [item[m].operationId] : [])),
  );
}

/**
 * Fails at start-up, not at the first request, when an operation of the spec has no handler: `tsc` already
 * checks the table against generated/api.ts, this checks it against the openapi.yaml actually loaded.
 */
export function bindHandlers<T extends object>(spec: ApiSpec, handlers: T): T {
  const missing = specOperationIds(spec).filter((id) => typeof (handlers as Record<string, unknown>)[id] !== "function");
  if (missing.length > 0) throw new Error(`openapi.yaml operations without a handler: ${missing.join(", ")}`);
  return handlers;
}

export function createApp(ctx: AppContext): express.Express {
  const { spec, config } = ctx;
  const handlers = bindHandlers(spec, {
    ...webhookHandlers(ctx),
    ...campaignWebhookHandlers(ctx),
    ...internalHandlers(ctx),
    ...healthHandlers(ctx),
    ...metricsHandlers(ctx),
  } satisfies HandlerTable);

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(httpMetrics(ctx.metrics, spec));
  // The level is fixed at start-up: below info (LOG_LEVEL=warn, silent) no request is logged, so no listener per request.
  if (ctx.logger.isLevelEnabled("info")) app.use(requestLog(ctx));
  app.use(requestDeadline());

  // Authentication and path resources come before body parsing and validation: no token is a 401 and an
  // unknown agent or campaign a 404, whatever the body.
  app.use("/api/v1", cors(config.corsOrigins), authenticateEnvironment(ctx), rateLimit(config.rateLimitPerMinute));
  app.use("/api/v1/agents/:agent_id", loadAgent(ctx));
  app.use("/api/v1/agents/:agent_id/webhooks/:webhook_id", loadWebhook(ctx, "agent"));
  app.use("/api/v1/campaigns/:campaign_id", loadCampaign(ctx));
  app.use("/api/v1/campaigns/:campaign_id/webhooks/:webhook_id", loadWebhook(ctx, "campaign"));
  app.use("/internal/v1", authenticateService(ctx));
  app.use("/metrics", authenticateService(ctx, MESSAGES.metricsDisabled));

  app.use(express.json({ limit: config.bodyLimitBytes }));
  // The body arrives on socket events, outside the deadline's async context: entered again.
  app.use(requestDeadline());
  app.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(spec.document) as any, // the validator rewrites the document it is given
      validateRequests: { allErrors: true },
      validateResponses: config.validateResponses ? { allErrors: true } : false,
      validateSecurity: false, // auth.ts answers the documented 401 bodies
      // No operation takes a multipart or binary body (test/unit/no-uploads.test.ts): its uploader middleware
      // would only add an async no-op to every request.
      fileUploader: false,
      validateFormats: true,
      ajvFormats: { mode: "full" },
      ignoreUndocumented: false,
    }),
  );
  app.use(dispatch(handlers));
  app.use(errorHandler(ctx));
  return app;
}

/**
 * Calls the handler of the operation the validator matched (req.openapi): one table lookup, where the
 * validator's `operationHandlers` would walk a second router over every route of the document per request.
 */
function dispatch(handlers: Record<string, unknown>): RequestHandler {
  return (req, res, next) => {
    const openapi = (req as { openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> } }).openapi;
    const handler = openapi?.schema?.operationId === undefined ? undefined : handlers[openapi.schema.operationId];
    if (typeof handler !== "function") return next();
    // The router reset req.params for this pathless layer; the validator decoded the path's own.
    req.params = openapi!.pathParams ?? {};
    // The one untyped step: the validator has just checked the request against the operation whose types
    // the handler was written to.
    return (handler as RequestHandler)(req, res, next);
  };
}

function requestLog(ctx: AppContext): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      // Method, path and status only: headers (tokens) and bodies (secrets) are never logged.
      ctx.logger.info(
        { method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        "request",
      );
    });
    next();
  };
}

/**
 * The request's database work stops REQUEST_BUDGET_MS after it arrived (the budget:
 * server/storage/deadline.ts), and is no longer bound once the response is sent. The first use starts
 * the clock; a later one re-enters the same deadline.
 */
function requestDeadline(): RequestHandler {
  return (_req, res, next) => {
    let deadline = res.locals.deadline as Deadline | undefined;
    if (deadline === undefined) {
      const started = deadlineAt(performance.now() + REQUEST_BUDGET_MS);
      res.locals.deadline = deadline = started;
      res.on("close", () => {
        started.open = false;
      });
    }
    withDeadline(deadline, next);
  };
}

function errorHandler(ctx: AppContext): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = toApiError(ctx.spec, req, err);
    if (!error) {
      ctx.logger.error({ err: describe(err), method: req.method, path: req.path }, "unhandled error");
      // Written raw: an undocumented 500 must not go through the response validator again.
      res.status(500).type("application/json").send(JSON.stringify({ success: false, message: MESSAGES.internalError }));
      return;
    }
    res.status(error.status).set(error.headers).json(error.body);
  };
}

function toApiError(spec: ApiSpec, req: express.Request, err: any): ApiError | undefined {
  if (err instanceof ApiError) return err;
  // The database cannot answer now (down, restarting, locked, out of connections): "try again shortly", not a bug.
  const unavailable = findDatabaseUnavailable(err);
  if (unavailable) return serviceUnavailable(unavailable.retryAfterSeconds);
  if (err?.type === "entity.parse.failed") return failure(400, MESSAGES.malformedJson);
  if (err?.type === "entity.too.large") return failure(413, MESSAGES.tooLarge);
  if (err?.type === "charset.unsupported" || err?.type === "encoding.unsupported") return failure(415, MESSAGES.unsupportedMediaType);
  const errors: ValidatorError[] | undefined = err?.errors;
  const fromRequest = errors?.every((e) => !e.path?.startsWith("/response"));
  switch (err?.status) {
    case 400:
      if (errors && fromRequest) return validationFailed(toFieldErrors(spec, req, errors));
      return failure(400, err instanceof URIError || /decode/i.test(String(err?.message)) ? MESSAGES.malformedUrl : MESSAGES.malformedJson);
    case 404:
      return failure(404, MESSAGES.routeNotFound);
    case 405:
      return failure(405, `The ${req.method} method is not supported for this route.`);
    case 413:
      return failure(413, MESSAGES.tooLarge);
    case 415:
      return failure(415, MESSAGES.unsupportedMediaType);
    default:
      return undefined; // a response that broke the spec, or a bug: logged, then a 500
  }
}

function describe(err: any) {
  return { message: err?.message, status: err?.status, errors: err?.errors, stack: err?.stack };
}
