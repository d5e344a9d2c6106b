/** How entries are kept until they are mailed. */
export interface BufferPolicy<T> {
  /** Entries per mail in `'batch'` mode; size of the ring in `'context'` mode. */
  capacity: number;
  /**
   * `'batch'`: entries wait until `capacity` of them, a trigger entry, or the interval make a mail.
   * `'context'`: only the last `capacity` entries are kept, and mailed when a trigger entry arrives.
   */
  mode: 'batch' | 'context';
  /** In `'batch'` mode, the longest an entry waits, in milliseconds, counted from the oldest one. */
  flushIntervalMs?: number | undefined;
  /** Whether an entry makes what is buffered go out at once, itself included. */
  isTrigger: (entry: T) => boolean;
  /** Told of each entry that left the `'context'` ring unmailed, as that mode intends. */
  onDiscard: (entry: T) => void;
}

/** The last `capacity` items, oldest first; adding to a full ring forgets the oldest. */
class Ring<T> {
  private readonly items: Array<T | undefined>;
  private start = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns the oldest one when it was forgotten to make room. */
  push(item: T): T | undefined {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
      return undefined;
    }
    const forgotten = this.items[this.start];
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    return forgotten;
  }

  drain(): T[] {
    const ordered: T[] = [];
    for (let index = 0; index < this.count; index++) {
      ordered.push(this.items[(this.start + index) % this.capacity] as T);
      this.items[(this.start + index) % this.capacity] = undefined;
    }
    this.start = 0;
    this.count = 0;
    return ordered;
  }
}

/**
 * The buffering policy: what is kept, and when it is due as one batch. No I/O and no timers
 * happen here; the caller passes the time and schedules a call to `takeDue` at `dueAt`.
 */
export class BatchBuffer<T> {
  private entries: T[] = [];
  private readonly ring: Ring<T> | undefined;
  private oldestAt: number | undefined;
  /** Repeats held back for re-notification: they do not count towards `capacity`. */
  private repeats = 0;
  /**
   * For each waiting entry in `'batch'` mode, whether it is such a repeat; undefined until one
   * arrives, so that the usual entry costs no second array.
   */
  private repeatFlags: boolean[] | undefined;
  private repeatsDueAt: number | undefined;

  constructor(private readonly policy: BufferPolicy<T>) {
    if (policy.mode === 'context') this.ring = new Ring(policy.capacity);
  }

  get size(): number {
    return this.ring ? this.ring.size : this.entries.length;
  }

  /**
   * When the waiting entries are due because of the interval, or undefined when nothing waits or
   * no interval applies.
   */
  get dueAt(): number | undefined {
    const { flushIntervalMs } = this.policy;
    const intervalDueAt =
      this.oldestAt === undefined || flushIntervalMs === undefined ? undefined : this.oldestAt + flushIntervalMs;
    if (this.repeatsDueAt === undefined) return intervalDueAt;
    return intervalDueAt === undefined ? this.repeatsDueAt : Math.min(intervalDueAt, this.repeatsDueAt);
  }

  /**
   * Adds an entry that arrived at `now`; returns the batch when this entry made one due. A repeat
   * held back for re-notification (`repeatDueAt` given) triggers nothing and does not count towards
   * `capacity`: it makes the batch due at `repeatDueAt` at the latest. `trigger`: the policy's
   * `isTrigger`, when the caller has already asked it.
   */
  push(entry: T, now: number, repeatDueAt?: number, trigger = this.policy.isTrigger(entry)): T[] | undefined {
    if (this.ring) {
      const forgotten = this.ring.push(entry);
      if (forgotten !== undefined) this.policy.onDiscard(forgotten);
      return trigger ? this.ring.drain() : undefined;
    }
    if (this.entries.length === 0) this.oldestAt = now;
    this.entries.push(entry);
    if (repeatDueAt !== undefined) {
      if (this.repeatFlags === undefined) {
        this.repeatFlags = new Array<boolean>(this.entries.length - 1).fill(false);
      }
      this.repeatFlags.push(true);
      this.repeats++;
      if (this.repeatsDueAt === undefined || repeatDueAt < this.repeatsDueAt) this.repeatsDueAt = repeatDueAt;
      return undefined;
    }
    this.repeatFlags?.push(false);
    return this.entries.length - this.repeats >= this.policy.capacity || trigger ? this.drain() : undefined;
  }

