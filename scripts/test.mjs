// `npm test`: vitest over the whole suite, then one plain summary line that CI reads.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";

mkdirSync(".vitest", { recursive: true });
const report = ".vitest/results.json";
const vitest = spawnSync(
  process.execPath,
  ["node_modules/vitest/vitest.mjs", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: "inherit" },
);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const results = JSON.parse(readFileSync(report, "utf8"));
  passed = results.numPassedTests;
  // A file that fails to load has no failed test but a failed suite: count it once.
  failed = results.numFailedTests || results.numFailedTestSuites;
  skipped = results.numPendingTests + (results.numTodoTests ?? 0);
} catch {
  failed = Math.max(failed, 1); // no report: the run itself broke
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(vitest.status === 0 && failed === 0 ? 0 : 1);
