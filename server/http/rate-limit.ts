// Per-environment fixed-window rate limit (one token per environment, so per token). In memory: each
// server process counts its own requests; the documented X-RateLimit-* headers ride on every answer.
import type { RequestHandler } from "express";
import type { Environment } from "../storage/environments.js";
import { failure, MESSAGES } from "./errors.js";

const WINDOW_MS = 60_000;

interface Window {
  start: number;
  count: number;
}

export function rateLimit(limitPerMinute: number, now: () => number = Date.now): RequestHandler {
  const windows = new Map<string, Window>();
  let sweptAt = 0;

  return (_req, res, next) => {
    const environment = res.locals.environment as Environment;
    const time = now();
    const start = time - (time % WINDOW_MS);
    if (start !== sweptAt) {
      // A new minute: forget the windows of the last one so the map stays as small as the active tokens.
      for (const [key, window] of windows) if (window.start < start) windows.delete(key);
      sweptAt = start;
    }
    let window = windows.get(environment.id);
    if (!window) windows.set(environment.id, (window = { start, count: 0 }));
    window.count++;

    const reset = Math.ceil((start + WINDOW_MS) / 1000);
    res.setHeader("X-RateLimit-Limit", String(limitPerMinute));
    res.setHeader("X-RateLimit-Remaining", String(Math.max(0, limitPerMinute - window.count)));
    res.setHeader("X-RateLimit-Reset", String(reset));
    if (window.count > limitPerMinute) {
      throw failure(429, MESSAGES.tooManyRequests, { "Retry-After": String(Math.max(1, reset - Math.floor(time / 1000))) });
    }
    next();
  };
}
