// Group commit: callers add items one at a time; one write takes many. Items that arrive while a write is
// under way wait and go together in the next one, so under load each transaction carries many items and
// the database keeps up without a transaction per item. Used by the intake (events) and by the worker
// (attempt outcomes).

export interface GroupCommitOptions<T, R> {
  /**
   * Writes one batch, resolving with one result per item, in order. With `deadline`, `writeDeadline` is
   * when the batch's earliest item runs out of time (this clock's time): the write should stop by then.
   */
  write(items: T[], writeDeadline?: number): Promise<R[]>;
  /** Items per write at most: bounds a transaction's length and the wait of the first item in it. */
  maxBatch: number;
  /**
   * How long a first item waits for company before the write starts. 0 (the default): the next turn of
   * the event loop, so that the items added in this turn go together. A full batch never waits.
   */
  delayMs?: number;
  /**
   * Per-item deadlines (the intake's; see server/storage/deadline.ts). Each item's wait counts from its
   * add(), or from the earlier time given to add(). When a batch is about to start, items that have already waited longer than maxQueueMs are
   * rejected with expired(waitedMs) without being written; the write is told its deadline, the earliest
   * remaining item's `since` (its add(), or the earlier time given to add()) plus budgetMs. Without this option items wait as long as it takes.
   */
  deadline?: { maxQueueMs: number; budgetMs: number; expired(waitedMs: number): Error };
  /** The clock of the deadlines, in milliseconds (default performance.now). */
  now?: () => number;
}

interface Waiting<T, R> {
  item: T;
  /** When add() was called (options.now). */
  since: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<T, R = void> {
  private queue: Array<Waiting<T, R>> = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** True from the start of a write until the queue is empty: set and cleared synchronously, so no add() is missed. */
  private writing = false;
  private written: Promise<void> = Promise.resolve();

  private readonly now: () => number;

  constructor(private readonly options: GroupCommitOptions<T, R>) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Resolves with the item's result once its batch is written; rejects (with all its batch) if that write
   * fails. `since`: when the item's wait began (this clock's time), if before now: a request's arrival.
   */
  add(item: T, since?: number): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, since: Math.min(since ?? Infinity, this.now()), resolve, reject });
      if (this.writing) return; // the write under way takes it next
      if (this.queue.length >= this.options.maxBatch) this.startNow();
      else this.timer ??= this.options.delayMs ? setTimeout(() => this.startNow(), this.options.delayMs) : setImmediate(() => this.startNow());
    });
  }

  /** Items added and not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes what is waiting now, without the delay; resolves when nothing is left to write. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.writing) {
      this.startNow();
      await this.written;
    }
  }

  private startNow(): void {
    this.clearTimer();
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    this.written = this.writeAll();
  }

  private async writeAll(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const writeDeadline = this.shedExpired();
        if (this.queue.length === 0) break;
        const batch = this.queue.splice(0, this.options.maxBatch);
        try {
          const results = await this.options.write(
            batch.map((w) => w.item),
            writeDeadline,
          );
          batch.forEach((waiting, i) => waiting.resolve(results[i]!));
        } catch (error) {
          // One write, one outcome: every caller of the batch hears of it.
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * With deadlines: rejects the items that have waited too long (never written: they are not handed to
   * write) and returns the deadline of the next batch: its earliest item's `since` plus the budget.
   */
  private shedExpired(): number | undefined {
    const deadline = this.options.deadline;
    if (deadline === undefined) return undefined;
    const now = this.now();
    // Items given an earlier `since` may stand behind later ones: every item is looked at.
    const kept = this.queue.filter((waiting) => {
      if (now - waiting.since <= deadline.maxQueueMs) return true;
      waiting.reject(deadline.expired(now - waiting.since));
      return false;
    });
    this.queue = kept;
    if (kept.length === 0) return undefined;
    let earliest = Infinity;
    for (const waiting of kept.slice(0, this.options.maxBatch)) earliest = Math.min(earliest, waiting.since);
    return earliest + deadline.budgetMs;
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }
}
