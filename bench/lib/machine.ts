// What the results were measured on: date, Node, CPU, load, commit.
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem, release, platform } from "node:os";
import { REPO_ROOT } from "./proc.js";

export interface Machine {
  date: string;
  node: string;
  cpuModel: string;
  cores: number;
  memoryGB: number;
  os: string;
  commit: string | null;
  /** Files changed in the work tree when the run started (the figures measure the tree, not the commit). */
  uncommittedFiles: number | null;
  loadAverageAtStart: number[];
}

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  const status = git(["status", "--porcelain"]);
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 1e9),
    os: `${platform()} ${release()}`,
    commit: git(["rev-parse", "--short", "HEAD"]),
    uncommittedFiles: status === null ? null : status.split("\n").filter((l) => l.trim() !== "").length,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
