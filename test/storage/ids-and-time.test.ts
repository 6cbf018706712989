import { describe, expect, it } from "vitest";
import { firstIdAt, idTimestamp, newId } from "../../server/storage/ids.js";
import { toApiTimestamp, toMillisecondTimestamp } from "../../server/storage/time.js";

describe("newId", () => {
  it("is a UUIDv7 with the RFC 9562 version and variant bits", () => {
    const id = newId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("carries the creation time in its first 48 bits, also for a time earlier than the last id's", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(idTimestamp(newId(now))).toBe(now);
    expect(idTimestamp(newId(now - 86_400_000))).toBe(now - 86_400_000);
  });

  it("firstIdAt(ms) sorts above every id of an earlier millisecond and not above those of ms", () => {
    const ms = Date.UTC(2026, 0, 1, 12);
    const bound = firstIdAt(ms);
    expect(newId(ms - 1) < bound).toBe(true);
    expect(newId(ms) >= bound).toBe(true);
    expect(newId(ms + 1) > bound).toBe(true);
  });

  it("sorts in creation order, also within one millisecond and past 4,096 ids in it", () => {
    const now = Date.UTC(2026, 0, 2);
    const ids = Array.from({ length: 10_000 }, () => newId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("timestamps", () => {
  const ms = Date.UTC(2025, 8, 3, 23, 19, 51, 123);

  it("resources use the API's microsecond form", () => {
    expect(toApiTimestamp(ms)).toBe("2025-09-03T23:19:51.123000Z");
  });

  it("the test body uses milliseconds", () => {
    expect(toMillisecondTimestamp(ms)).toBe("2025-09-03T23:19:51.123Z");
  });
});
