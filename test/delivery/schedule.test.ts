import { describe, expect, it } from "vitest";
import { nextAttemptDelayMs } from "../../server/delivery/schedule.js";

const middle = () => 0.5; // no jitter
const s = 1000;
const h = 3600 * s;

describe("nextAttemptDelayMs", () => {
  it("doubles from 5 s and caps at 1 h", () => {
    const delays = Array.from({ length: 12 }, (_, i) => nextAttemptDelayMs(i + 1, { random: middle }));
    expect(delays).toEqual([5 * s, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 320 * s, 640 * s, 1280 * s, 2560 * s, h, h]);
    expect(nextAttemptDelayMs(100, { random: middle })).toBe(h);
    expect(nextAttemptDelayMs(5000, { random: middle })).toBe(h);
  });

  it("jitters by ±20% and never exceeds 1 h", () => {
    expect(nextAttemptDelayMs(1, { random: () => 0 })).toBe(4 * s);
    expect(nextAttemptDelayMs(1, { random: () => 0.999999 })).toBe(6 * s);
    expect(nextAttemptDelayMs(3, { random: () => 0.25 })).toBe(18 * s);
    expect(nextAttemptDelayMs(20, { random: () => 0 })).toBe(0.8 * h);
    expect(nextAttemptDelayMs(20, { random: () => 0.999999 })).toBe(h);
  });

  it("stays in range with the default random source", () => {
    for (let i = 0; i < 1000; i++) {
      const d = nextAttemptDelayMs(4);
      expect(d).toBeGreaterThanOrEqual(32 * s);
      expect(d).toBeLessThanOrEqual(48 * s);
    }
  });

  it("honours a longer Retry-After", () => {
    expect(nextAttemptDelayMs(1, { random: middle, retryAfterMs: 30 * s })).toBe(30 * s);
    expect(nextAttemptDelayMs(1, { random: middle, retryAfterMs: 5.5 * s })).toBe(5.5 * s);
  });

  it("keeps the computed delay when Retry-After is shorter", () => {
    expect(nextAttemptDelayMs(5, { random: middle, retryAfterMs: 10 * s })).toBe(80 * s);
    expect(nextAttemptDelayMs(1, { random: middle, retryAfterMs: 0 })).toBe(5 * s);
  });

  it("clamps Retry-After to [1 s, 1 h]", () => {
    expect(nextAttemptDelayMs(1, { random: middle, retryAfterMs: 10 * h })).toBe(h);
    expect(nextAttemptDelayMs(1, { random: middle, retryAfterMs: Number.MAX_SAFE_INTEGER })).toBe(h);
    // The lower clamp matters only if the computed delay were under 1 s, which it never is; a 0 can't shorten it.
    expect(nextAttemptDelayMs(1, { random: () => 0, retryAfterMs: 0 })).toBe(4 * s);
  });

  it("rejects attempt numbers that aren't 1-based integers", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => nextAttemptDelayMs(bad)).toThrow(RangeError);
  });
});
