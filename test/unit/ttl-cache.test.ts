import { describe, expect, it } from "vitest";
import { TtlCache } from "../../server/http/ttl-cache.js";

describe("TtlCache", () => {
  it("serves a found value until it expires, then loads again", async () => {
    let time = 0;
    let loads = 0;
    const cache = new TtlCache<string, number>(1_000, 10, () => time);
    const load = async () => ++loads;
    expect(await cache.get("a", load)).toBe(1);
    time = 999;
    expect(await cache.get("a", load)).toBe(1);
    time = 1_000;
    expect(await cache.get("a", load)).toBe(2);
  });

  it("never caches a miss: an unknown token is looked up every time", async () => {
    let loads = 0;
    const cache = new TtlCache<string, number>(1_000);
    const miss = async () => {
      loads++;
      return undefined;
    };
    await cache.get("x", miss);
    await cache.get("x", miss);
    expect(loads).toBe(2);
  });

  it("holds at most maxEntries, dropping the oldest", async () => {
    let loads = 0;
    const cache = new TtlCache<string, number>(60_000, 2);
    const load = async () => ++loads;
    await cache.get("a", load);
    await cache.get("b", load);
    await cache.get("c", load); // evicts "a"
    expect(await cache.get("b", load)).toBe(2);
    expect(await cache.get("a", load)).toBe(4);
  });

  it("peek answers a live entry at once and nothing once it expired or was never found", async () => {
    let time = 0;
    const cache = new TtlCache<string, number>(1_000, 10, () => time);
    expect(cache.peek("a")).toBeUndefined();
    await cache.get("a", async () => 7);
    await cache.get("x", async () => undefined);
    expect(cache.peek("a")).toBe(7);
    expect(cache.peek("x")).toBeUndefined();
    time = 1_000;
    expect(cache.peek("a")).toBeUndefined();
  });
});
