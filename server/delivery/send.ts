/**
 * The outbound HTTP sender: one POST of one delivery attempt, reported as a `SendResult` a customer can
 * read. Built on undici's Agent (a keep-alive Pool per origin) through the low-level `dispatch` API: global
 * `fetch` costs about 1 ms of CPU per request, and `request()` adds a Readable stream per response that
 * we'd only drain into a capped buffer anyway.
 *
 * Rules enforced here:
 * - one timer bounds the whole attempt (queueing, connect, TLS, headers, body): a receiver that sends
 *   headers and then trickles its body still times out at `timeoutMs`;
 * - redirects are never followed (the Agent has no redirect interceptor); a 3xx is a failure;
 * - at most `maxResponseBytes` of the response body are kept; past that the attempt ends at once and the
 *   connection is dropped rather than read to the end;
 * - SSRF: every new connection goes through the guard in ./ssrf.ts;
 * - `send()` never rejects: network failures become `{ ok: false, error }`.
 */
import { STATUS_CODES } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { Agent } from "undici";
import type { Dispatcher } from "undici";
import { parseRetryAfter } from "talkover-webhooks/protocol/retry-after";
import { createConnector } from "./ssrf.js";
import type { ResolveAll } from "./ssrf.js";
import { oneLine } from "../one-line.js";

export interface SenderOptions {
  /** Allow loopback/private/link-local targets (TALKOVER_ALLOW_PRIVATE_TARGETS). Off in production. */
  allowPrivateTargets: boolean;
  /** Response body bytes kept for the delivery log. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Concurrent connections per origin: protects a receiver from a backlog burst. Default 32. */
  connectionsPerOrigin?: number;
  /** Bound on TCP + TLS setup, a guard under the per-attempt timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this (kept under the common 5 s server idle timeout). Default 4 s. */
  keepAliveTimeoutMs?: number;
  /** DNS resolver used by the SSRF guard; tests inject one so they need no DNS. Default dns.lookup. */
  resolve?: ResolveAll;
}

export interface SendRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Bound on the whole attempt, connect to last body byte. */
  timeoutMs: number;
  /** The webhook's http_method; POST when not given. */
  method?: "POST" | "PUT" | "PATCH";
}

export interface SendResult {
  /** true only for a 2xx response read completely (or up to the body limit). */
  ok: boolean;
  status?: number;
  responseBody?: string;
  responseBodyTruncated?: boolean;
  /** Lower-cased names; repeated headers joined with ", ". */
  responseHeaders?: Record<string, string>;
  durationMs: number;
  /** Why the attempt failed, in words for the customer, e.g. "HTTP 500 Internal Server Error". */
  error?: string;
  /** From `Retry-After` on a 429 or 503, in ms from now (may be 0); read by client/protocol/retry-after.ts. */
  retryAfterMs?: number;
}

