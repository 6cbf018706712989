// A Kysely `log` hook that counts statements and their time by shape (diagnostics: --sql-stats on the
// server and drain-worker children prints the table to stderr when they finish).
import type { LogEvent } from "kysely";

export function sqlStats() {
  const stats = new Map<string, { n: number; ms: number; max: number }>();
  return {
    log(event: LogEvent) {
      // One key per statement shape: VALUES lists of any length collapse to "(…)".
      const key = event.query.sql.replace(/\s+/g, " ").replace(/\(VALUES .*?\)( |$)/, "(VALUES …) ").slice(0, 120);
      const s = stats.get(key) ?? { n: 0, ms: 0, max: 0 };
      s.n++;
      s.ms += event.queryDurationMillis;
      s.max = Math.max(s.max, event.queryDurationMillis);
      stats.set(key, s);
    },
    report(limit = 15): string {
      return [...stats]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, limit)
        .map(([k, s]) => `${s.ms.toFixed(0).padStart(7)} ms ${String(s.n).padStart(7)} × avg ${(s.ms / s.n).toFixed(3)} ms  ${k}`)
        .join("\n");
    },
  };
}
