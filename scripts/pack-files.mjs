// A package's prepack/postpack helper: `add NAME…` copies files from the repository's top (openapi.yaml,
// README.md) into the package being packed (the current directory), `remove NAME…` deletes those copies again.
// There is one openapi.yaml, at the top; the copy exists only while `npm pack` runs (and is git-ignored).
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const TOP = resolve(import.meta.dirname, "..");
const [command, ...names] = process.argv.slice(2);

for (const name of names) {
  const original = join(TOP, name);
  const copy = join(process.cwd(), name);
  if (command === "add") copyFileSync(original, copy);
  else if (command === "remove") {
    // Only a copy is removed: a file of the package's own that differs from the top's stays.
    if (existsSync(copy) && readFileSync(copy).equals(readFileSync(original))) rmSync(copy);
  } else {
    console.error("usage: node scripts/pack-files.mjs add|remove NAME…");
    process.exit(2);
  }
}
