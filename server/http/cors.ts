// CORS for the public API. The API is called server to server, so by default no response carries
// Access-Control-Allow-Origin and browsers on other origins are refused. CORS_ORIGINS names the origins a
// browser page may call it from (exact `scheme://host[:port]`, no wildcard: requests carry a bearer token):
// their requests get the header, and their preflights (OPTIONS with Access-Control-Request-Method) a 204
// here, before authentication, which a preflight never carries. Any other origin gets nothing.
import type { RequestHandler } from "express";

const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS = "Authorization, Content-Type";
/** What a page may read of an answer beyond the CORS-safelisted headers. */
const EXPOSED_HEADERS = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

export function cors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    // Caches must not give one origin's answer to another, nor an unlisted origin's to a listed one.
    if (allowed.size > 0) res.vary("Origin");
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return next();
    res.setHeader("Access-Control-Allow-Origin", origin);
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      res.setHeader("Access-Control-Allow-Methods", ALLOWED_METHODS);
      res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS);
      res.setHeader("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_SECONDS);
      res.status(204).end();
      return;
    }
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    next();
  };
}