export interface Sender {
  send(request: SendRequest): Promise<SendResult>;
  /** Lets in-flight attempts finish (each is bounded by its timeout), then closes all sockets. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
/**
 * The largest response header section kept, in bytes (undici's limit, set here rather than inherited from
 * Node's --max-http-header-size): no header value a log shows is longer (openapi.yaml, WebhookLog).
 */
export const MAX_RESPONSE_HEADER_BYTES = 16 * 1024;
/**
 * The longest `error` a log row or a test answer shows (openapi.yaml, WebhookLog.error): one line, cut beyond.
 * Errors quote what a receiver or the network said (a host name, a TLS message), so their length is not ours.
 */
export const MAX_ERROR_LENGTH = 1000;

export function createSender(options: SenderOptions): Sender {
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const agent = new Agent({
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
    connections: options.connectionsPerOrigin ?? 32,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    connect: createConnector({
      allowPrivateTargets: options.allowPrivateTargets,
      connectTimeoutMs,
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }),
  });

  return {
    send(request) {
      const started = performance.now();
      const target = parseTarget(request.url);
      if (typeof target === "string") return Promise.resolve({ ok: false, durationMs: 0, error: oneLine(target, MAX_ERROR_LENGTH) });

      return new Promise<SendResult>((resolve) => {
        const attempt = new Attempt(resolve, started, request.timeoutMs, maxResponseBytes, target.host, connectTimeoutMs);
        try {
          agent.dispatch(
            {
              origin: target.origin,
              path: target.path,
              method: request.method ?? "POST",
              headers: request.headers,
              body: request.body,
              // Guards only: the attempt's own timer normally fires first.
              headersTimeout: request.timeoutMs,
              bodyTimeout: request.timeoutMs,
            },
            attempt,
          );
        } catch (err) {
          attempt.fail(err); // dispatch reports through the handler; this is belt and braces
        }
      });
    },
    close: () => agent.close(),
  };
}

interface Target {
  origin: string;
  path: string;
  host: string;
}

// Parsed URLs by text. A webhook's URL is the same on every delivery, so this skips a WHATWG URL parse
// per request; the cap only bounds memory.
const TARGET_CACHE_MAX = 1024;
const targetCache = new Map<string, Target | string>();

/** origin + path for undici, or the reason the URL can't be delivered to. */
function parseTarget(url: string): Target | string {
  let target = targetCache.get(url);
  if (target !== undefined) return target;

  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    target = "Invalid URL";
  }
  if (parsed !== undefined) {
    target =
      parsed.protocol === "http:" || parsed.protocol === "https:"
        ? { origin: parsed.origin, path: parsed.pathname + parsed.search, host: parsed.hostname }
        : `Unsupported URL scheme ${parsed.protocol.slice(0, -1)}`;
  }
  if (targetCache.size >= TARGET_CACHE_MAX) targetCache.clear();
  targetCache.set(url, target!);
  return target!;
}

class AttemptTimeout extends Error {
  readonly code = "TALKOVER_ATTEMPT_TIMEOUT";
}

/** Abort reason for a request whose result is already decided (never shown to anyone; one shared instance). */
const SETTLED = new Error("delivery attempt already settled");

function onAttemptTimeout(attempt: Attempt): void {
  attempt.fail(new AttemptTimeout("attempt timed out"));
}

