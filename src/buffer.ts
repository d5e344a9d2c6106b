/**
 * The buffering policy: entries are kept in arrival order until `capacity` of them are waiting,
 * then handed out together as one batch. No I/O happens here.
 */
export class BatchBuffer<T> {
  private entries: T[] = [];

  constructor(readonly capacity: number) {}

  /** The number of entries waiting. */
  get size(): number {
    return this.entries.length;
  }

  /** Adds an entry; returns the full batch when this entry completed one. */
  push(entry: T): T[] | undefined {
    this.entries.push(entry);
    return this.entries.length >= this.capacity ? this.drain() : undefined;
  }

  /** Takes every waiting entry out of the buffer, in arrival order. */
  drain(): T[] {
    const batch = this.entries;
    this.entries = [];
    return batch;
  }
}
