// A webhook receiver for the engine tests: a real node:http server on 127.0.0.1 (port 0) that records every
// request (raw body bytes and headers) and answers as the test scripts it: a status sequence, delays,
// Retry-After, redirects, a trickled body, a huge body, or no answer at all.
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. "/hook". */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as received: verify signatures over this. */
  raw: Buffer;
  /** raw as UTF-8. */
  body: string;
  /** Date.now() when the body was complete. */
  receivedAt: number;
  /** The test's clock (ReceiverOptions.clock) at that moment, e.g. the engine's injectable now(). */
  clockAt: number;
}

/** A request's headers as the string record that verifiers (standardwebhooks) take. */
export function headersOf(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
}

/** One scripted answer. A bare number is `{ status }`. */
export type Reply =
  | number
  | {
      status?: number;
      headers?: Record<string, string>;
      body?: string;
      /** Wait this long before answering. */
      delayMs?: number;
      /** Never answer (the socket stays open until the receiver closes). */
      never?: true;
      /** Send the status and headers, then one byte every `trickleMs`, never finishing. */
      trickleMs?: number;
      /** Answer with a body of this many bytes ("x"), streamed in 64 KiB chunks. */
      bodyBytes?: number;
    };

export interface ReceiverOptions {
  /** Clock recorded as `clockAt` (default Date.now). */
  clock?: () => number;
}

export interface Receiver {
  /** Base URL, "http://127.0.0.1:PORT". */
  origin: string;
  /** origin + "/hook": the URL to subscribe. */
  url: string;
  readonly requests: RecordedRequest[];
  /**
   * Scripts the answers: each request takes the next reply; the last one repeats forever. Replaces any
   * earlier script (requests already answered are not affected). Default: 200 "ok".
   */
  respond(...replies: Reply[]): void;
  /** Requests to `path` (default "/hook"). */
  requestsTo(path?: string): RecordedRequest[];
  /** The most requests open at once: arrived and not yet answered (or hung up on). */
  readonly maxOpen: number;
  /** webhook-id header → number of requests that carried it. */
  countsById(): Map<string, number>;
  /** Resolves when at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const clock = options.clock ?? Date.now;
  const server: Server = createServer({ keepAliveTimeout: 5_000 });
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let script: Reply[] = [200];
  let closed = false;
  let open = 0;
  let maxOpen = 0;

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      maxOpen = Math.max(maxOpen, ++open);
      res.once("close", () => open--);
      const raw = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        raw,
        body: raw.toString("utf8"),
        receivedAt: Date.now(),
        clockAt: clock(),
      });
      const reply = script.length > 1 ? script.shift()! : script[0]!;
      for (const wake of waiters) wake();
      answer(res, typeof reply === "number" ? { status: reply } : reply);
    });
  });

  function answer(res: ServerResponse, reply: Exclude<Reply, number>): void {
    if (reply.never) return;
    const send = () => {
      if (res.destroyed) return;
      const status = reply.status ?? 200;
      if (reply.trickleMs !== undefined) {
        res.writeHead(status, { "content-type": "text/plain", ...reply.headers });
        res.flushHeaders();
        const drip = () => {
          if (closed || res.destroyed) return;
          res.write("x");
          later(reply.trickleMs!, drip);
        };
        drip();
        return;
      }
      if (reply.bodyBytes !== undefined) {
        res.writeHead(status, { "content-type": "text/plain", "content-length": String(reply.bodyBytes), ...reply.headers });
        const chunk = Buffer.alloc(64 * 1024, "x");
        let left = reply.bodyBytes;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= piece.length;
            if (!res.write(piece)) return void res.once("drain", pump);
          }
          if (!res.destroyed) res.end();
        };
        res.on("error", () => {}); // the sender hangs up after 64 KiB: expected
        pump();
        return;
      }
      res.writeHead(status, { "content-type": "text/plain", ...reply.headers });
      res.end(reply.body ?? (status < 300 ? "ok" : `status ${status}`));
    };
    if (reply.delayMs) later(reply.delayMs, send);
    else send();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    url: `${origin}/hook`,
    requests,
    get maxOpen() {
      return maxOpen;
    },
    respond(...replies) {
      if (replies.length === 0) throw new Error("respond() needs at least one reply");
      script = replies;
    },
    requestsTo(path = "/hook") {
      return requests.filter((r) => r.path === path);
    },
    countsById() {
      const counts = new Map<string, number>();
      for (const r of requests) {
        const id = String(r.headers["webhook-id"]);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
    waitForRequests(count, timeoutMs = 15_000) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        function check() {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(requests);
        }
        waiters.add(check);
      });
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
