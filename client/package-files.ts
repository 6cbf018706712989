// Files of this package (openapi.yaml, package.json), found from this module upwards, so the same code works
// from the sources (client/) and from the compiled package (dist/client/). The mock helper serves the spec
// from here, and the server reads the spec and its version through it: client-side, so the client never
// imports from server/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let depth = 0; depth < 5; depth++, dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "openapi.yaml"))) return dir;
  }
  throw new Error("talkover-webhooks: no package.json with openapi.yaml beside it above " + fileURLToPath(from));
}

export const packageFile = (name: string): string => join(packageRoot(), name);
