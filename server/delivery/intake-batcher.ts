// Group commit for the intake: events that arrive while a transaction is being written wait for the next
// one, and go in together. Alone, an event is written at once (the next turn of the event loop); under
// load, one transaction carries many, so the intake keeps up without a transaction per event. A failed
// write is every caller's error (nothing of the batch was written); each may retry.
import type { Database } from "../storage/db.js";
import { recordEvents, type RecordEventInput, type RecordedEvent } from "../storage/queue/record-events.js";
import { GroupCommit } from "./group-commit.js";

/** Events per transaction at most: bounds a transaction's length and the wait of the first event in it. */
const MAX_BATCH = 200;

export class IntakeBatcher {
  private readonly commit: GroupCommit<RecordEventInput, RecordedEvent>;

  constructor(database: Database) {
    this.commit = new GroupCommit({ write: (inputs) => recordEvents(database, inputs), maxBatch: MAX_BATCH });
  }

  record(input: RecordEventInput): Promise<RecordedEvent> {
    return this.commit.add(input);
  }
}
