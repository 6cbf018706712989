// Statements of the API's hot paths, built and compiled once. Kysely builds and compiles a query on every
// call: tens of µs for a small SELECT or INSERT, about what SQLite takes to run it. A prepared query is
// written with Kysely as usual (typed, both dialects), with a named slot wherever a value goes; it is
// compiled once per dialect, and each call only binds its values in the slots' places. The SQL text never
// changes, so SQLite's statement cache (sqlite.ts) reuses one prepared statement too.
import type { Compilable, CompiledQuery, InferResult, Kysely, QueryResult } from "kysely";
import type { Database, Dialect } from "./db.js";
import type { Schema } from "./schema.js";

/** A slot's stand-in value while the query is compiled: a string no caller can pass. */
const SLOT = "\u0000prepared-slot:";

interface Template {
  compiled: CompiledQuery;
  /** For each parameter, the slot it takes its value from, or its constant value. */
  parameters: Array<{ slot: string } | { value: unknown }>;
}

export type Prepared<Values, Row> = (database: Database, values: Values) => Promise<QueryResult<Row>>;

/**
 * `build` receives the slots as `values`: use `slots.x` where the query takes the value of x (a slot stands
 * for any type, a number or a boolean too). Every slot used must end up a parameter of the statement.
 */
export function prepare<Values extends Record<string, unknown>, C extends Compilable<unknown>>(
  build: (db: Kysely<Schema>, slots: Values) => C,
): Prepared<Values, InferResult<C>[number]> {
  const templates = new Map<Dialect, Template>();
  const compile = (database: Database): Template => {
    const slots = new Proxy({}, { get: (_target, name) => SLOT + String(name) }) as Values;
    const compiled = build(database.db, slots).compile();
    if (compiled.sql.includes(SLOT)) throw new Error(`prepare: a slot was written into the SQL text: ${compiled.sql}`);
    const template: Template = {
      compiled,
      parameters: compiled.parameters.map((p) => (typeof p === "string" && p.startsWith(SLOT) ? { slot: p.slice(SLOT.length) } : { value: p })),
    };
    templates.set(database.dialect, template);
    return template;
  };
  return (database, values) => {
    const template = templates.get(database.dialect) ?? compile(database);
    const parameters = template.parameters.map((p) => ("slot" in p ? values[p.slot] : p.value));
    // The compiled query with this call's values; its query node and id are reused as they are (no plugin
    // keeps state by query id here; a new id costs ≈ 1 % of a log page's CPU).
    return database.db.executeQuery({ ...template.compiled, parameters });
  };
}
