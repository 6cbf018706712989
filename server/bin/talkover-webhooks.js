#!/usr/bin/env node
// The `talkover-webhooks` command. In a checkout it runs the TypeScript sources through tsx, with the
// talkover-source condition so that `talkover-webhooks` (client/) resolves to its sources too; in an
// installed package, the compiled dist/.
import { existsSync } from "node:fs";

const source = new URL("../cli.ts", import.meta.url);
const compiled = new URL("../dist/cli.js", import.meta.url);

let entry = compiled;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  // What `node --conditions=talkover-source` does, for the imports from here on (registered last, runs first).
  const { register: registerHooks } = await import("node:module");
  registerHooks(
    "data:text/javascript,export const resolve = (specifier, context, next) => " +
      "next(specifier, { ...context, conditions: [...context.conditions, 'talkover-source'] });",
  );
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
