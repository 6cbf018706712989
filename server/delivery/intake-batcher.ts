// Group commit for the intake: events that arrive while a transaction is being written wait for the next
// one, and go in together. Alone, an event is written at once (the next turn of the event loop); under
// load, one transaction carries many, so the intake keeps up without a transaction per event.
import type { Database } from "../storage/db.js";
import { recordEvents, type RecordEventInput, type RecordedEvent } from "../storage/queue/record-events.js";

/** Events per transaction at most: bounds a transaction's length and the wait of the first event in it. */
const MAX_BATCH = 200;

interface Waiting {
  input: RecordEventInput;
  resolve(result: RecordedEvent): void;
  reject(error: unknown): void;
}

export class IntakeBatcher {
  private queue: Waiting[] = [];
  private writing = false;

  constructor(private readonly database: Database) {}

  record(input: RecordEventInput): Promise<RecordedEvent> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        setImmediate(() => void this.write());
      }
    });
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const results = await recordEvents(this.database, batch.map((w) => w.input));
        batch.forEach((waiting, i) => waiting.resolve(results[i]!));
      } catch (error) {
        // Nothing of the batch was written (one transaction): every caller hears of it and may retry.
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.writing = false;
  }
}