/**
 * The undici handler of one attempt. It settles exactly once, on whichever comes first: the response
 * end, the body limit, an error or the timer. Whatever undici reports after that is ignored, and a
 * request still queued when it settles is aborted as soon as undici starts it.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private status = 0;
  private statusMessage = "";
  private headers: IncomingHttpHeaders | null = null;
  private chunks: Buffer[] | null = null;
  private bytes = 0;
  private truncated = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (result: SendResult) => void,
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly host: string,
    private readonly connectTimeoutMs: number,
  ) {
    this.timer = setTimeout(onAttemptTimeout, timeoutMs, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.settled) controller.abort(SETTLED);
    else this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (status < 200) return; // 1xx interim responses (e.g. 103 Early Hints): the real one follows
    this.status = status;
    this.statusMessage = statusMessage ?? "";
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    const room = this.maxBytes - this.bytes;
    if (chunk.length <= room) {
      (this.chunks ??= []).push(chunk);
      this.bytes += chunk.length;
      return;
    }
    // Over the limit: keep what fits and stop now. Reading a huge body to the end just to reuse the
    // socket would let a receiver hold a sender slot for the whole timeout.
    if (room > 0) (this.chunks ??= []).push(chunk.subarray(0, room));
    this.bytes += room;
    this.truncated = true;
    this.settle(undefined);
    controller.abort(SETTLED);
  }

  onResponseEnd(): void {
    this.settle(undefined);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.settle(err);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settle(err);
    this.controller?.abort(err instanceof Error ? err : new Error(String(err)));
  }

  private settle(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const result = this.result(err);
    if (result.error !== undefined) result.error = oneLine(result.error, MAX_ERROR_LENGTH);
    this.resolve(result);
  }

  private result(err: unknown): SendResult {
    const durationMs = Math.round(performance.now() - this.started);
    const status = this.status;
    if (status === 0) {
      return { ok: false, durationMs, error: describeError(err, this.host, this.timeoutMs, this.connectTimeoutMs) };
    }

    const result: SendResult = {
      ok: err === undefined && status >= 200 && status < 300,
      status,
      responseBody: this.body(),
      responseBodyTruncated: this.truncated,
      responseHeaders: plainHeaders(this.headers),
      durationMs,
    };
    if (err !== undefined) {
      // Headers arrived but the body didn't finish: a timeout or a dropped connection mid-body.
      result.error = describeError(err, this.host, this.timeoutMs, this.connectTimeoutMs);
    } else if (!result.ok) {
      const reason = STATUS_CODES[status] ?? this.statusMessage;
      result.error = `HTTP ${status}${reason ? ` ${reason}` : ""}`;
      if (status >= 300 && status < 400) result.error += " — redirects are not followed";
    }
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(result.responseHeaders?.["retry-after"]);
      if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    }
    return result;
  }

  private body(): string {
    const chunks = this.chunks;
    if (chunks === null) return "";
    // A cut may split a UTF-8 sequence; toString() turns the fragment into U+FFFD, which is fine for a log.
    return (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.bytes)).toString("utf8");
  }
}

function plainHeaders(headers: IncomingHttpHeaders | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === null) return out;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || name === "__proto__") continue; // a header named __proto__ would set the prototype
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** "5s", "1.5s", "500ms". */
function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(3))}s`;
}

const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME"]);

const CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset",
  EPIPE: "Connection closed while sending the request",
  UND_ERR_SOCKET: "Connection closed before the response was complete",
  EHOSTUNREACH: "Host unreachable",
  ENETUNREACH: "Network unreachable",
  ETIMEDOUT: "Connection timed out",
  UND_ERR_HEADERS_OVERFLOW: "Response headers too large",
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "Response body did not match its Content-Length",
  UND_ERR_CLOSED: "Sender is shutting down",
  UND_ERR_DESTROYED: "Sender is shutting down",
  ERR_SSL_WRONG_VERSION_NUMBER: "TLS handshake failed: the server did not answer with TLS (plain HTTP on an https URL?)",
};

/** A failure in words a customer understands. */
export function describeError(err: unknown, host: string, timeoutMs: number, connectTimeoutMs: number): string {
  if (!(err instanceof Error)) return err === undefined ? "Request failed" : String(err);
  let code = (err as NodeJS.ErrnoException).code;
  // Happy-eyeballs connects report an AggregateError; the first attempt's error says what went wrong.
  if (code === undefined && err instanceof AggregateError && err.errors[0] instanceof Error) {
    return describeError(err.errors[0], host, timeoutMs, connectTimeoutMs);
  }
  if (err.name === "BlockedTargetError") return err.message;
  if (code === "TALKOVER_ATTEMPT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return `Timeout after ${formatDuration(timeoutMs)}`;
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") return `Timeout after ${formatDuration(connectTimeoutMs)} while connecting`;
  if (code === undefined) return err.message || "Request failed";
  if (DNS_CODES.has(code)) return `DNS lookup failed for ${host}`;
  const known = CODE_TEXT[code];
  if (known !== undefined) return known;
  if (code.startsWith("HPE_")) return "Invalid HTTP response";
  if (code.startsWith("ERR_SSL_")) {
    // ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE → "sslv3 alert handshake failure"
    return `TLS handshake failed: ${code.slice("ERR_SSL_".length).toLowerCase().replaceAll("_", " ")}`;
  }
  // Certificate problems: Node's messages ("certificate has expired", "self-signed certificate", …) are clear.
  if (code.includes("CERT") || code.startsWith("ERR_TLS_") || code === "EPROTO") return `TLS error: ${err.message}`;
  return `${err.message} (${code})`;
}
