// A server process for the multi-process tests: `node --conditions=talkover-source --import tsx test/engine/worker-process.ts`.
// Like `talkover-webhooks serve` (configuration from the same environment variables: DATABASE_URL, PORT,
// TALKOVER_ALLOW_PRIVATE_TARGETS, WORKER_CONCURRENCY, WORKER_LEASE_MS, …) plus, for the tests only:
//   WORKER_OWNER      the worker's owner name, also sent as `x-test-worker` on every delivery so the test
//                     can tell which process delivered what
//   TEST_HOLD_SENDS   "true": the worker's attempts never leave the process (each send waits forever), so
//                     the process can be killed with deliveries it holds and never sent
// WORKER_POLL_INTERVAL_MS applies only when set (default here 50 ms, for quick tests).
// Prints one JSON line `{"url": …, "owner": …}` on stdout once it listens and its worker's first claim is
// over (so a test's first events never meet the start-up claim, which holds every slot); logs go to stderr.
import { pino } from "pino";
import { loadConfig } from "../../server/config.js";
import { createSender, type Sender } from "../../server/delivery/send.js";
import { createLogger } from "../../server/logger.js";
import { startServer } from "../../server/server.js";

const config = loadConfig();
const owner = process.env.WORKER_OWNER || `worker-${process.pid}`;

const base = createSender({ allowPrivateTargets: config.allowPrivateTargets });
const hold = process.env.TEST_HOLD_SENDS === "true";
const sender: Sender = {
  send: (request) => (hold ? new Promise(() => {}) : base.send({ ...request, headers: { ...request.headers, "x-test-worker": owner } })),
  close: () => base.close(),
};

const running = await startServer(config, {
  logger: createLogger(config.logLevel, pino.destination(2)),
  engine: { sender, worker: { owner, pollIntervalMs: process.env.WORKER_POLL_INTERVAL_MS ? config.workerPollIntervalMs : 50 } },
});
const worker = running.engine.worker;
while (worker !== undefined && worker.state === "claiming") await new Promise((resolve) => setTimeout(resolve, 5));
process.stdout.write(JSON.stringify({ url: running.url, owner }) + "\n");

const shutdown = () => {
  running.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
