// WAL checkpoints on a thread of their own (server/storage/sqlite-checkpointer.ts): the committed pages reach
// the database file without the process's connection checkpointing, the WAL is started over under steady
// writes (it would otherwise grow as long as they go on), and closing the database stops the thread.
// Real files, real threads.
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../server/storage/db.js";
import { startCheckpointer, type Checkpointer } from "../../server/storage/sqlite-checkpointer.js";
import { waitFor } from "../engine/harness.js";
import { seedWebhook } from "./fixtures.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "talkover-checkpointer-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The rows of `table` in the database FILE alone, as a copy without its -wal would show them (0: no table yet). */
function rowsInMainFile(file: string, table: string): number {
  const copy = join(dir, "copy.db");
  copyFileSync(file, copy);
  const db = new BetterSqlite3(copy, { readonly: true });
  try {
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(table) === undefined) return 0;
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
    rmSync(copy, { force: true });
  }
}

describe("the SQLite checkpointer thread", () => {
  it("copies committed pages into the database file while the server's connection writes (a few pages: SQLite alone would wait for 1,000)", async () => {
    const file = join(dir, "talkover.db");
    const database = await openDatabase(`sqlite:${file}`);
    try {
      const { webhook } = await seedWebhook(database);
      await waitFor(() => rowsInMainFile(file, "webhooks") === 1, 10_000, "the webhook in the database file");
      expect(webhook.id).toBeTruthy();
    } finally {
      await database.close();
    }
    // The last connection to close removed the WAL: the thread's connection was closed first.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it("without the thread (the bench's comparison), the same write stays in the WAL", async () => {
    const file = join(dir, "talkover.db");
    const database = await openDatabase(`sqlite:${file}`, { checkpointThread: false });
    try {
      await seedWebhook(database);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(rowsInMainFile(file, "webhooks")).toBe(0);
    } finally {
      await database.close();
    }
  });

  it("starts the WAL over under steady writes, which PASSIVE checkpoints alone never let happen", async () => {
    const file = join(dir, "steady.db");
    const writer = new BetterSqlite3(file);
    writer.pragma("journal_mode = WAL");
    writer.pragma("synchronous = NORMAL");
    writer.pragma("wal_autocheckpoint = 0"); // only the thread checkpoints
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)");
    const insert = writer.prepare("INSERT INTO t (blob) VALUES (?)");
    const page = Buffer.alloc(3_000, 7);
    let checkpointer: Checkpointer | undefined;
    const errors: string[] = [];
    try {
      checkpointer = startCheckpointer(file, { onError: (m) => errors.push(m), intervalMs: 20, restartFrames: 300 });
      // 6,000 inserts (each ≈ 3 WAL frames: ≈ 70 MB of WAL if it were never started over) in bursts of 20,
      // 1 ms apart: a PASSIVE checkpoint always overlaps a burst, so it never catches up with the last
      // commit, and SQLite starts the WAL over only after one has.
      let maxWalBytes = 0;
      for (let burst = 0; burst < 300; burst++) {
        for (let i = 0; i < 20; i++) insert.run(page);
        maxWalBytes = Math.max(maxWalBytes, statSync(`${file}-wal`).size);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const framesWritten = (writer.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n * 3;
      expect(maxWalBytes).toBeLessThan((framesWritten * 4096) / 3);
      expect(errors).toEqual([]);
    } finally {
      await checkpointer?.stop();
      writer.close();
    }
  });
});
