// Bearer authentication: environment tokens for /api/v1, the service token for /internal/v1.
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { findEnvironmentByToken, type Environment } from "../storage/environments.js";
import type { AppContext, Resolved } from "./context.js";
import { failure, MESSAGES, unauthorized } from "./errors.js";
import { TtlCache } from "./ttl-cache.js";

/**
 * Known tokens are remembered for a few seconds, keyed by their SHA-256: a token rotated by the CLI (another
 * process) stops working within this time. Unknown tokens are never cached.
 */
export const TOKEN_CACHE_TTL_MS = 5_000;

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** No header or no bearer → "Missing Bearer Token"; a token of no environment → "Invalid Bearer Token". */
export function authenticateEnvironment(ctx: AppContext): RequestHandler<unknown, unknown, unknown, unknown, Partial<Resolved>> {
  const known = new TtlCache<string, Environment>(TOKEN_CACHE_TTL_MS);
  const admit = (environment: Environment | undefined, res: { locals: Partial<Resolved> }, next: () => void) => {
    if (!environment) throw unauthorized(MESSAGES.invalidToken);
    res.locals.environment = environment;
    next();
  };
  return (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw unauthorized(MESSAGES.missingToken);
    const key = digest(token).toString("hex");
    // A known token goes on at once; a lookup's rejection (or its 401) reaches Express through the promise.
    const hit = known.peek(key);
    if (hit) return admit(hit, res, next);
    return known.get(key, () => findEnvironmentByToken(ctx.database, token)).then((environment) => admit(environment, res, next));
  };
}

/**
 * The internal intake and the metrics: off (503 with `disabledMessage`) without TALKOVER_SERVICE_TOKEN,
 * else a constant-time token check.
 */
export function authenticateService(ctx: AppContext, disabledMessage: string = MESSAGES.intakeDisabled): RequestHandler {
  const expected = ctx.config.serviceToken ? digest(ctx.config.serviceToken) : undefined;
  return (req, _res, next) => {
    if (!expected) throw failure(503, disabledMessage);
    const token = bearerToken(req.headers.authorization);
    if (!token) throw unauthorized(MESSAGES.missingToken);
    // Comparing fixed-length digests keeps the comparison constant-time whatever the token's length.
    if (!timingSafeEqual(digest(token), expected)) throw unauthorized(MESSAGES.invalidToken);
    next();
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
