// The loopback receiver: a plain node:http server answering every POST with 200 {"ok":true}.
//
//   node --conditions=talkover-source --import tsx bench/receiver.ts [--latency] [--port N]
//
// It counts deliveries (and how many carried a `webhook-signature`). With --latency it also parses each body
// and records arrival time − `data.bench_sent_at` (both wall-clock ms, same machine). Control endpoints:
// GET /__stats → {count, signed, latencyMs?}; POST /__reset. Prints `READY {"url"}`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { announceReady, isMain, onTerminate, parseArgs, sleep } from "./lib/proc.js";
import { summarize, wallClockMs } from "./lib/stats.js";

export interface ReceiverStats {
  count: number;
  signed: number;
  firstAt: number | null;
  lastAt: number | null;
  latencyMs?: ReturnType<typeof summarize>;
}

const OK = Buffer.from('{"ok":true}');

export async function startReceiver(options: { latency?: boolean; port?: number } = {}) {
  let count = 0;
  let signed = 0;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let latencies: number[] = [];

  const server = createServer((req, res) => {
    if (req.url === "/__stats") {
      const stats: ReceiverStats = { count, signed, firstAt, lastAt, ...(options.latency ? { latencyMs: summarize(latencies) } : {}) };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
      return;
    }
    if (req.url === "/__reset") {
      count = signed = 0;
      firstAt = lastAt = null;
      latencies = [];
      res.writeHead(204).end();
      return;
    }
    const answer = () => {
      const at = wallClockMs();
      count++;
      firstAt ??= at;
      lastAt = at;
      if (req.headers["webhook-signature"] !== undefined) signed++;
      res.writeHead(200, { "content-type": "application/json", "content-length": OK.length }).end(OK);
      return at;
    };
    if (!options.latency) {
      req.resume();
      req.once("end", answer);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      const at = answer();
      try {
        const sentAt = JSON.parse(Buffer.concat(chunks).toString("utf8"))?.data?.bench_sent_at;
        if (typeof sentAt === "number") latencies.push(at - sentAt);
      } catch {
        /* not a bench event: counted, not timed */
      }
    });
  });
  server.keepAliveTimeout = 65_000; // longer than the sender's idle timeout: the sender closes first
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads a receiver's counters over HTTP (from another process). */
export async function receiverStats(url: string): Promise<ReceiverStats> {
  const response = await fetch(`${url}/__stats`);
  return (await response.json()) as ReceiverStats;
}

/**
 * Waits, polling every `pollMs`, until the receiver has counted `n` deliveries since its reset (`each` runs
 * at every poll). A drain waits on this before it asks its database whether anything is left, so that its
 * own done-poll does not load the database it measures: on PostgreSQL a probe of the pending deliveries
 * walks the dead index entries of every delivery sent so far, 13–22 ms a probe by the end of a drain.
 */
export async function waitForReceived(url: string, n: number, options: { deadline: number; pollMs: number; each?: () => void }): Promise<void> {
  for (;;) {
    options.each?.();
    if ((await receiverStats(url)).count >= n) return;
    if (performance.now() > options.deadline) throw new Error(`the receiver has fewer than ${n} deliveries after the deadline`);
    await sleep(options.pollMs);
  }
}

export async function resetReceiver(url: string): Promise<void> {
  await fetch(`${url}/__reset`, { method: "POST" }).then((r) => r.arrayBuffer());
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  const receiver = await startReceiver({ latency: args.latency === "true", port: args.port ? Number(args.port) : 0 });
  onTerminate(receiver.close);
  announceReady({ url: receiver.url, pid: process.pid });
}
