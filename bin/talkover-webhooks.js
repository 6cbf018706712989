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
  process.exit(await main(process.argv.slice(2)));
} catch (err) {
  // Mistakes in the command line or the configuration get a message; anything else its stack.
  const usage = ["UsageError", "ConfigError"].includes(err?.name) || String(err?.code ?? "").startsWith("ERR_PARSE_ARGS");
  console.error(usage ? `talkover-webhooks: ${err.message}\n(see talkover-webhooks --help)` : err);
  process.exit(usage ? 2 : 1);
}
