import { describe, expect, it } from "vitest";
import { Wakeup } from "../../server/delivery/wakeup.js";

const LONG = 60_000;

describe("Wakeup", () => {
  it("a signal cuts a sleep short", async () => {
    const wakeup = new Wakeup();
    const slept = wakeup.sleep(LONG);
    wakeup.signal();
    await slept;
    expect(wakeup.signalled).toBe(false); // the sleeper has seen it
  });

  it("a signal while nobody sleeps is kept: the next sleep returns at once", async () => {
    const wakeup = new Wakeup();
    wakeup.signal();
    expect(wakeup.signalled).toBe(true);
    await wakeup.sleep(LONG);
    expect(wakeup.signalled).toBe(false);
  });

  it("take() forgets a kept signal", async () => {
    const wakeup = new Wakeup();
    wakeup.signal();
    wakeup.take();
    const started = performance.now();
    await wakeup.sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("a nudge wakes a sleeper but is not kept", async () => {
    const wakeup = new Wakeup();
    wakeup.nudge();
    expect(wakeup.signalled).toBe(false);
    const slept = wakeup.sleep(LONG);
    wakeup.nudge();
    await slept;
  });
});
