// vitest globalSetup: one PostgreSQL server for the whole run (initdb + start ≈ 1.5 s, paid once).
// Test files create a fresh database on it per test (databases.ts). Wire it in vitest.config.ts:
//   test: { globalSetup: ["test/support/global-postgres.ts"] }
import type { TestProject } from "vitest/node";
import { startPostgres } from "./postgres.js";

/** Where the workers find the server's URL. */
export const POSTGRES_URL_ENV = "TALKOVER_TEST_POSTGRES_URL";

declare module "vitest" {
  export interface ProvidedContext {
    talkoverPostgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_DATABASE_URL;
  // An existing server: the per-test databases are created on it directly, nothing to start or stop.
  const server = given !== undefined && given !== "" ? { url: given, stop: async () => {} } : await startPostgres();
  // Workers are spawned after global setup and inherit the environment; provide() covers pools that don't.
  process.env[POSTGRES_URL_ENV] = server.url;
  project.provide("talkoverPostgresUrl", server.url);
  return async () => {
    delete process.env[POSTGRES_URL_ENV];
    await server.stop();
  };
}
