// `npm run set-version -- 0.2.0`: the one version of the repository, written to the workspace root, both
// packages and the server's dependency on talkover-webhooks (test/unit/workspaces.test.ts checks they agree).
// `npm version --workspaces` leaves that dependency behind. Then `npm install` updates package-lock.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const version = process.argv[2];
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version ?? "")) {
  console.error("usage: npm run set-version -- X.Y.Z");
  process.exit(2);
}
const top = resolve(import.meta.dirname, "..");
for (const dir of [".", "client", "server"]) {
  const file = join(top, dir, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  manifest.version = version;
  if (manifest.dependencies?.["talkover-webhooks"]) manifest.dependencies["talkover-webhooks"] = version;
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
}
console.log(`version ${version} in package.json, client/package.json, server/package.json; now run npm install`);
