// The ceiling: bare Express 5 + express.json(), answering fixed JSON bodies of the same shape and size as
// our server's answers (201 for create, 200 with 25 log rows for the logs listing). Same app settings as
// ours (no x-powered-by, no ETag), no auth, no validation, no storage.
//
//   node --conditions=talkover-source --import tsx bench/api/bare-express.ts [--port N]      → READY {"url","agentId","webhookId"}
import type { AddressInfo } from "node:net";
import express from "express";
import { createAnswer, logsPageAnswer } from "../lib/fixtures.js";
import { announceReady, isMain, onTerminate, parseArgs } from "../lib/proc.js";

const AGENT_ID = "01994a2b-0000-7000-8000-00000000a9e7";
const WEBHOOK_ID = "01994a2b-0000-7000-8000-0000000b00c1";

export async function startBareExpress(port = 0) {
  const created = createAnswer(AGENT_ID);
  const logsPage = logsPageAnswer(AGENT_ID, WEBHOOK_ID);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(express.json({ limit: 64 * 1024 }));
  app.post("/api/v1/agents/:agent_id/webhooks", (_req, res) => {
    res.status(201).json(created);
  });
  app.get("/api/v1/agents/:agent_id/webhooks/:webhook_id/logs", (_req, res) => {
    res.json(logsPage);
  });
  const server = app.listen(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    agentId: AGENT_ID,
    webhookId: WEBHOOK_ID,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (isMain(import.meta.url)) {
  const args = parseArgs();
  const bare = await startBareExpress(args.port ? Number(args.port) : 0);
  onTerminate(bare.close);
  announceReady({ url: bare.url, agentId: bare.agentId, webhookId: bare.webhookId, token: "unused", pid: process.pid });
}
