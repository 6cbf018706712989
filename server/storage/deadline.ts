// The time budget of one request, and where each second of it goes.
//
// Every operation answers within 5 s (a 2xx, or a 503 with Retry-After: "When the database goes away" in
// the README), by design rather than by luck, on a loaded machine too:
//
// | from arrival | what                                                                                  |
// |--------------|---------------------------------------------------------------------------------------|
// | 0 – 3.5 s    | the request's database work: authentication, the agent's webhooks, the operation      |
// |              | itself; waiting for a connection, connecting, the statements. All of it stops at the   |
// |              | request's deadline, 3.5 s after arrival: pool.connect() is raced with it (a late       |
// |              | connection goes back to the pool), a statement is not sent past it and one without an |
// |              | answer by then is given up on (its connection closed); SQLite's lock retries stop at  |
// |              | it too.                                                                               |
// | 0 – 2 s      | intake, within the above: waiting in the group commit's queue for the write under way |
// |              | (itself bound by its own earliest event's deadline). An event whose request arrived   |
// |              | more than 2 s before its batch starts is answered 503 without being written           |
// |              | (GroupCommit's maxQueueMs), so a batch always has 1.5 s or more for its write; the     |
// |              | batch's deadline is its earliest event's request arrival + 3.5 s.                      |
// | 3.5 – 5 s    | margin: event-loop lag and late timers on a loaded machine (/healthz has been seen to  |
// |              | take 1 s on a 2-core machine at load 12), the response itself.                         |
//
// The one operation outside the bound, the test call (POST …/test), waits for the receiver up to the
// webhook's timeout; the database work after the send gets a budget of its own (engine.ts sendTest).
//
// The fixed limits in db.ts (connect 2 s, statement_timeout 3 s, 4 s query backstop, SQLite lock wait
// 2.5 s) still bound work that has no request behind it (the worker, retention); for a request the
// deadline is the tighter of the two. In normal operation none of this sheds anything, on a busy machine
// either: an event still waiting for its batch 2 s after its request arrived, or database work still
// running 3.5 s after, means the database is failing (or the machine far past busy).
//
// What a 503 means for the data: an event shed from the queue was never written. One whose write was cut
// off by the deadline was not written either, unless the cut came during COMMIT itself (the answer was
// lost, the commit may have happened): then a retry with the same idempotency key is a replay, and one
// without a key may record the event twice, as after any lost answer.
//
// The deadline travels with the work in an AsyncLocalStorage, so the storage code needs no parameter for
// it. It is closed when the response is sent or the batch written: work started on behalf of a request
// that outlives it (a worker woken by it) is not bound by it.
import { AsyncLocalStorage } from "node:async_hooks";

/** The 5 s bound less the margin: database work for a request stops this long after it arrived. */
export const REQUEST_BUDGET_MS = 3_500;
/** Intake: an event whose request arrived longer ago than this when its batch starts is shed (503, not written). */
export const INTAKE_MAX_QUEUE_MS = 2_000;

export interface Deadline {
  /** performance.now() time by which the work must be over. */
  readonly at: number;
  /** False once the request is answered: the deadline no longer binds what its work set going. */
  open: boolean;
}

const current = new AsyncLocalStorage<Deadline>();

/** A deadline `at` (a performance.now() time), open until close(). */
export function deadlineAt(at: number): Deadline {
  return { at, open: true };
}

/** Runs `work` bound by `deadline`. */
export function withDeadline<T>(deadline: Deadline, work: () => T): T {
  return current.run(deadline, work);
}

/** Runs `work` bound by a deadline `at`, closed when it settles. */
export async function runBefore<T>(at: number, work: () => Promise<T>): Promise<T> {
  const deadline = deadlineAt(at);
  try {
    return await current.run(deadline, work);
  } finally {
    deadline.open = false;
  }
}

/** Milliseconds left before the current deadline; Infinity when there is none (or it is closed). */
export function remainingMs(now = performance.now()): number {
  const deadline = current.getStore();
  return deadline === undefined || !deadline.open ? Infinity : deadline.at - now;
}

/** The current deadline's time, or undefined. */
export function currentDeadline(): number | undefined {
  const deadline = current.getStore();
  return deadline === undefined || !deadline.open ? undefined : deadline.at;
}
