// A Prism mock of openapi.yaml, for trying the client (and contract-testing it) without a server.
// Prism is spawned as `node <prism-cli>/dist/index.js`, never through npx: killing npx leaves Prism running.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { packageFile } from "./package-files.js";

export interface StartMockOptions {
  /** Port to listen on (127.0.0.1); default: a free one. */
  port?: number;
  /** The document to mock; default: this package's openapi.yaml. */
  specPath?: string;
  /** How long to wait for Prism to listen. Default 30 s. */
  startTimeoutMs?: number;
}

export interface MockServer {
  /** Origin to use as the client's `baseUrl`, e.g. `http://127.0.0.1:4010`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** This package's openapi.yaml: `client/` in the repository, `dist/client/` in the installed package. */
export const packageSpecPath = (): string => packageFile("openapi.yaml");

function prismEntry(): string {
  try {
    return createRequire(import.meta.url).resolve("@stoplight/prism-cli");
  } catch {
    throw new Error("startMock needs Prism: npm install --save-dev @stoplight/prism-cli@5.14.2");
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export function startMock(options: StartMockOptions = {}): Promise<MockServer> {
  return startPrism((spec) => ["mock", spec], options);
}

/**
 * Prism as a validating proxy in front of a real server (`upstream`, e.g. `http://127.0.0.1:3000`): with
 * `errors` (default true) a request that breaks openapi.yaml gets Prism's 422 and never reaches the server,
 * and a response that breaks it becomes a 500 problem+json listing the violations.
 */
export function startProxy(upstream: string, options: StartMockOptions & { errors?: boolean } = {}): Promise<MockServer> {
  return startPrism((spec) => ["proxy", spec, upstream, ...(options.errors === false ? [] : ["--errors"])], options);
}

async function startPrism(command: (spec: string) => string[], options: StartMockOptions): Promise<MockServer> {
  const port = options.port ?? (await freePort());
  const spec = options.specPath ?? packageSpecPath();
  const child = spawn(process.execPath, [prismEntry(), ...command(spec), "-p", String(port), "-h", "127.0.0.1"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // If this process ends without stop(), take Prism with it rather than leave it holding the port.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(killer);
  };

  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Prism did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`)), options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Prism is listening")) done();
    };
    const onExit = (code: number | null) => fail(new Error(`Prism exited (${code}) before listening:\n${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stderr.off("data", onData);
      child.off("exit", onExit);
    };
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = (error: Error) => {
      cleanup();
      void stop().then(() => reject(error));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", onExit);
  });
  // Keep draining Prism's request log so a full pipe never blocks it.
  child.stdout.resume();
  child.stderr.resume();

  return { url: `http://127.0.0.1:${port}`, port, stop };
}
