// The two pack tests' shared steps: `npm pack` a workspace package as it would be published, install
// tarballs into a scratch project from the npm cache that `npm ci` filled, and measure what got installed.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rmdir, stat, symlink } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";

export const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "../..");
export const npm = process.platform === "win32" ? "npm.cmd" : "npm";

// Node flags that belong to this checkout (vitest's, or --conditions=talkover-source) must not reach the
// scratch projects, which use the packages as an installed copy does.
export const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _options, ...env } = process.env;
  return { ...env, ...extra };
};

// Packing writes into the package folders (client/dist, server/dist, and openapi.yaml copied into client/
// while npm pack runs), and other test files read the checkout meanwhile: a server started while the copy
// existed would look for its spec in client/ and find it gone. So packing happens in a copy of the checkout
// (its files as git lists them, tracked and not ignored), whose node_modules links to the checkout's
// packages but to the copy's own workspace folders. One copy serves the run; the two pack test files, which
// may run at once, pack one after the other (their set-ups allow 7 minutes for the wait, the packs and the
// install on a busy machine).
const LOCK = join(ROOT, ".vitest", "pack.lock");

async function withPackLock<T>(work: () => Promise<T>): Promise<T> {
  await mkdir(join(ROOT, ".vitest"), { recursive: true });
  const deadline = Date.now() + 6 * 60_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // A lock older than a pack could take was left by a killed run.
      const age = Date.now() - (await stat(LOCK).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 5 * 60_000) await rmdir(LOCK).catch(() => {});
      if (Date.now() > deadline) throw new Error(`waited 6 min for ${LOCK}`);
      await new Promise((wait) => setTimeout(wait, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(LOCK);
  }
}

/** A copy of the checkout to pack in, made in `parent` (removed with it). */
async function packingCopy(parent: string): Promise<string> {
  const copy = join(parent, "checkout");
  for (const file of await checkoutFiles()) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
    await mkdir(dirname(join(copy, file)), { recursive: true });
    await copyFile(from, join(copy, file));
  }
  // The workspace packages by name → their folders in the copy; every other package → the checkout's.
  const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] };
  const workspaces = new Map<string, string>();
  for (const folder of root.workspaces) {
    const { name } = JSON.parse(await readFile(join(ROOT, folder, "package.json"), "utf8")) as { name: string };
    workspaces.set(name, join(copy, folder));
  }
  await mkdir(join(copy, "node_modules"));
  for (const entry of await readdir(join(ROOT, "node_modules"))) {
    await symlink(workspaces.get(entry) ?? join(ROOT, "node_modules", entry), join(copy, "node_modules", entry));
  }
  return copy;
}

/** Don't copy: installed packages, and what builds and test runs leave. */
const NOT_SOURCES = new Set(["node_modules", ".git", ".vitest", "dist"]);

/**
 * The checkout's files, as git lists them (tracked, and untracked but not ignored). Without git (the copy
 * `npm run test:node24` makes is one already) every file but those of NOT_SOURCES.
 */
async function checkoutFiles(): Promise<string[]> {
  try {
    const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, maxBuffer: 64 << 20 });
    return stdout.split("\0").filter(Boolean);
  } catch {
    const entries = await readdir(ROOT, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
      .filter((file) => !file.split(sep).some((part) => NOT_SOURCES.has(part)));
  }
}

/** `npm pack -w <name>` (its prepack builds it) into `destination`, in a copy of the checkout; the tarball's path. */
export function pack(workspace: string, destination: string): Promise<string> {
  return withPackLock(async () => {
    const copy = await packingCopy(await mkdtemp(join(destination, "src-")));
    const { stdout } = await run(npm, ["pack", "-w", workspace, "--json", "--pack-destination", destination], {
      cwd: copy,
      env: cleanEnv(),
      maxBuffer: 16 << 20,
    });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string }[];
    return join(destination, packed!.filename);
  });
}

/** `npm install` from the npm cache (`--prefer-offline`: the registry only for what the cache lacks). */
export async function install(project: string, specs: string[], flags: string[] = []): Promise<void> {
  await run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", ...flags, ...specs], {
    cwd: project,
    env: cleanEnv(),
    maxBuffer: 16 << 20,
  });
}

export interface InstalledPackage {
  path: string;
  version: string;
  hasInstallScript?: boolean;
}

/** Every package npm installed in `project`, from its package-lock.json. */
export async function installedPackages(project: string): Promise<InstalledPackage[]> {
  const lock = JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version: string; hasInstallScript?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path]) => path !== "")
    .map(([path, entry]) => ({ path, version: entry.version, hasInstallScript: entry.hasInstallScript }));
}

/** The bytes of the files under `dir` (what the installed packages take on disk, before block rounding). */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}
