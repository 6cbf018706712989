// The worker's wake-up: a sleep that can be cut short. Two kinds of news cut it short:
// - signal(): something became due (an event, a manual retry, stop()). A signal that comes while nobody
//   sleeps is kept for the next sleep, which then returns at once: an event accepted during a claim must
//   not wait a whole poll interval.
// - nudge(): a slot freed up (a send finished). Only a sleeper hears it; it is not kept, since the loop
//   counts free slots itself before it sleeps.

export class Wakeup {
  private kept = false;
  private wake: (() => void) | undefined;

  signal(): void {
    this.kept = true;
    this.wake?.();
  }

  nudge(): void {
    this.wake?.();
  }

  /** True when a signal came since the last sleep or take(). */
  get signalled(): boolean {
    return this.kept;
  }

  /** Forgets a kept signal: the caller is about to look anyway (e.g. it starts a claim). */
  take(): void {
    this.kept = false;
  }

  /** Waits `ms`, or until a signal or nudge; returns at once if a signal was kept. */
  sleep(ms: number): Promise<void> {
    if (this.kept) {
      this.kept = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.kept = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** A plain wait that no news cuts short. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
