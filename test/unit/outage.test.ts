import { describe, expect, it } from "vitest";
import type { Logger } from "../../server/logger.js";
import { Outage } from "../../server/delivery/outage.js";

function fakeLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message });
  return { lines, logger: { warn: at("warn"), info: at("info"), error: at("error") } as unknown as Logger };
}

describe("Outage", () => {
  it("one warning per outage, one info line on recovery, however many failures between", () => {
    const { lines, logger } = fakeLogger();
    let time = 1_000;
    const outage = new Outage({ logger, what: "claiming deliveries", minDelayMs: 250, now: () => time, random: () => 0.5 });
    outage.succeeded(); // nothing to say while all is well
    expect(lines).toEqual([]);

    for (let i = 0; i < 20; i++) {
      outage.failed(Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" }));
      time += 500;
    }
    expect(outage.ongoing).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", fields: { err: "ECONNREFUSED: connection refused" } });
    expect(lines[0]!.message).toContain("claiming deliveries");

    outage.succeeded();
    outage.succeeded();
    expect(outage.ongoing).toBe(false);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: "info", fields: { failures: 20, outageMs: 10_000 } });
    expect(lines[1]!.message).toBe("claiming deliveries recovered");

    outage.failed(new Error("again")); // a new outage warns again
    expect(lines.map((l) => l.level)).toEqual(["warn", "info", "warn"]);
  });

  it("backs off exponentially from minDelayMs, bounded by maxDelayMs", () => {
    const { logger } = fakeLogger();
    const outage = new Outage({ logger, what: "x", minDelayMs: 250, maxDelayMs: 5_000, random: () => 0.5 });
    const delays = Array.from({ length: 8 }, () => outage.failed(new Error("down")));
    expect(delays).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    outage.succeeded();
    expect(outage.failed(new Error("down"))).toBe(250); // a new outage starts from the bottom again
  });

  it("jitters each delay by ±20 %, never above the maximum", () => {
    const { logger } = fakeLogger();
    const low = new Outage({ logger, what: "x", minDelayMs: 1_000, maxDelayMs: 5_000, random: () => 0 });
    const high = new Outage({ logger, what: "x", minDelayMs: 1_000, maxDelayMs: 5_000, random: () => 0.999999 });
    expect(low.failed(1)).toBe(800);
    expect(high.failed(1)).toBe(1_200);
    for (let i = 0; i < 5; i++) high.failed(1);
    expect(high.failed(1)).toBe(5_000);
  });
});
