// Retry-After's grammar (RFC 9110 §10.2.3), as both readers use it: the client's 429 retries and the delivery
// engine's sender (each also tested where it reads the header: retry.test.ts, test/delivery/send.test.ts).
import { describe, expect, it } from "vitest";
import { parseHttpDate, parseRetryAfter } from "../../client/protocol/retry-after.js";

const now = Date.parse("2025-01-01T00:00:00Z");

describe("parseRetryAfter", () => {
  it.each([
    // delay-seconds = 1*DIGIT
    ["120", 120_000],
    ["0", 0],
    [" 7 ", 7_000], // surrounding whitespace is not part of a field value
    ["007", 7_000],
    // HTTP-date: the wait until then, or 0 once it has passed
    ["Wed, 01 Jan 2025 00:01:30 GMT", 90_000], // IMF-fixdate
    ["Tue, 31 Dec 2024 23:00:00 GMT", 0], // in the past
    ["Wednesday, 01-Jan-25 00:01:30 GMT", 90_000], // obsolete RFC 850 form
    ["Wed Jan  1 00:01:30 2025", 90_000], // obsolete asctime form
    // Neither: no value, never 0 (Date.parse would read the first three as dates in 2001)
    ["1.5", undefined],
    ["-1", undefined],
    ["-5", undefined],
    ["+5", undefined],
    ["1e3", undefined],
    ["12 s", undefined],
    ["soon", undefined],
    ["0x10", undefined],
    ["2025-01-01T00:01:30Z", undefined], // ISO 8601 is not an HTTP-date
    ["Wed, 01 Jan 2025 00:01:30 +0000", undefined], // an HTTP-date is always in GMT
    ["wed, 01 jan 2025 00:01:30 gmt", undefined], // and case-sensitive
    ["Wed, 1 Jan 2025 00:01:30 GMT", undefined], // two-digit day in IMF-fixdate
    ["Fri, 31 Feb 2025 00:00:00 GMT", undefined], // no such day
    ["Wed, 01 Jan 2025 24:00:00 GMT", undefined],
    ["", undefined],
    ["   ", undefined],
    [null, undefined], // Headers.get of an absent header
    [undefined, undefined],
  ])("%j → %j", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it("reads the HTTP-date that Date#toUTCString writes", () => {
    expect(parseRetryAfter(new Date(now + 7_000).toUTCString(), now)).toBe(7_000);
  });

  it("a huge delay-seconds is a long wait, not Infinity", () => {
    expect(parseRetryAfter("9".repeat(400), now)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("parseHttpDate", () => {
  it("agrees with Date.parse on every well-formed IMF-fixdate", () => {
    for (let t = Date.UTC(1970, 0, 1); t < Date.UTC(2100, 0, 1); t += 6 * 86_400_000 + 3_599_917) {
      const text = new Date(t - (t % 1000)).toUTCString();
      expect(parseHttpDate(text, now), text).toBe(Date.parse(text));
    }
  });

  it("takes 29 Feb in a leap year only", () => {
    expect(parseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT", now)).toBe(Date.UTC(2024, 1, 29));
    expect(parseHttpDate("Sat, 29 Feb 2100 00:00:00 GMT", now)).toBeUndefined();
    expect(parseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT", now)).toBe(Date.UTC(2000, 1, 29));
  });

  it("reads an RFC 850 two-digit year as at most 50 years ahead (RFC 9110 §5.6.7)", () => {
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate("Thursday, 01-Jan-75 00:00:00 GMT", now)).toBe(Date.UTC(2075, 0, 1));
    expect(parseHttpDate("Wednesday, 01-Jan-76 00:00:00 GMT", now)).toBe(Date.UTC(1976, 0, 1));
  });

  it("reads an asctime date with a space-padded or two-digit day", () => {
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994", now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate("Wed Nov 16 08:49:37 1994", now)).toBe(Date.UTC(1994, 10, 16, 8, 49, 37));
    expect(parseHttpDate("Sun Nov 6 08:49:37 1994", now)).toBeUndefined();
  });
});
