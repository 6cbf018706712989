import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createSender } from "../../server/delivery/send.js";
import type { Sender } from "../../server/delivery/send.js";

// Real receivers on 127.0.0.1, so the sender must run with private targets allowed (the guard itself is
// tested in ssrf.test.ts).
const sender: Sender = createSender({ allowPrivateTargets: true });
afterAll(() => sender.close());

interface Receiver {
  url: string;
  server: Server;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  connections: number;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A receiver on 127.0.0.1 that records each request (body read in full) and answers with `respond`. */
async function receiver(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<Receiver> {
  const server = createServer();
  servers.push(server);
  const recv: Receiver = { url: "", server, requests: [], connections: 0 };
  server.on("connection", () => recv.connections++);
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { method = "", url = "", headers } = req;
      recv.requests.push({ method, url, headers, body: Buffer.concat(chunks).toString() });
      respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  recv.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return recv;
}

const body = JSON.stringify({ type: "message.created", data: { id: "msg_1", text: "héllo" } });
const headers = { "content-type": "application/json", "webhook-id": "msg_1" };

describe("send", () => {
  it("POSTs the body and headers and reports a 2xx as success", async () => {
    const recv = await receiver((_req, res) => {
      res.setHeader("X-Request-Id", "abc");
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.end("thanks");
    });
    const result = await sender.send({ url: `${recv.url}/hooks?x=1`, body, headers, timeoutMs: 5000 });

    expect(result).toMatchObject({ ok: true, status: 200, responseBody: "thanks", responseBodyTruncated: false });
    expect(result.error).toBeUndefined();
    expect(result.responseHeaders).toMatchObject({ "x-request-id": "abc", "set-cookie": "a=1, b=2", "content-length": "6" });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(recv.requests).toHaveLength(1);
    expect(recv.requests[0]).toMatchObject({ method: "POST", url: "/hooks?x=1", body });
    expect(recv.requests[0]!.headers).toMatchObject({ "content-type": "application/json", "webhook-id": "msg_1" });
  });

  it("reuses keep-alive connections", async () => {
    const recv = await receiver((_req, res) => res.end());
    for (let i = 0; i < 10; i++) {
      expect((await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 })).ok).toBe(true);
    }
    // undici frees a socket one event-loop turn after the response ends, so back-to-back sends may open a
    // second connection; what matters is that it isn't one connection per delivery.
    expect(recv.connections).toBeLessThanOrEqual(2);
  });

  it("times out a receiver that never answers", async () => {
    const recv = await receiver(() => {});
    const t0 = Date.now();
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 500 });
    expect(result).toMatchObject({ ok: false, error: "Timeout after 500ms" });
    expect(result.status).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(500 + 1000);
  });

  it("times out a receiver that sends headers and then trickles its body (the timeout bounds the whole attempt)", async () => {
    const recv = await receiver((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("."), 100);
      res.on("close", () => clearInterval(timer));
    });
    const t0 = Date.now();
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 1000 });
    expect(result).toMatchObject({ ok: false, status: 200, error: "Timeout after 1s" });
    expect(result.responseBody).toMatch(/^\.+$/);
    expect(Date.now() - t0).toBeLessThan(1000 + 1000);
  });

  it("reports a closed port as 'Connection refused'", async () => {
    const recv = await receiver(() => {});
    await new Promise((resolve) => recv.server.close(resolve));
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 });
    expect(result).toEqual({ ok: false, durationMs: expect.any(Number), error: "Connection refused" });
  });

  it("reports a reset connection", async () => {
    const recv = await receiver((req) => req.socket.resetAndDestroy());
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, error: "Connection reset" });
  });

  it("reports a connection closed without an answer", async () => {
    const recv = await receiver((req) => req.socket.destroy());
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^Connection (closed before the response was complete|reset)$/);
  });

  it("turns a 500 into an error with the standard reason phrase and keeps the body", async () => {
    const recv = await receiver((_req, res) => {
      res.statusCode = 500;
      res.statusMessage = "Oops";
      res.end("stack trace here");
    });
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 });
    expect(result).toMatchObject({
      ok: false,
      status: 500,
      error: "HTTP 500 Internal Server Error",
      responseBody: "stack trace here",
    });
    expect(result.retryAfterMs).toBeUndefined();
  });

  it("does not follow a redirect", async () => {
    const target = await receiver((_req, res) => res.end("should not be reached"));
    const recv = await receiver((_req, res) => {
      res.writeHead(301, { location: `${target.url}/elsewhere` });
      res.end();
    });
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, status: 301, error: "HTTP 301 Moved Permanently — redirects are not followed" });
    expect(result.responseHeaders?.location).toBe(`${target.url}/elsewhere`);
    expect(target.requests).toHaveLength(0);
  });

  it("keeps at most 64 KiB of a 5 MB response body", async () => {
    const recv = await receiver((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(Buffer.alloc(5 * 1024 * 1024, "x"));
    });
    const result = await sender.send({ url: recv.url, body, headers, timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: true, status: 200, responseBodyTruncated: true });
    expect(result.responseBody).toBe("x".repeat(64 * 1024));
  });

  it("stops reading at the limit instead of waiting for the rest of the body", async () => {
    // 4 KiB at once, then a body that never ends: the attempt must end at the limit, not at the timeout.
    const small = createSender({ allowPrivateTargets: true, maxResponseBytes: 1000 });
    try {
      const recv = await receiver((_req, res) => {
        res.writeHead(200);
        res.write(Buffer.alloc(4096, "y"));
        const timer = setInterval(() => res.write("y"), 100);
        res.on("close", () => clearInterval(timer));
      });
      const result = await small.send({ url: recv.url, body, headers, timeoutMs: 20_000 });
      expect(result).toMatchObject({ ok: true, status: 200, responseBodyTruncated: true, responseBody: "y".repeat(1000) });
      expect(result.error).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  // The header's grammar is tested in test/client/retry-after.test.ts; here, that the sender reads it.
  it("parses Retry-After on 429 (seconds) and 503 (HTTP date), and skips one that is neither", async () => {
    const recv = await receiver((req, res) => {
      if (req.url === "/429") res.writeHead(429, { "retry-after": "7" });
      else if (req.url === "/fraction") res.writeHead(429, { "retry-after": "1.5" });
      else res.writeHead(503, { "retry-after": new Date(Date.now() + 120_000).toUTCString() });
      res.end();
    });
    const r429 = await sender.send({ url: `${recv.url}/429`, body, headers, timeoutMs: 5000 });
    expect(r429).toMatchObject({ ok: false, status: 429, error: "HTTP 429 Too Many Requests", retryAfterMs: 7000 });

    const r503 = await sender.send({ url: `${recv.url}/503`, body, headers, timeoutMs: 5000 });
    expect(r503).toMatchObject({ ok: false, status: 503, error: "HTTP 503 Service Unavailable" });
    // toUTCString drops milliseconds, and a little time passes: within a couple of seconds of 120 s.
    expect(r503.retryAfterMs).toBeGreaterThan(117_000);
    expect(r503.retryAfterMs).toBeLessThanOrEqual(120_000);

    // Not delay-seconds (1*DIGIT) and not an HTTP-date: no value, so the schedule's own backoff applies.
    const fraction = await sender.send({ url: `${recv.url}/fraction`, body, headers, timeoutMs: 5000 });
    expect(fraction).toMatchObject({ ok: false, status: 429 });
    expect(fraction).not.toHaveProperty("retryAfterMs");
  });

  it("reports a TLS failure when an https URL reaches a plain HTTP server", async () => {
    const recv = await receiver((_req, res) => res.end());
    const result = await sender.send({ url: recv.url.replace("http:", "https:"), body, headers, timeoutMs: 5000 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^TLS /);
  });

  it.skipIf(!hasOpenssl())("reports an untrusted certificate", async () => {
    // A throwaway self-signed certificate, made at run time so no key is committed.
    const dir = mkdtempSync(join(tmpdir(), "talkover-tls-"));
    try {
      const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
          .concat(["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"]),
        { stdio: "ignore" },
      );
      const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end());
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const result = await sender.send({ url, body, headers, timeoutMs: 5000 });
      expect(result).toMatchObject({ ok: false });
      expect(result.status).toBeUndefined(); // no response: the connection failed in the handshake
      // Node's own words after our prefix: "self-signed certificate" (DEPTH_ZERO_SELF_SIGNED_CERT), to which
      // Node 24 appends a hint ("; if the root CA is installed locally, try running Node.js with --use-system-ca").
      expect(result.error).toMatch(/^TLS error: self-signed certificate(;|$)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports bad URLs without throwing", async () => {
    expect(await sender.send({ url: "not a url", body, headers, timeoutMs: 1000 })).toMatchObject({ ok: false, error: "Invalid URL" });
    expect(await sender.send({ url: "ftp://127.0.0.1/x", body, headers, timeoutMs: 1000 })).toMatchObject({
      ok: false,
      error: "Unsupported URL scheme ftp",
    });
  });

  it("reports a failed DNS lookup in plain words", async () => {
    const dnsFailing = createSender({
      allowPrivateTargets: false,
      resolve: (hostname, _options, callback) =>
        process.nextTick(callback, notFound(hostname), []),
    });
    try {
      const result = await dnsFailing.send({ url: "https://example.invalid/hook", body, headers, timeoutMs: 5000 });
      expect(result).toMatchObject({ ok: false, error: "DNS lookup failed for example.invalid" });
    } finally {
      await dnsFailing.close();
    }
  });
});

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
