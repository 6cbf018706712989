import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../server/delivery/group-commit.js";

/** A write the test finishes by hand, recording each batch it was given. */
function manualWrite() {
  const batches: number[][] = [];
  const deadlines: Array<number | undefined> = [];
  const finishers: Array<(fail?: Error) => void> = [];
  const write = (items: number[], deadline?: number) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      deadlines.push(deadline);
      finishers.push((fail) => (fail ? reject(fail) : resolve(items.map((n) => `r${n}`))));
    });
  return { batches, deadlines, write, finish: (fail?: Error) => finishers.shift()!(fail) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("GroupCommit", () => {
  it("items added in one turn go in one write, each caller gets its own result", async () => {
    const w = manualWrite();
    const commit = new GroupCommit({ write: w.write, maxBatch: 10 });
    const results = [commit.add(1), commit.add(2), commit.add(3)];
    await turn();
    expect(w.batches).toEqual([[1, 2, 3]]);
    w.finish();
    expect(await Promise.all(results)).toEqual(["r1", "r2", "r3"]);
  });

  it("items arriving while a write runs go together in the next write", async () => {
    const w = manualWrite();
    const commit = new GroupCommit({ write: w.write, maxBatch: 10 });
    const first = commit.add(1);
    await turn();
    const later = [commit.add(2), commit.add(3)];
    await turn();
    expect(w.batches).toEqual([[1]]); // nothing starts beside the running write
    w.finish();
    expect(await first).toBe("r1");
    await turn();
    expect(w.batches).toEqual([[1], [2, 3]]);
    w.finish();
    expect(await Promise.all(later)).toEqual(["r2", "r3"]);
  });

  it("bounds the batch size, and a full batch starts without waiting for the delay", async () => {
    const w = manualWrite();
    const commit = new GroupCommit({ write: w.write, maxBatch: 2, delayMs: 60_000 });
    const all = [1, 2, 3, 4, 5].map((n) => commit.add(n));
    expect(w.batches).toEqual([[1, 2]]); // started at once: the batch was full
    w.finish();
    await turn();
    expect(w.batches).toEqual([[1, 2], [3, 4]]);
    w.finish();
    await turn();
    expect(w.batches).toEqual([[1, 2], [3, 4], [5]]);
    w.finish();
    expect(await Promise.all(all)).toEqual(["r1", "r2", "r3", "r4", "r5"]);
  });

  it("with a delay, a lone item waits for company that long", async () => {
    const w = manualWrite();
    const commit = new GroupCommit({ write: w.write, maxBatch: 10, delayMs: 30 });
    const a = commit.add(1);
    await turn();
    expect(w.batches).toEqual([]);
    const b = commit.add(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(w.batches).toEqual([[1, 2]]);
    w.finish();
    expect([await a, await b]).toEqual(["r1", "r2"]);
  });

  it("a failed write rejects every item of its batch and not the next batch", async () => {
    const w = manualWrite();
    const commit = new GroupCommit({ write: w.write, maxBatch: 10 });
    const failing = [commit.add(1), commit.add(2)];
    await turn();
    const next = commit.add(3);
    w.finish(new Error("database away"));
    for (const p of failing) await expect(p).rejects.toThrow("database away");
    await turn();
    w.finish();
    expect(await next).toBe("r3");
  });

  it("drain writes what waits at once and resolves when nothing is left", async () => {
    const written: number[] = [];
    const commit = new GroupCommit({ write: async (items: number[]) => (written.push(...items), items), maxBatch: 10, delayMs: 60_000 });
    void commit.add(1);
    void commit.add(2);
    expect(commit.pending).toBe(2);
    await commit.drain();
    expect(written).toEqual([1, 2]);
    expect(commit.pending).toBe(0);
  });

  it("an item added as a write's results are handed out is not left behind", async () => {
    const commit = new GroupCommit({ write: async (items: number[]) => items, maxBatch: 10 });
    const second = commit.add(1).then(() => commit.add(2));
    expect(await second).toBe(2);
  });

  describe("with deadlines (injected clock)", () => {
    class Expired extends Error {
      constructor(readonly waitedMs: number) {
        super(`waited ${waitedMs} ms`);
      }
    }
    const setup = () => {
      let clock = 1_000;
      const w = manualWrite();
      const commit = new GroupCommit({
        write: w.write,
        maxBatch: 10,
        deadline: { maxQueueMs: 2_000, budgetMs: 4_000, expired: (waitedMs) => new Expired(waitedMs) },
        now: () => clock,
      });
      return { w, commit, advance: (ms: number) => (clock += ms) };
    };

    it("a write is told its deadline: its earliest item's arrival plus the budget", async () => {
      const { w, commit, advance } = setup();
      const first = commit.add(1);
      advance(10);
      const second = commit.add(2);
      await turn();
      expect(w.batches).toEqual([[1, 2]]);
      expect(w.deadlines).toEqual([1_000 + 4_000]);
      w.finish();
      expect(await Promise.all([first, second])).toEqual(["r1", "r2"]);
    });

    it("items that waited past maxQueueMs for a slow write are rejected unwritten; the others are written", async () => {
      const { w, commit, advance } = setup();
      const first = commit.add(1);
      await turn();
      const late = commit.add(2); // arrives at 1 000, queued behind the running write
      advance(1_500);
      const recent = commit.add(3); // arrives at 2 500
      advance(501); // the first write took 2 001 ms: item 2 waited 2 001 ms, item 3 501 ms
      w.finish();
      expect(await first).toBe("r1");
      await expect(late).rejects.toBeInstanceOf(Expired);
      await expect(late).rejects.toMatchObject({ waitedMs: 2_001 });
      await turn();
      expect(w.batches).toEqual([[1], [3]]); // 2 never reached a write
      expect(w.deadlines[1]).toBe(2_500 + 4_000);
      w.finish();
      expect(await recent).toBe("r3");
    });

    it("a slow but healthy write under maxQueueMs sheds nothing", async () => {
      const { w, commit, advance } = setup();
      const first = commit.add(1);
      await turn();
      const queued = [commit.add(2), commit.add(3)];
      advance(2_000); // exactly the limit: still written
      w.finish();
      await turn();
      expect(w.batches).toEqual([[1], [2, 3]]);
      w.finish();
      expect(await Promise.all([first, ...queued])).toEqual(["r1", "r2", "r3"]);
    });

    it("when every waiting item has expired no write starts, and the next item is written as usual", async () => {
      const { w, commit, advance } = setup();
      const first = commit.add(1);
      await turn();
      const late = [commit.add(2), commit.add(3)];
      advance(3_000);
      w.finish(new Error("database down"));
      await expect(first).rejects.toThrow("database down");
      for (const item of late) await expect(item).rejects.toBeInstanceOf(Expired);
      await turn();
      expect(w.batches).toEqual([[1]]);
      const next = commit.add(4);
      await turn();
      expect(w.batches).toEqual([[1], [4]]);
      expect(w.deadlines[1]).toBe(4_000 + 4_000);
      w.finish();
      expect(await next).toBe("r4");
    });

    it("an item's wait counts from the earlier time given to add() (its request's arrival)", async () => {
      const { w, commit, advance } = setup();
      const first = commit.add(1);
      await turn();
      const early = commit.add(2, 1_000 - 1_900); // its request arrived 1 900 ms before the add
      const fresh = commit.add(3);
      advance(200);
      w.finish();
      expect(await first).toBe("r1");
      await expect(early).rejects.toMatchObject({ waitedMs: 2_100 });
      await turn();
      expect(w.batches).toEqual([[1], [3]]);
      w.finish();
      expect(await fresh).toBe("r3");
      // The batch's deadline is its earliest item's, wherever that item stands in the queue.
      const late = commit.add(4);
      const earlier = commit.add(5, 1_200 - 500);
      await turn();
      expect(w.deadlines[2]).toBe(1_200 - 500 + 4_000);
      w.finish();
      expect(await Promise.all([late, earlier])).toEqual(["r4", "r5"]);
    });

    it("without the option nothing is shed and no deadline is given", async () => {
      let clock = 0;
      const w = manualWrite();
      const commit = new GroupCommit({ write: w.write, maxBatch: 10, now: () => clock });
      const first = commit.add(1);
      await turn();
      const queued = commit.add(2);
      clock += 60_000;
      w.finish();
      await turn();
      w.finish();
      expect(await Promise.all([first, queued])).toEqual(["r1", "r2"]);
      expect(w.deadlines).toEqual([undefined, undefined]);
    });
  });
});
