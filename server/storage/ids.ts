// UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, then randomness. Ids sort by creation time, so a
// B-tree insert lands at the right edge of the index and `ORDER BY id` breaks created_at ties in order.
import { randomFillSync } from "node:crypto";

// 2 bytes seed the counter, 8 fill rand_b. Random bytes come from a pool refilled in bulk: one
// syscall per 256 ids instead of one per id.
const RANDOM_PER_ID = 10;
const POOL_SIZE = 256 * RANDOM_PER_ID;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

// Monotonicity within one process (RFC 9562 §6.2, method 1): rand_a is a 12-bit counter, seeded at a
// random value below 2048 in each new millisecond and incremented for each further id in it. An earlier
// time than the last one (a clock step back, or a caller passing a past `now`) starts a new sequence at
// that time: the timestamp in an id stays the time it was made at, which retention relies on.
let lastNow = -1; // the latest `now` given
let idMs = -1; // the millisecond stamped into the latest id (ahead of lastNow after a borrow)
let counter = 0;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function newId(now: number = Date.now()): string {
  const nowMs = Math.floor(now);
  if (poolOffset + RANDOM_PER_ID > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += RANDOM_PER_ID;

  if (nowMs >= lastNow && nowMs <= idMs) {
    // The same millisecond, or one already borrowed into: count on.
    lastNow = nowMs;
    if (++counter > 0xfff) {
      // More than ~2,000 ids in one millisecond: borrow the next one.
      idMs += 1;
      counter = 0;
    }
  } else {
    lastNow = nowMs;
    idMs = nowMs;
    counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff;
  }

  const bytes = new Uint8Array(16);
  // 48-bit big-endian timestamp, split because JS bit operators work on 32 bits.
  const high = Math.floor(idMs / 0x1_0000_0000);
  const low = idMs >>> 0;
  bytes[0] = (high >>> 8) & 0xff;
  bytes[1] = high & 0xff;
  bytes[2] = low >>> 24;
  bytes[3] = (low >>> 16) & 0xff;
  bytes[4] = (low >>> 8) & 0xff;
  bytes[5] = low & 0xff;
  bytes[6] = 0x70 | (counter >>> 8); // version 7, then the counter's top 4 bits
  bytes[7] = counter & 0xff;
  for (let i = 8; i < 16; i++) bytes[i] = pool[r + 2 + i - 8]!;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // variant 0b10

  let hex = "";
  for (let i = 0; i < 16; i++) {
    hex += HEX[bytes[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += "-";
  }
  return hex;
}

/** The creation time encoded in a UUIDv7, in epoch milliseconds. */
export function idTimestamp(id: string): number {
  return parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

/**
 * The smallest UUIDv7 of millisecond `ms`: every id made before `ms` sorts below it. Lets retention walk
 * a primary key as a time index (`id < firstIdAt(cutoff)`).
 */
export function firstIdAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
