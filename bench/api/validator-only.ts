// Calibration: bare Express 5 + express.json() + express-openapi-validator on our openapi.yaml, with the
// server's own validator options (requests validated, all errors, full formats), answering the same fixed
// bodies as bare-express.ts. No auth, no storage. It reproduces PERFORMANCE.md's row "+ express-openapi-
// validator (requests): 0.73–0.79 of bare Express", so a reader can tell how much of our gap is the machine
// and how much is our code.
//
//   node --conditions=talkover-source --import tsx bench/api/validator-only.ts [--port N]      → READY {"url","agentId","webhookId"}
import type { AddressInfo } from "node:net";
import express, { type RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { loadSpec } from "../../server/spec.js";
import { createAnswer, logsPageAnswer } from "../lib/fixtures.js";
import { announceReady, isMain, onTerminate, parseArgs } from "../lib/proc.js";

const AGENT_ID = "01994a2b-0000-7000-8000-00000000a9e7";
const WEBHOOK_ID = "01994a2b-0000-7000-8000-0000000b00c1";

export async function startValidatorOnly(port = 0) {
  const spec = loadSpec();
  const created = createAnswer(AGENT_ID);
  const logsPage = logsPageAnswer(AGENT_ID, WEBHOOK_ID);
  const handlers: Record<string, RequestHandler> = {
    createWebhook: (_req, res) => void res.status(201).json(created),
    listWebhookLogs: (_req, res) => void res.json(logsPage),
  };
  const notBenchmarked: RequestHandler = (_req, res) => void res.status(501).json({ success: false, message: "not benchmarked" });
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(express.json({ limit: 64 * 1024 }));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(spec.document) as any,
      validateRequests: { allErrors: true },
      validateResponses: false,
      validateSecurity: false,
      validateFormats: true,
      ajvFormats: { mode: "full" },
      ignoreUndocumented: false,
      operationHandlers: {
        basePath: "",
        resolver: (_basePath: string, route: any, apiDoc: any) =>
          handlers[apiDoc.paths[route.openApiRoute][route.method.toLowerCase()].operationId] ?? notBenchmarked,
      },
    }),
  );
  app.use(((err, _req, res, _next) => void res.status(err?.status ?? 500).json({ success: false, message: String(err?.message) })) as express.ErrorRequestHandler);
  const server = app.listen(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${bound}`;
  await fetch(`${url}/healthz`).then((r) => r.arrayBuffer()); // compiles the spec now, not on the first measured request
  return {
    url,
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
  const server = await startValidatorOnly(args.port ? Number(args.port) : 0);
  onTerminate(server.close);
  announceReady({ url: server.url, agentId: server.agentId, webhookId: server.webhookId, token: "unused", pid: process.pid });
}
