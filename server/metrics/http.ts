// The HTTP metrics middleware: every answered request counted by operationId and status, and timed by
// operationId — never by raw path, whose ids would make a series per agent and webhook. The validator
// names the operation (req.openapi); a request answered before it (a 401, an unknown agent, a 429, the
// intake switched off) is matched against openapi.yaml's path templates here; anything else is `unknown`.
import type { Request, RequestHandler } from "express";
import type { ApiSpec } from "../spec.js";
import { UNKNOWN_OPERATION, type Metrics } from "./registry.js";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

interface Route {
  pattern: RegExp;
  /** Upper-case method → operationId. */
  operations: Map<string, string>;
}

/** The document's paths as patterns (`{param}` is one non-empty segment), compiled once. */
export function operationMatcher(spec: ApiSpec): (method: string, path: string) => string | undefined {
  const routes: Route[] = Object.entries<Record<string, any>>(spec.document.paths ?? {}).map(([template, item]) => {
    const source = template
      .split(/\{[^}]+\}/)
      .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
      .join("[^/]+");
    const operations = new Map<string, string>();
    for (const method of METHODS) if (item[method]?.operationId) operations.set(method.toUpperCase(), item[method].operationId);
    return { pattern: new RegExp(`^${source}/?$`), operations };
  });
  return (method, path) => {
    for (const route of routes) if (route.pattern.test(path)) return route.operations.get(method);
    return undefined;
  };
}

export function httpMetrics(metrics: Metrics, spec: ApiSpec): RequestHandler {
  const match = operationMatcher(spec);
  const operationOf = (req: Request): string => {
    const named = (req as { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
    if (named !== undefined) return named;
    const url = req.originalUrl;
    const query = url.indexOf("?");
    return match(req.method, query === -1 ? url : url.slice(0, query)) ?? UNKNOWN_OPERATION;
  };
  return (req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      metrics.httpRequest(operationOf(req), res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}
