// The package version, for the User-Agent of deliveries and the CLI.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

export const VERSION = pkg.version;
export const USER_AGENT = `Talkover-Webhooks/${VERSION} (+https://app.talkover.ai)`;
