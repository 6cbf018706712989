// Our patch of express-openapi-validator (patches/express-openapi-validator+5.6.2.patch, applied by
// patch-package on `npm ci`): each of its per-request middlewares awaited the loaded spec's promise on every
// request (a promise hop per middleware, each paying the process's promise hooks: the request deadline's
// AsyncLocalStorage); patched, once the spec has loaded they run at once. The first test fails without the
// patch; the others check that requests before the load, invalid requests and a failed load end as before.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express, { type ErrorRequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { afterEach, describe, expect, it } from "vitest";

const apiSpec = {
  openapi: "3.0.3",
  info: { title: "probe", version: "1" },
  paths: {
    "/items/{id}": {
      post: {
        operationId: "postItem",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { type: "object", required: ["name"], properties: { name: { type: "string" } } } } },
        },
        responses: { "200": { description: "ok" } },
      },
    },
  },
};

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** An app whose handler answers whether the validator handed on within the same call as the probe before it. */
async function start(spec: unknown): Promise<string> {
  const app = express();
  app.use(express.json());
  app.use((_req, res, next) => {
    res.locals.inProbe = true;
    next();
    res.locals.inProbe = false;
  });
  app.use(OpenApiValidator.middleware({ apiSpec: spec as any, validateRequests: true }));
  app.post("/items/:id", (req, res) => {
    res.json({ synchronous: res.locals.inProbe === true, id: req.params.id, name: req.body.name });
  });
  app.use(((err, _req, res, _next) => {
    res.status(err.status ?? 500).json({ message: String(err.message), errors: err.errors?.map((e: { path: string }) => e.path) });
  }) satisfies ErrorRequestHandler);
  server = app.listen(0, "127.0.0.1");
  await new Promise((done) => server!.once("listening", done));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));

describe("express-openapi-validator middlewares once the spec has loaded (patched)", () => {
  it("validate and hand on within the request's own call, without a promise per middleware", async () => {
    const url = await start(structuredClone(apiSpec));
    const first = await post(`${url}/items/7`, { name: "a" }); // may still wait for the spec's load
    expect(first).toMatchObject({ status: 200, body: { name: "a" } });
    for (let i = 1; i <= 3; i++) expect(await post(`${url}/items/${i}`, { name: "b" })).toEqual({ status: 200, body: { synchronous: true, id: i, name: "b" } });
  });

  it("answers requests sent before the spec has loaded, valid and invalid alike", async () => {
    const url = await start(structuredClone(apiSpec));
    const answers = await Promise.all([post(`${url}/items/1`, { name: "x" }), post(`${url}/items/2`, {}), post(`${url}/items/x`, { name: "y" })]);
    expect(answers[0]).toMatchObject({ status: 200, body: { name: "x" } });
    expect(answers[1]).toMatchObject({ status: 400, body: { errors: ["/body/name"] } });
    expect(answers[2]).toMatchObject({ status: 400, body: { errors: ["/params/id"] } });
  });

  it("still sends an invalid request to the error handler once the spec has loaded", async () => {
    const url = await start(structuredClone(apiSpec));
    await post(`${url}/items/1`, { name: "warm" });
    expect(await post(`${url}/items/3`, { name: 5 })).toMatchObject({ status: 400, body: { errors: ["/body/name"] } });
    expect(await post(`${url}/nowhere`, {})).toMatchObject({ status: 404 });
  });

  it("passes a spec that failed to load to the error handler, on the first request and every later one", async () => {
    const url = await start("/nonexistent/openapi.yaml");
    const first = await post(`${url}/items/1`, { name: "a" });
    const later = await post(`${url}/items/1`, { name: "a" });
    expect(first.status).toBe(500);
    expect(later).toEqual(first);
    expect(String(first.body.message)).toMatch(/nonexistent|ENOENT|spec/i);
  });
});
