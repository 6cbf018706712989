// The time buckets of log_counts (migration 0007), the per-webhook counts of attempt-log rows by status and
// event that make a filtered listing's `total` exact without counting a million rows. Each row is counted
// at four levels: all time, its UTC day, its hour and its minute (bucket = the level's start, epoch ms).
// A `since`/`until` window is cut into whole days, whole hours at its two ends, whole minutes at its two
// ends, and the parts of at most two minutes that only the log itself can count: so a total sums at most
// (days in the window + 46 hours + 118 minutes) bucket rows per (status, event) that has any, and counts
// at most two minutes of log rows, whatever the window. Pure arithmetic, shared by writers and the reader.

import { LOG_COUNT_LEVELS } from "./migrations.js";

export const LEVEL_ALL = 0;
export const LEVEL_DAY = 1;
export const LEVEL_HOUR = 2;
export const LEVEL_MINUTE = 3;

/** Each timed level's width in ms, as the migration defines them; the all-time level has one bucket, 0. */
export const LEVEL_WIDTHS = LOG_COUNT_LEVELS.filter((l): l is readonly [number, number] => l[1] !== null);
const widthOf = (level: number) => LEVEL_WIDTHS.find(([l]) => l === level)![1];
export const MINUTE = widthOf(LEVEL_MINUTE);
const HOUR = widthOf(LEVEL_HOUR);
const DAY = widthOf(LEVEL_DAY);

/** The start of the bucket of width `w` holding `t` (floored, also before 1970, as the migration's SQL does). */
export const floorTo = (t: number, w: number): number => (Number.isFinite(t) ? Math.floor(t / w) * w : t);
const ceilTo = (t: number, w: number): number => (Number.isFinite(t) ? Math.ceil(t / w) * w : t);

/** Buckets of one level with start in [from, to); an infinite end is no bound. */
export interface BucketRange {
  level: number;
  from: number;
  to: number;
}

/** How to count [since, until): sums of bucket ranges, plus exact counts of the log over the edge windows. */
export interface WindowPlan {
  buckets: BucketRange[];
  /** [from, to) windows on created_at, together at most two minutes long, counted in the log itself. */
  edges: Array<[from: number, to: number]>;
}

/**
 * Cuts [since, until) (either end may be absent: unbounded) into whole buckets and short edges. Bounds are
 * rounded up to whole milliseconds first: created_at is an integer, so `>= since` and `< until` mean the same.
 * Call with at least one bound; without either, the all-time level answers.
 */
export function planWindow(since: number | undefined, until: number | undefined): WindowPlan {
  const lo = since === undefined ? -Infinity : Math.ceil(since);
  const hi = until === undefined ? Infinity : Math.ceil(until);
  const plan: WindowPlan = { buckets: [], edges: [] };
  if (lo >= hi) return plan;
  const s = ceilTo(lo, MINUTE);
  const u = floorTo(hi, MINUTE);
  if (s >= u) {
    // No whole minute inside: the window lies within two adjacent minutes.
    plan.edges.push([lo, hi]);
    return plan;
  }
  if (lo < s) plan.edges.push([lo, s]);
  if (u < hi) plan.edges.push([u, hi]);
  const add = (level: number, from: number, to: number) => {
    if (from < to) plan.buckets.push({ level, from, to });
  };
  // Minutes up to the first whole hour and after the last; hours likewise around whole days; days between.
  const h1 = Math.min(ceilTo(s, HOUR), u);
  const h2 = Math.max(floorTo(u, HOUR), h1);
  add(LEVEL_MINUTE, s, h1);
  add(LEVEL_MINUTE, h2, u);
  const d1 = Math.min(ceilTo(h1, DAY), h2);
  const d2 = Math.max(floorTo(h2, DAY), d1);
  add(LEVEL_HOUR, h1, d1);
  add(LEVEL_HOUR, d2, h2);
  add(LEVEL_DAY, d1, d2);
  return plan;
}
