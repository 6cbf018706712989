// Timestamps are stored as epoch milliseconds (bigint columns) and formatted only at the edge.

/** The published API's resource form, with microseconds: "2025-09-03T23:19:51.123000Z". */
export function toApiTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // always ends in "Z" (a slice, not a regex: 50 per log page)
  return `${iso.slice(0, -1)}000Z`;
}

/** Milliseconds, as in the test request body: "2025-09-03T23:19:51.123Z". */
export function toMillisecondTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

export function toNullableApiTimestamp(ms: number | null): string | null {
  return ms === null ? null : toApiTimestamp(ms);
}