  /** The waiting entries when the interval has run out at `now`. */
  takeDue(now: number): T[] | undefined {
    const dueAt = this.dueAt;
    return dueAt !== undefined && now >= dueAt ? this.drain() : undefined;
  }

  /**
   * What an explicit flush or a shutdown sends: everything waiting in `'batch'` mode; nothing in
   * `'context'` mode, where entries without a trigger are context nobody asked for.
   */
  takeForFlush(): T[] {
    return this.ring ? [] : this.drain();
  }

  /** At shutdown: the `'context'` ring is context nobody asked for; forget it, counted. */
  discardContext(): void {
    if (!this.ring) return;
    for (const entry of this.ring.drain()) this.policy.onDiscard(entry);
  }

  /** How many entries `takeForFlush` would take. */
  get flushableSize(): number {
    return this.ring ? 0 : this.entries.length;
  }

  /** Removes the oldest entry waiting in `'batch'` mode, and returns it. */
  dropOldest(): T | undefined {
    if (this.ring) return undefined;
    const dropped = this.entries.shift();
    if (this.repeatFlags?.shift() === true) this.repeats--;
    if (this.entries.length === 0) this.forgetTimes();
    return dropped;
  }

  /** How many waiting entries are repeats held back for re-notification. */
  get repeatCount(): number {
    return this.repeats;
  }

  /** Removes up to `count` of the oldest repeats held back for re-notification, in one pass, and returns them. */
  dropRepeats(count: number): T[] {
    const dropped: T[] = [];
    const flags = this.repeatFlags;
    if (this.ring || flags === undefined || this.repeats === 0 || count <= 0) return dropped;
    let kept = 0;
    for (let index = 0; index < this.entries.length; index++) {
      const entry = this.entries[index] as T;
      const repeat = flags[index] === true;
      if (repeat && dropped.length < count) {
        dropped.push(entry);
        continue;
      }
      this.entries[kept] = entry;
      flags[kept] = repeat;
      kept++;
    }
    this.entries.length = kept;
    flags.length = kept;
    this.repeats -= dropped.length;
    if (kept === 0) this.forgetTimes();
    return dropped;
  }

  /**
   * In `'batch'` mode, puts back entries that arrived before those waiting, at `now`: those that
   * `repeats` flags are held back for re-notification until `repeatsDueAt` at the latest, as
   * `push` holds a repeat. Returns the batch when the others fill `capacity` with those waiting.
   */
  restore(entries: readonly T[], repeats: readonly boolean[], repeatsDueAt: number, now: number): T[] | undefined {
    if (this.ring || entries.length === 0) return undefined;
    const restoredRepeats = repeats.reduce((count, repeat) => count + (repeat ? 1 : 0), 0);
    if (restoredRepeats > 0 || this.repeatFlags !== undefined) {
      const waiting = this.repeatFlags ?? new Array<boolean>(this.entries.length).fill(false);
      this.repeatFlags = [...entries.map((_, index) => repeats[index] === true), ...waiting];
    }
    this.entries = [...entries, ...this.entries];
    this.oldestAt = Math.min(this.oldestAt ?? now, now);
    if (restoredRepeats > 0) {
      this.repeats += restoredRepeats;
      if (this.repeatsDueAt === undefined || repeatsDueAt < this.repeatsDueAt) this.repeatsDueAt = repeatsDueAt;
    }
    return this.entries.length - this.repeats >= this.policy.capacity ? this.drain() : undefined;
  }

  /** Takes every waiting entry out of the buffer, in arrival order. */
  drain(): T[] {
    if (this.ring) return this.ring.drain();
    const batch = this.entries;
    this.entries = [];
    this.forgetTimes();
    return batch;
  }

  private forgetTimes(): void {
    this.repeatFlags = undefined;
    this.oldestAt = undefined;
    this.repeats = 0;
    this.repeatsDueAt = undefined;
  }
}
