// The attempt log's query filters (status, event, since, until) turned into storage's LogFilter. The
// validator has already checked each one against openapi.yaml (the enums, RFC 3339 date-times); what the
// schema cannot say is here: `since` must not be later than `until`, and instants finer than the stored
// milliseconds are rounded so that `since` stays inclusive and `until` exclusive for the times the API shows.
import type { ApiSpec } from "../spec.js";
import type { LogFilter } from "../storage/logs.js";
import type { LogStatus } from "../storage/schema.js";
import { validationFailed } from "./errors.js";

export interface LogFilterQuery {
  status?: LogStatus;
  event?: string;
  since?: string;
  until?: string;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 date-time in whole microseconds since the epoch, rounded up (bigint: no precision lost). */
function ceilMicros(text: string): bigint {
  const match = RFC3339.exec(text);
  const whole = match ? Date.parse(`${match[1]}T${match[2]}${match[4]!.toUpperCase()}`) : Number.NaN;
  if (Number.isNaN(whole)) throw new Error(`not an RFC 3339 date-time: ${text}`);
  const fraction = match![3] ?? "";
  const finer = /[1-9]/.test(fraction.slice(6)) ? 1n : 0n;
  return BigInt(whole) * 1000n + BigInt(fraction.slice(0, 6).padEnd(6, "0")) + finer;
}

/**
 * The smallest whole millisecond at or after an RFC 3339 date-time. A row created at millisecond m (shown as
 * m with microseconds 000) is at or after the instant t exactly when m ≥ ceil(t), and before t exactly when
 * m < ceil(t): one rounding serves both bounds.
 */
export function ceilToMillis(text: string): number {
  const micros = ceilMicros(text);
  return Number((micros + 999n) / 1000n);
}

export function toLogFilter(spec: ApiSpec, query: LogFilterQuery): LogFilter {
  const filter: LogFilter = {};
  if (query.status !== undefined) filter.status = query.status;
  if (query.event !== undefined) filter.event = query.event;
  if (query.since !== undefined) filter.since = ceilToMillis(query.since);
  if (query.until !== undefined) filter.until = ceilToMillis(query.until);
  if (query.since !== undefined && query.until !== undefined && ceilMicros(query.since) > ceilMicros(query.until)) {
    const template = spec.validationMessages.before_or_equal ?? "The {attribute} field is invalid.";
    throw validationFailed({ since: [template.replace("{attribute}", "since").replace("{other}", "until")] });
  }
  return filter;
}
