// The package version, for the User-Agent of deliveries and the CLI.
import { readFileSync } from "node:fs";
import { packageFile } from "talkover-webhooks/package-files";

const pkg = JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string };

export const VERSION = pkg.version;
export const USER_AGENT = `Talkover-Webhooks/${VERSION} (+https://app.talkover.ai)`;
