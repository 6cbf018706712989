// The multi-process tests' Scope closes when its test ends, also when the test never reaches its own close()
// (a timeout abandons the test's function; its worker processes must not outlive the run).
import { describe, expect, it } from "vitest";
import { Scope } from "./processes.js";

describe("Scope made with the test's onTestFinished", () => {
  const undone: string[] = [];

  it("a test that leaves its scope open", ({ onTestFinished }) => {
    const scope = new Scope(onTestFinished);
    scope.add(async () => undone.push("first"));
    scope.add(async () => undone.push("second"));
  });

  it("…has had it closed when it ended, last first", () => {
    expect(undone).toEqual(["second", "first"]);
  });

  it("closing twice undoes once", async ({ onTestFinished }) => {
    let n = 0;
    const scope = new Scope(onTestFinished);
    scope.add(async () => n++);
    await scope.close();
    await scope.close();
    expect(n).toBe(1);
  });
});
