#!/usr/bin/env node
// The `talkover-webhooks` command. In a checkout it runs the TypeScript sources through tsx; in an
// installed package, the compiled dist/.
import { existsSync } from "node:fs";

const source = new URL("../server/cli.ts", import.meta.url);
const compiled = new URL("../dist/server/cli.js", import.meta.url);

let entry = compiled;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = source;
}
const { main } = await import(entry.href);
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const usage = err?.name === "UsageError" || err?.name === "ConfigError" || String(err?.code ?? "").startsWith("ERR_PARSE_ARGS");
  console.error(`talkover-webhooks: ${err?.message ?? err}`);
  process.exitCode = usage ? 2 : 1;
}
