// `Retry-After` (RFC 9110 §10.2.3), read one way by both of its readers: the client's opt-in 429 retries
// (client/retry.ts) and the delivery engine, for a receiver's 429 or 503 (server/delivery/send.ts).
//
//   Retry-After   = HTTP-date / delay-seconds
//   delay-seconds = 1*DIGIT
//   HTTP-date     = IMF-fixdate / obs-date          (§5.6.7)
//
// IMF-fixdate is "Sun, 06 Nov 1994 08:49:37 GMT"; a recipient also accepts the two obsolete forms, RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"). The grammar is matched here
// rather than handed to Date.parse, which reads "1.5" as the year 2001, "-1" as 2001 too, and other text
// differently from one JavaScript engine to the next.

/**
 * The wait `value` asks for, in ms from `now`: delay-seconds, or the time until an HTTP-date (0 for a
 * date in the past). Undefined when the header is absent or is neither: `1.5`, `-1`, `soon`, a date in
 * some other format. Never NaN; clamping to a sane range is the caller's job.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value.trim(); // optional whitespace around a field value is not part of it (RFC 9110 §5.5)
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH = `(?<month>${MONTHS.join("|")})`;
const DAY_NAME = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const DAY_NAME_LONG = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const TIME_OF_DAY = "(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})";
// HTTP-date is case-sensitive (§5.6.7). asctime puts the time before the year and pads the day with a space.
const IMF_FIXDATE = new RegExp(`^${DAY_NAME}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME_OF_DAY} GMT$`);
const RFC850_DATE = new RegExp(`^${DAY_NAME_LONG}, (?<day>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME_OF_DAY} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY_NAME} ${MONTH} (?<day> \\d|\\d{2}) ${TIME_OF_DAY} (?<year>\\d{4})$`);

/** An HTTP-date as ms since the epoch, or undefined if `text` is not one (or names no real day). */
export function parseHttpDate(text: string, now: number = Date.now()): number | undefined {
  const fields = (IMF_FIXDATE.exec(text) ?? RFC850_DATE.exec(text) ?? ASCTIME_DATE.exec(text))?.groups;
  if (fields === undefined) return undefined;
  const year = fields.yy !== undefined ? fullYear(Number(fields.yy), now) : Number(fields.year);
  const month = MONTHS.indexOf(fields.month!);
  const [day, hour, minute, second] = [fields.day, fields.hour, fields.minute, fields.second].map(Number) as [number, number, number, number];
  // A second of 60 is a leap second (RFC 5322 allows it); Date.UTC reads it as the next minute's first.
  if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  return Date.UTC(year, month, day, hour, minute, second);
}

function daysInMonth(year: number, month: number): number {
  if (month !== 1) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/**
 * The year of an RFC 850 date's two digits: this century's, unless that is more than 50 years ahead of
 * `now`, which then means the most recent past year with those digits (RFC 9110 §5.6.7).
 */
function fullYear(twoDigits: number, now: number): number {
  const thisYear = new Date(now).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + twoDigits;
  if (year > thisYear + 50) year -= 100;
  else if (year <= thisYear - 50) year += 100;
  return year;
}
