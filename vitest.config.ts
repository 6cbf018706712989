import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites start real servers, databases and Prism processes; two cores are the budget.
    maxWorkers: 2,
    globalSetup: [],
  },
});
