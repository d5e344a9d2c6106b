import { nextTurn, type Clock, type TimerHandle } from '../clock';
import type { CapturedEntry } from '../entry';
import type { MailMessage, RateLimitOptions, RetryOptions } from '../options';
import { retryDelayMs } from './backoff';
import { BatchBuffer } from './buffer';
import type { Fleet } from './fleet';
import type { Renotify } from './renotify';
import type { OutboxJournal } from './ports';
import { emptyDropSummary, type DropSummary, type Ledger } from './ledger';
import { dropNotice, entryCount, mergeNotice, notDelivered } from './notices';
import type {
  FailureKind,
  Problem,
  OutboxMailer,
  OutboxReporter,
  OutboxSpool,
  RenderedPart,
  RenderMails,
  RenderMailsNow,
  SpooledPart,
} from './ports';
import { RateLimiter } from './rate-limit';

/** Beyond this many mails waiting for the rate limit, new batches join the last one. */
const COALESCE_AFTER_JOBS = 32;

/** Node's timers overflow above this many milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

// An entry is kept as a small object of strings: the object and the string headers cost about this.
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * Estimated memory an entry holds, in bytes, in O(1): its strings at two bytes a character (the
 * most V8 uses), and the object that holds them.
 */
export function estimateEntryBytes(entry: CapturedEntry): number {
  return ENTRY_OVERHEAD_BYTES + 2 * entryTextLength(entry);
}

/** The characters of an entry's text, its line included when a custom format made one. */
export function entryTextLength(entry: CapturedEntry): number {
  return (
    (entry.timestamp?.length ?? 0) +
    entry.message.length +
    (entry.metaJson?.length ?? 0) +
    (entry.stack?.length ?? 0) +
    (entry.line?.length ?? 0)
  );
}

export interface OutboxOptions {
  clock: Clock;
  mailer: OutboxMailer;
  spool: OutboxSpool | undefined;
  reporter: OutboxReporter;
  ledger: Ledger;
  render: RenderMails;
  renderNow: RenderMailsNow;
  toMessage: (part: RenderedPart) => MailMessage;
  classify: (error: unknown) => FailureKind;
  capacity: number;
  mode: 'batch' | 'context';
  flushIntervalMs: number | undefined;
  /** Whether an entry sends what is buffered at once. */
  isTrigger: (entry: CapturedEntry) => boolean;
  /**
   * Holds back the repeats of a trigger entry's problem, which `fingerprint` names; undefined:
   * every trigger entry mails at once.
   */
  renotify?: { policy: Renotify; fingerprint: (entry: CapturedEntry) => string } | undefined;
  /** Where accepted entries are written before they can be lost, and retired once they have an outcome. */
  journal?: OutboxJournal | undefined;
  /**
   * The rate window and the problems shared with the other transports of a group; undefined:
   * this process keeps its own.
   */
  fleet?: Fleet | undefined;
  retry: Readonly<Required<RetryOptions>>;
  rateLimit: Readonly<RateLimitOptions> | undefined;
  maxBufferedBytes: number;
  maxBufferedEntries: number | undefined;
  maxMailBytes: number;
  /** A quick estimate of the bytes an entry adds to a mail, for merging; rendering enforces the cap. */
  estimateMailBytes: (entry: CapturedEntry) => number;
}

/** One mail to send: a batch, batches merged together, or a mail of an earlier run. */
interface Job {
  /** Order of arrival: `flush()` waits for every job up to a number. */
  readonly seq: number;
  /** Entries not yet dropped start at `start`; dropped ones are cleared. */
  entries: Array<CapturedEntry | undefined>;
  start: number;
  /** Entries still held (no outcome yet), and the memory they are estimated to hold. */
  held: number;
  bytes: number;
  /** The estimated size of the live entries in a mail, for merging. */
  mailBytes: number;
  urgent: boolean;
  batches: number;
  /** Failed tries of the part being sent. */
  failures: number;
  /** No try before this time (backoff). */
  notBefore: number;
  /** The entries as they were rendered, and the mails they became: rendered once, kept across retries. */
  rendered: { entries: CapturedEntry[]; parts: RenderedPart[]; notices: readonly string[] } | undefined;
  partsSent: number;
  /** Drops this mail announces; announced again by a later mail if this one is not delivered. */
  drops: DropSummary | undefined;
  /** Set for a mail of an earlier run, read back from the spool. */
  spooled: SpooledPart | undefined;
  /** What the mail says first about where its entries come from, besides drops and merges. */
  origins: string[];
  /** Being rendered or sent: nothing may be dropped from it or merged into it. */
  busy: boolean;
  /**
   * The problem this mail goes at once for, which this process saw first: when another transport
   * of the group already mailed it, the mail waits as its repeats.
   */
  firstHere: string | undefined;
  /** Whether the group was asked about `firstHere`. */
  firstAsked: boolean;
  /** Rendered ahead while the mail before it is on the wire; settles once it is rendered. */
  rendering: Promise<void> | undefined;
  /** Rendered, or being rendered, ahead of its turn. */
  renderedAhead: boolean;
}

function liveEntries(job: Job): CapturedEntry[] {
  const live: CapturedEntry[] = [];
  for (let index = job.start; index < job.entries.length; index++) {
    const entry = job.entries[index];
    if (entry !== undefined) live.push(entry);
  }
  return live;
}

function remainingParts(job: Job): RenderedPart[] {
  return job.rendered ? job.rendered.parts.slice(job.partsSent) : [];
}

/**
 * Owns every accepted entry until its outcome: the buffer and its triggers, the queue of mails,
 * scheduling under the rate limit and backoff, merging, the hand-off to the spool, and shutdown.
 * Outcomes are recorded in the ledger and told to the reporter; nothing calls back into the
 * transport. Time comes from the injected clock.
 */
export class Outbox {
  private readonly buffer: BatchBuffer<CapturedEntry>;
  private readonly limiter: RateLimiter | undefined;
  private readonly ledger: Ledger;
  private jobs: Job[] = [];
  private nextSeq = 1;
  private bufferBytes = 0;
  private queuedBytes = 0;
  private queuedEntries = 0;
  private intervalTimer: TimerHandle | undefined;
  private pumping = false;
  /** Bumped when everything is abandoned: a conversation of an older generation reports nothing. */
  private generation = 0;
  /** Closes in progress: while any runs, nothing waits for the rate limit. */
  private closes = 0;
  private wakeUp: (() => void) | undefined;
  private refusedUntil = 0;
  /** When the last conversation failed: drops during an outage say so. */
  private lastFailureAt: number | undefined;
  /** Why it failed: a close that times out during an outage says so. */
  private lastFailure: unknown;
  /** When a crash mail last went without waiting; the next one waits `retry.minDelayMs` after it. */
  private lastCrashAt: number | undefined;
  /** Mails of earlier runs may still be waiting in the spool. */
  private spoolWaiting: boolean;
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly mergedByRateLimit = new WeakSet<Job>();
  /** The bound that made entries drop last: the notice and the warning name it. */
  private dropLimit = 'maxBufferedBytes';
  /** The job whose mail the pump is sending: a render ahead of it leaves it marked busy. */
  private sending: Job | undefined;

  constructor(private readonly options: OutboxOptions) {
    this.ledger = options.ledger;
    this.limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
    this.spoolWaiting = options.spool !== undefined;
    this.buffer = new BatchBuffer<CapturedEntry>({
      capacity: options.capacity,
      mode: options.mode,
      flushIntervalMs: options.flushIntervalMs,
      isTrigger: options.isTrigger,
      onDiscard: (entry) => {
        this.ledger.entriesContextDiscarded++;
        this.bufferBytes -= estimateEntryBytes(entry);
        this.options.journal?.retire(entry);
      },
    });
    // Mails kept by an earlier run go first; read once the owner had a chance to attach listeners.
    if (this.spoolWaiting) void nextTurn().then(() => this.pump());
  }

  // The estimate assumes the costliest encoding, about twice a typical line: merging up to twice
  // `maxMailBytes` by it fills a mail; rendering then cuts exactly at `maxMailBytes`.
  private get mergeBudget(): number {
    return 2 * this.options.maxMailBytes;
  }

  private get closing(): boolean {
    return this.closes > 0;
  }

  /** Entries held now, in the buffer and in mails not yet delivered. */
  get pendingEntries(): number {
    return this.buffer.size + this.queuedEntries;
  }

  /** Estimated memory those entries hold, in bytes. */
  get pendingBytes(): number {
    return this.bufferBytes + this.queuedBytes;
  }

  /** Whether anything waits to be delivered, mails of earlier runs included. */
  get idle(): boolean {
    return this.buffer.flushableSize === 0 && this.jobs.length === 0 && !this.spoolWaiting;
  }

  /** Takes an entry. Never waits, never throws for a delivery reason. */
  accept(entry: CapturedEntry): void {
    this.ledger.entriesLogged++;
    this.options.journal?.append(entry, entry.crash);
    this.bufferBytes += estimateEntryBytes(entry);
    const timed = this.options.flushIntervalMs !== undefined;
    const wasEmpty = timed && this.buffer.size === 0;
    const trigger = this.options.isTrigger(entry);
    const offer = trigger ? this.offerToRenotify(entry) : undefined;
    const repeatDueAt = offer?.repeatDueAt;
    const dueBefore = repeatDueAt === undefined ? undefined : this.buffer.dueAt;
    // The time matters only to the interval, and only for the first entry of a batch.
    const batch = this.buffer.push(entry, wasEmpty ? this.options.clock.now() : 0, repeatDueAt, trigger);
    if (batch) {
      this.stopIntervalTimer();
      this.enqueue(batch, entry.crash, undefined, offer?.firstHere);
    } else if (wasEmpty || (repeatDueAt !== undefined && this.buffer.dueAt !== dueBefore)) {
      this.startIntervalTimer();
    }
    const { maxBufferedBytes, maxBufferedEntries } = this.options;
    if (
      this.bufferBytes + this.queuedBytes > maxBufferedBytes ||
      (maxBufferedEntries !== undefined && this.buffer.size + this.queuedEntries > maxBufferedEntries)
    ) {
      this.dropOverflow();
    }
  }

  /**
   * Takes the entries of an earlier run that ended without shutting down, recovered from its
   * journal: they go as the next mail, which starts with `notice`.
   */
  acceptRecovered(entries: CapturedEntry[], notice: string): void {
    if (entries.length === 0) return;
    this.ledger.entriesRecovered += entries.length;
    // Held like any others: beyond the bounds, the oldest drop, counted. Before they are queued,
    // since the mail they make goes at once and nothing is dropped from a mail on its way.
    const { maxBufferedBytes, maxBufferedEntries } = this.options;
    let bytes = 0;
    for (const entry of entries) bytes += estimateEntryBytes(entry);
    const roomBytes = maxBufferedBytes - this.pendingBytes;
    const roomEntries = maxBufferedEntries === undefined ? Infinity : maxBufferedEntries - this.pendingEntries;
    const dropped = emptyDropSummary();
    const overBytes = bytes > roomBytes;
    let start = 0;
    while (start < entries.length && (bytes > roomBytes || entries.length - start > roomEntries)) {
      const entry = entries[start++]!;
      bytes -= estimateEntryBytes(entry);
      dropped.count++;
      dropped.first ??= entry.timestamp;
      dropped.last = entry.timestamp ?? dropped.last;
      this.options.journal?.retire(entry);
    }
    if (dropped.count > 0) {
      this.dropLimit = overBytes ? 'maxBufferedBytes' : 'maxBufferedEntries';
      if (this.ledger.dropped(dropped)) this.reportDrops();
    }
    const kept = start === 0 ? entries : entries.slice(start);
    if (kept.length === 0) return;
    this.bufferBytes += bytes;
    this.enqueue(
      kept,
      kept.some((entry) => entry.crash),
      notice,
    );
  }

  /**
   * For `entry`, a trigger entry: when it is a repeat of a problem that mailed a moment ago, the
   * latest time its batch is due; when it mails at once and a group shares the problems, its
   * problem, which the group is asked about. Undefined for an entry that mails at once alone;
   * crash entries always do.
   */
  private offerToRenotify(entry: CapturedEntry): { repeatDueAt?: number; firstHere?: string } | undefined {
    const { renotify, fleet } = this.options;
    if (renotify === undefined || this.options.mode !== 'batch' || entry.crash) {
      return undefined;
    }
    const fingerprint = renotify.fingerprint(entry);
    const decision = renotify.policy.offer(fingerprint, this.options.clock.now());
    fleet?.count(fingerprint, decision.send);
    if (!decision.send) return { repeatDueAt: decision.dueAt };
    return fleet === undefined ? undefined : { firstHere: fingerprint };
  }

  /**
   * Hands what is buffered over and resolves once every mail handed over so far, and every mail
   * of an earlier run, is delivered, spooled or given up. In `'context'` mode the ring stays.
   */
  async flush(): Promise<void> {
    await nextTurn();
    this.handOver();
    await this.settled();
  }

  /**
   * Delivers what is waiting, without waiting for the rate limit, within `timeoutMs`; then ends
   * the conversation in progress and spools or gives up the rest. The outbox stays usable.
   */
  async close(timeoutMs: number): Promise<void> {
    await nextTurn();
    this.handOver();
    this.buffer.discardContext();
    this.closes++;
    this.wake();
    let timer: TimerHandle | undefined;
    const timedOut = await Promise.race([
      this.settled().then(() => false),
      new Promise<boolean>((resolve) => {
        // Kept alive on purpose: this wait is what lets a process deliver before it ends.
        timer = this.options.clock.setTimeout(() => resolve(true), timeoutMs, true);
      }),
    ]);
    this.options.clock.clearTimeout(timer);
    this.closes--;
    // A wait begun while closing kept the process alive; begun again, it no longer does.
    this.wake();
    if (timedOut) {
      this.abandon('ECLOSETIMEOUT', `within \`closeTimeoutMs\` (${timeoutMs} ms)`, this.lastFailure);
    }
    this.stopIntervalTimer();
    this.options.mailer.release();
  }

  /** The process is exiting: only synchronous work is possible. Spool or count what is left. */
  exit(): void {
    this.handOver();
    this.buffer.discardContext();
    this.stopIntervalTimer();
    this.abandon('EEXIT', 'before the process exited');
    this.options.journal?.close();
  }

  private handOver(): void {
    const batch = this.buffer.takeForFlush();
    if (batch.length === 0) return;
    this.stopIntervalTimer();
    this.enqueue(batch, false);
  }

  private enqueue(entries: CapturedEntry[], urgent: boolean, origin?: string, firstHere?: string): void {
    let bytes = 0;
    let mailBytes = 0;
    for (const entry of entries) {
      bytes += estimateEntryBytes(entry);
      mailBytes += this.options.estimateMailBytes(entry);
    }
    this.bufferBytes -= bytes;
    this.queuedBytes += bytes;
    this.queuedEntries += entries.length;
    // Far behind the rate limit, batches would be merged when they go anyway: joining them now
    // keeps the queue short, so that nothing on the logging path costs in proportion to it.
    // Without a rate limit, each batch stays a mail of its own, as `capacity` says.
    const last = this.jobs[this.jobs.length - 1];
    if (
      origin === undefined &&
      firstHere === undefined &&
      this.limiter !== undefined &&
      this.jobs.length > COALESCE_AFTER_JOBS &&
      last &&
      last.mailBytes + mailBytes <= this.mergeBudget &&
      !last.rendered &&
      !last.busy &&
      !last.spooled &&
      last.urgent === urgent
    ) {
      for (const entry of entries) last.entries.push(entry);
      last.held += entries.length;
      last.bytes += bytes;
      last.mailBytes += mailBytes;
      last.batches++;
      if (urgent) this.wake();
      return;
    }
    this.jobs.push({
      seq: this.nextSeq++,
      entries,
      start: 0,
      held: entries.length,
      mailBytes,
      bytes,
      urgent,
      batches: 1,
      failures: 0,
      notBefore: 0,
      rendered: undefined,
      partsSent: 0,
      drops: undefined,
      spooled: undefined,
      origins: origin === undefined ? [] : [origin],
      busy: false,
      firstHere: urgent ? undefined : firstHere,
      firstAsked: false,
      rendering: undefined,
      renderedAhead: false,
    });
    if (urgent) this.wake();
    void this.pump();
  }

  private settled(): Promise<void> {
    const upTo = this.nextSeq - 1;
    return new Promise((resolve) => {
      this.waiters.push({ upTo, resolve });
      this.resolveWaiters();
    });
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const job of this.jobs) if (!job.spooled && !this.isEmpty(job)) oldest = Math.min(oldest, job.seq);
    const spoolBusy = this.spoolWaiting || this.jobs.some((job) => job.spooled);
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index];
      if (waiter && waiter.upTo < oldest && !spoolBusy) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  // --- the pump: one conversation at a time, in order ---

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    const generation = this.generation;
    try {
      for (;;) {
        const job = await this.nextJob(generation);
        if (!job || generation !== this.generation) break;
        this.sending = job;
        try {
          await this.sendNextPart(job, generation);
        } finally {
          this.sending = undefined;
        }
        if (generation !== this.generation) break;
      }
    } finally {
      if (generation === this.generation) {
        this.pumping = false;
        // A job may have arrived after the loop found the queue empty and before it ended: its
        // own call to pump() returned at once, seeing this one still running.
        if (this.jobs.length > 0) {
          void this.pump();
        } else {
          this.options.mailer.release();
          this.resolveWaiters();
        }
      }
    }
  }

  /** The job whose next mail goes now, after any wait; undefined when nothing is left to send. */
  private async nextJob(generation: number): Promise<Job | undefined> {
    const { clock, retry } = this.options;
    let heldBack = false;
    let rateHeld = false;
    for (;;) {
      if (generation !== this.generation) return undefined;
      const now = clock.now();
      const crash = this.jobs.find((job) => job.urgent && !job.busy && !job.rendered && !this.isEmpty(job));
      // The mail rendered ahead holds the batches before those a crash mail takes: it goes first,
      // unless it failed and waits for a retry.
      const ahead = crash && this.jobs.find((job) => job.renderedAhead && job.failures === 0 && job.partsSent === 0);
      if (ahead) {
        ahead.busy = true;
        return ahead;
      }
      if (crash) {
        // A crash mail does not wait for a backoff or the rate limit, but the next one waits
        // `retry.minDelayMs`, so that a stream of crash entries during an outage cannot become a
        // stream of connection attempts.
        const ready = this.lastCrashAt === undefined ? now : this.lastCrashAt + retry.minDelayMs;
        if (ready > now) {
          await this.sleep(ready - now);
          continue;
        }
        this.lastCrashAt = now;
        const merged = this.mergeForCrash(crash);
        merged.busy = true;
        return merged;
      }
      if (this.spoolWaiting && !this.jobs.some((job) => job.spooled)) {
        const mail = await this.claimSpooled();
        if (generation !== this.generation) return undefined;
        if (mail) this.jobs.unshift(this.spooledJob(mail));
        continue;
      }
      const head = this.jobs[0];
      if (!head) return undefined;
      if (this.isEmpty(head)) {
        this.complete(head);
        continue;
      }
      if (head.firstHere !== undefined && !head.firstAsked) {
        // The group was asked: whatever it answered, the queue may have moved meanwhile.
        await this.holdIfRepeats(head, generation);
        continue;
      }
      const { fleet, rateLimit } = this.options;
      const sharedLimit = fleet !== undefined && rateLimit !== undefined;
      const rateWait = sharedLimit ? 0 : (this.limiter?.delayBeforeNext(now) ?? 0);
      const limited = Math.max(this.refusedUntil - now, rateWait);
      const wait = Math.max(head.notBefore - now, this.closing || head.urgent ? 0 : limited);
      if (wait > 0) {
        heldBack ||= head.notBefore <= now;
        rateHeld ||= head.notBefore <= now && rateWait > 0;
        await this.sleep(wait);
        continue;
      }
      if (sharedLimit && !this.closing && !head.urgent) {
        const answer = await this.unlessWoken(fleet.takeMailSlot(rateLimit, now), { granted: true });
        if (generation !== this.generation) return undefined;
        // A crash entry or a close arrived while the group answered: they do not wait for it.
        if (answer === undefined) continue;
        const slot = answer.value;
        if (!slot.granted && !this.closing) {
          heldBack = true;
          rateHeld = true;
          // Never longer than the window, whatever a store answers.
          await this.sleep(Math.min(Math.max(1, slot.retryInMs), rateLimit.perMs));
          continue;
        }
        // The queue moved while the group answered: the slot goes to whatever is first now.
        if (this.jobs[0] !== head || head.busy || this.isEmpty(head)) continue;
      }
      // What waited for the rate limit, or would wait for it but shutdown does not, goes as one mail.
      if (
        !head.rendered &&
        !head.rendering &&
        !head.spooled &&
        (heldBack || limited > 0 || (sharedLimit && this.closing))
      ) {
        this.mergeAfter(head, rateHeld || rateWait > 0);
      }
      // Marked now, before the logging path can run again: nothing is dropped from a mail on its way.
      head.busy = true;
      return head;
    }
  }

  /**
   * The job goes at once for a problem this process saw first: when another transport of the
   * group already mailed it, its entries go back into the buffer and wait for the end of that
   * transport's window, as repeats. Never while a flush waits for it.
   */
  private async holdIfRepeats(job: Job, generation: number): Promise<void> {
    const { fleet, renotify, isTrigger } = this.options;
    const problem = job.firstHere;
    job.firstAsked = true;
    if (fleet === undefined || renotify === undefined || problem === undefined) return;
    if (this.closing || job.urgent || job.rendered || this.awaited(job)) return;
    const answer = await this.unlessWoken(fleet.repeatsUntil(problem), undefined);
    const until = answer?.value;
    if (generation !== this.generation || until === undefined) return;
    const now = this.options.clock.now();
    if (until <= now || this.closing || job.busy || job.rendered || this.awaited(job) || !this.jobs.includes(job)) {
      return;
    }
    const entries = liveEntries(job);
    const repeats = entries.map((entry) => !entry.crash && isTrigger(entry) && renotify.fingerprint(entry) === problem);
    this.jobs = this.jobs.filter((candidate) => candidate !== job);
    this.queuedBytes -= job.bytes;
    this.queuedEntries -= job.held;
    this.bufferBytes += job.bytes;
    const batch = this.buffer.restore(entries, repeats, until, now);
    if (batch) {
      this.stopIntervalTimer();
      this.enqueue(batch, false);
    } else {
      this.startIntervalTimer();
    }
  }

  /** Whether a `flush()` or `close()` waits for the job. */
  private awaited(job: Job): boolean {
    return this.waiters.some((waiter) => waiter.upTo >= job.seq);
  }

  private async claimSpooled(): Promise<SpooledPart | undefined> {
    try {
      const mail = await this.options.spool?.next();
      if (!mail) this.spoolWaiting = false;
      return mail;
    } catch (error) {
      this.spoolWaiting = false;
      this.options.reporter.warn({ context: 'Could not read `spoolDir`', error, code: 'ESPOOL', count: 0 });
      return undefined;
    }
  }

  private spooledJob(mail: SpooledPart): Job {
    return {
      seq: 0,
      entries: [],
      start: 0,
      held: 0,
      mailBytes: 0,
      bytes: 0,
      urgent: false,
      batches: 1,
      failures: 0,
      notBefore: 0,
      rendered: { entries: [], parts: [mail], notices: [] },
      partsSent: 0,
      drops: undefined,
      spooled: mail,
      origins: [],
      busy: false,
      firstHere: undefined,
      firstAsked: false,
      rendering: undefined,
      renderedAhead: false,
    };
  }

  /** A batch whose entries were all dropped: nothing to send. */
  private isEmpty(job: Job): boolean {
    return !job.rendered && !job.spooled && job.held === 0;
  }

  /** Merges the unrendered batches after `head` into it, as far as one mail of `maxMailBytes` holds them. */
  private mergeAfter(head: Job, heldByRateLimit: boolean): void {
    const budget = this.mergeBudget;
    let bytes = head.mailBytes;
    const merged: Job[] = [];
    for (let index = 1; index < this.jobs.length; index++) {
      const next = this.jobs[index];
      // A batch whose problems the group has not been asked about waits to be asked (it may be
      // held), unless the transport is closing and holds nothing back.
      if (
        !next ||
        next.rendered ||
        next.busy ||
        next.urgent ||
        (next.firstHere !== undefined && !next.firstAsked && !this.closing)
      ) {
        break;
      }
      const nextBytes = next.mailBytes;
      if (bytes + nextBytes > budget) break;
      bytes += nextBytes;
      merged.push(next);
    }
    if (heldByRateLimit) this.mergedByRateLimit.add(head);
    if (merged.length > 0) this.absorb(head, merged);
  }

  /** A crash mail takes every batch not yet rendered with it, in order, and goes first. */
  private mergeForCrash(crash: Job): Job {
    const waiting = this.jobs.filter((job) => !job.rendered && !job.busy && !job.spooled && !this.isEmpty(job));
    // The batches just before the crash explain it: take the most recent ones that fit in one
    // mail with it, so that the crash entry is in the first mail, not in a later part.
    let bytes = 0;
    let from = waiting.length;
    while (from > 0) {
      const candidate = waiting[from - 1];
      if (!candidate) break;
      const candidateBytes = candidate.mailBytes;
      if (from < waiting.length && bytes + candidateBytes > this.mergeBudget) break;
      bytes += candidateBytes;
      from--;
    }
    const merged = waiting.slice(from);
    const [first, ...rest] = merged;
    if (!first) return crash;
    // It keeps its place in the queue, so that a later retry keeps log order with the mails
    // still waiting for theirs; this first try goes now.
    this.absorb(first, rest);
    first.urgent = true;
    first.notBefore = 0;
    return first;
  }

  /** Moves the live entries of `others` into `into`, in order, and takes them out of the queue. */
  private absorb(into: Job, others: readonly Job[]): void {
    if (others.length === 0) return;
    const entries = liveEntries(into);
    for (const other of others) {
      for (let index = other.start; index < other.entries.length; index++) {
        const entry = other.entries[index];
        if (entry !== undefined) entries.push(entry);
      }
      into.held += other.held;
      into.bytes += other.bytes;
      into.mailBytes += other.mailBytes;
      into.batches += other.batches;
      into.origins.push(...other.origins);
      into.urgent ||= other.urgent;
    }
    into.entries = entries;
    into.start = 0;
    const gone = new Set(others);
    this.jobs = this.jobs.filter((job) => !gone.has(job));
  }

  private notices(job: Job): string[] {
    const notices: string[] = [...job.origins];
    const drops = this.ledger.takeUnannounced();
    if (drops.count > 0) {
      job.drops = drops;
      notices.push(dropNotice(drops, this.dropLimit));
    }
    if (job.batches > 1) notices.push(mergeNotice(job.batches, this.mergedByRateLimit.has(job)));
    return notices;
  }

  /** Renders the job if it is not yet, and sends its next mail, retrying as the failure allows. */
  private async sendNextPart(job: Job, generation: number): Promise<void> {
    const { mailer, clock, retry, reporter, classify } = this.options;
    if (job.rendering) await job.rendering;
    if (generation !== this.generation) return;
    job.busy = true;
    try {
      if (!job.rendered) {
        const entries = liveEntries(job);
        const { fleet } = this.options;
        let fleetNotices: string[] = [];
        // A crash mail and the mails of a shutdown do not wait for the group's counts, which
        // stay in the store for the next mail about the problem.
        if (fleet && !job.urgent && !job.spooled && !this.closing) {
          const answer = await this.unlessWoken(fleet.problemNotices(entries, job.firstHere), undefined);
          if (generation !== this.generation) return;
          // Woken by a crash entry or a close: back to the queue, which sends what comes first now;
          // the counts taken meanwhile wait for the next mail about their problems.
          if (answer === undefined) return;
          if (answer.value !== undefined) {
            fleetNotices = answer.value.notices;
            answer.value.reported();
          }
        }
        const notices = [...this.notices(job), ...fleetNotices];
        const parts = await this.options.render(entries, notices);
        if (generation !== this.generation) return;
        job.rendered = { entries, parts, notices };
      }
      const part = job.rendered.parts[job.partsSent];
      if (!part) {
        this.complete(job);
        return;
      }
      let info: { messageId?: string } | undefined;
      let failure: unknown;
      let failed = false;
      try {
        if (this.options.journal && !job.spooled) this.options.journal.markSending(this.partEntries(job));
        info = await mailer.send(this.options.toMessage(part), part.transferEncodings, () =>
          this.renderAhead(job, generation),
        );
      } catch (error) {
        failed = true;
        failure = error;
      }
      if (generation !== this.generation) return;
      const now = clock.now();
      if (!failed) {
        this.limiter?.record(now);
        this.lastFailureAt = undefined;
        this.lastFailure = undefined;
        job.failures = 0;
        job.partsSent++;
        job.drops = undefined;
        this.release(job, part.count);
        this.ledger.mailed(part.count, job.spooled !== undefined);
        this.retireSent(job);
        if (job.partsSent >= job.rendered.parts.length) this.complete(job);
        // Told last: the outcome is recorded whatever a listener does.
        reporter.mailSent(part.count, typeof info?.messageId === 'string' ? info.messageId : undefined);
        return;
      }
      this.lastFailureAt = now;
      // Our own aborts bump the generation (handled above); an abort reported by a user's
      // transporter is a failure like another, or the pump would resend at once, forever.
      const classified = classify(failure);
      const kind = classified === 'aborted' ? 'transient' : classified;
      this.lastFailure = failure;
      if (kind === 'too-large' && part.count > 1 && !job.spooled) {
        await this.splitPart(job, generation);
        return;
      }
      if (kind === 'too-large' && !job.spooled) {
        this.giveUpParts(job, 1, failure, 'The server refused a mail as too large');
        return;
      }
      if (kind === 'transient') {
        job.failures++;
        if (job.failures < retry.attempts) {
          this.ledger.retried();
          job.notBefore = now + retryDelayMs(job.failures, retry);
          return;
        }
      }
      if (kind === 'refusal') this.refusedUntil = now + retry.maxDelayMs;
      this.fail(job, failure, kind === 'transient');
    } finally {
      job.busy = false;
    }
  }

  /**
   * While a mail is on the wire, renders the mail after it, so that the next one is ready when the
   * server accepts this one. Only when nothing can be merged into it later: without a rate limit
   * (which merges the mails it held back) and without a shared store (which may hold a mail back).
   */
  private renderAhead(current: Job, generation: number): void {
    if (this.limiter !== undefined || this.options.fleet !== undefined) return;
    const index = this.jobs.indexOf(current);
    const next = index === -1 ? undefined : this.jobs[index + 1];
    if (!next || next.rendered || next.rendering || next.busy || next.spooled || next.urgent || this.isEmpty(next)) {
      return;
    }
    // Marked busy meanwhile: nothing is dropped from it or merged into it.
    next.busy = true;
    next.renderedAhead = true;
    next.rendering = (async () => {
      try {
        const entries = liveEntries(next);
        const notices = this.notices(next);
        const parts = await this.options.render(entries, notices);
        if (generation === this.generation) next.rendered = { entries, parts, notices };
      } catch {
        // Rendered again when its turn comes, where a failure surfaces as it always did; the
        // drops this render took are announced by that one.
        this.announceLaterIfFirst(next);
      } finally {
        next.rendering = undefined;
        if (this.sending !== next) next.busy = false;
      }
    })();
  }

  /** A part refused as too large goes again as two smaller mails. */
  private async splitPart(job: Job, generation: number): Promise<void> {
    const rendered = job.rendered;
    if (!rendered) return;
    let offset = 0;
    for (let index = 0; index < job.partsSent; index++) offset += rendered.parts[index]?.count ?? 0;
    const part = rendered.parts[job.partsSent];
    if (!part) return;
    const entries = rendered.entries.slice(offset, offset + part.count);
    const half = Math.ceil(entries.length / 2);
    const notices = job.partsSent === 0 ? rendered.notices : [];
    const first = await this.options.render(entries.slice(0, half), notices);
    const second = await this.options.render(entries.slice(half), []);
    if (generation !== this.generation) return;
    rendered.parts.splice(job.partsSent, 1, ...first, ...second);
  }

  /** Gives up `count` mails of the job, from the one being sent on. */
  private giveUpParts(job: Job, count: number, error: unknown, context: string): void {
    const parts = remainingParts(job).slice(0, count);
    const entries = parts.reduce((sum, part) => sum + part.count, 0);
    job.partsSent += parts.length;
    this.release(job, entries);
    this.announceLaterIfFirst(job);
    this.ledger.gaveUp(entries, parts.length);
    if (job.rendered && job.partsSent >= job.rendered.parts.length) this.complete(job);
    this.options.reporter.warn({ context: `${context}; gave up ${entryCount(entries)}`, error, count: entries });
  }

  /** A permanent failure, or retries exhausted: spool what is left of the job, or give it up. */
  private fail(job: Job, error: unknown, exhausted: boolean): void {
    const { reporter, spool, retry } = this.options;
    const parts = remainingParts(job);
    const entries = parts.reduce((sum, part) => sum + part.count, 0);
    const tries = exhausted ? ` after ${retry.attempts} ${retry.attempts === 1 ? 'try' : 'tries'}` : '';
    if (job.spooled) {
      const { count } = job.spooled;
      spool?.release(job.spooled);
      // While the server is down, the other mails of earlier runs would fail too; a mail the
      // server refuses for what it is must not keep the ones behind it from going.
      if (exhausted) this.spoolWaiting = false;
      this.complete(job);
      reporter.warn({
        context: `Could not mail ${entryCount(count)} kept from an earlier run${tries}; ${count === 1 ? 'it stays' : 'they stay'} in \`spoolDir\``,
        error,
        count,
      });
      return;
    }
    this.release(job, entries);
    const problems: Problem[] = [];
    if (exhausted && spool) {
      const { spooled, lost } = this.spoolParts(parts);
      if (spooled > 0) {
        problems.push({
          context: `Could not mail ${entryCount(spooled)}${tries}; kept in \`spoolDir\` for the next start`,
          error,
          count: spooled,
        });
      }
      if (lost > 0) {
        this.announceLaterIfFirst(job);
        problems.push({ context: `Could not mail ${entryCount(lost)}${tries}`, error, count: lost });
      }
    } else {
      this.announceLaterIfFirst(job);
      this.ledger.gaveUp(entries, parts.length);
      problems.push({ context: `Could not mail ${entryCount(entries)}${tries}`, error, count: entries });
    }
    this.complete(job);
    for (const problem of problems) reporter.warn(problem);
  }

  private announceLaterIfFirst(job: Job): void {
    if (job.drops) this.ledger.announceLater(job.drops);
    job.drops = undefined;
  }

  /** Writes mails to the spool; what cannot be written is given up. Counted either way. */
  private spoolParts(parts: readonly RenderedPart[]): { spooled: number; lost: number } {
    let spooled = 0;
    let lost = 0;
    for (const part of parts) {
      if (this.options.spool?.write(part)) {
        spooled += part.count;
        this.ledger.spooled(part.count, 1);
      } else {
        lost += part.count;
        this.ledger.gaveUp(part.count, 1);
      }
    }
    return { spooled, lost };
  }

  /** `entries` of the job reached their outcome: they are no longer held. */
  private release(job: Job, entries: number): void {
    if (job.spooled || entries === 0) return;
    const bytes = entries >= job.held ? job.bytes : Math.round((job.bytes * entries) / job.held);
    job.held -= entries;
    job.bytes -= bytes;
    this.queuedEntries -= entries;
    this.queuedBytes -= bytes;
  }

  /** The entries of the part just delivered have their outcome: the journal may forget them. */
  private retireSent(job: Job): void {
    this.options.journal?.retireAll(this.partEntries(job, job.partsSent - 1));
  }

  /** The entries of the job's part `index`, the one being sent by default. */
  private partEntries(job: Job, index = job.partsSent): CapturedEntry[] {
    const rendered = job.rendered;
    if (!rendered) return [];
    let offset = 0;
    for (let part = 0; part < index; part++) offset += rendered.parts[part]?.count ?? 0;
    return rendered.entries.slice(offset, offset + (rendered.parts[index]?.count ?? 0));
  }

  private complete(job: Job): void {
    if (job.spooled && job.partsSent > 0) this.options.spool?.remove(job.spooled);
    // Mailed, spooled or given up: whatever part of the job is left has its outcome now.
    if (this.options.journal) this.options.journal.retireAll(job.rendered?.entries ?? liveEntries(job));
    this.jobs = this.jobs.filter((candidate) => candidate !== job);
    this.resolveWaiters();
  }

  // --- memory bound ---

  /**
   * Drops the oldest waiting entries until what is held fits, never from a mail being sent or
   * retried; crash entries go last. Costs what it drops, not what is queued.
   */
  private dropOverflow(): void {
    const { maxBufferedBytes, maxBufferedEntries } = this.options;
    const summary = emptyDropSummary();
    const overBytes = () => this.bufferBytes + this.queuedBytes > maxBufferedBytes;
    const overEntries = () =>
      maxBufferedEntries !== undefined && this.buffer.size + this.queuedEntries > maxBufferedEntries;
    const over = () => overBytes() || overEntries();
    this.dropLimit = overBytes() ? 'maxBufferedBytes' : 'maxBufferedEntries';
    const note = (entry: CapturedEntry | undefined) => {
      summary.count++;
      if (entry !== undefined) this.options.journal?.retire(entry);
      const timestamp = entry?.timestamp;
      summary.first ??= timestamp;
      summary.last = timestamp ?? summary.last;
    };
    // The repeats of a problem that already mailed go first: a mail would state them in one line,
    // while the entries around them tell what happened. An eighth of them at a time, so that the
    // pass over the buffer is paid once for many entries.
    let repeatsDropped = false;
    while (over() && this.buffer.repeatCount > 0) {
      repeatsDropped = true;
      for (const entry of this.buffer.dropRepeats(Math.ceil(this.buffer.repeatCount / 8))) {
        this.bufferBytes -= estimateEntryBytes(entry);
        note(entry);
      }
    }
    let emptied = false;
    let scanned = 0;
    for (const urgent of [false, true]) {
      for (let index = 0; index < this.jobs.length && over(); index++) {
        const job = this.jobs[index];
        scanned = Math.max(scanned, index + 1);
        if (!job || job.rendered || job.busy || job.spooled || job.urgent !== urgent || job.held === 0) continue;
        while (job.start < job.entries.length && over()) {
          const entry = job.entries[job.start];
          job.entries[job.start] = undefined;
          job.start++;
          const bytes = entry === undefined ? 0 : estimateEntryBytes(entry);
          job.held--;
          job.bytes -= bytes;
          if (entry !== undefined) job.mailBytes -= this.options.estimateMailBytes(entry);
          this.queuedBytes -= bytes;
          this.queuedEntries--;
          note(entry);
        }
        emptied ||= job.held === 0;
      }
      if (!over()) break;
      while (!urgent && over()) {
        const entry = this.buffer.dropOldest();
        if (entry === undefined) break;
        this.bufferBytes -= estimateEntryBytes(entry);
        note(entry);
      }
    }
    if (emptied) {
      // Only the part of the queue scanned is compacted, so that a drop costs what it drops.
      let kept = 0;
      for (let index = 0; index < scanned; index++) {
        const job = this.jobs[index];
        if (job && (job.busy || !this.isEmpty(job))) this.jobs[kept++] = job;
      }
      this.jobs.splice(kept, scanned - kept);
      this.resolveWaiters();
    }
    if (summary.count === 0) return;
    if (this.ledger.dropped(summary)) this.reportDrops(repeatsDropped);
  }

  private reportDrops(repeatsDropped = false): void {
    const outage = this.lastFailureAt !== undefined;
    const why = outage
      ? 'mail cannot be sent now'
      : repeatsDropped
        ? 'the repeats of a problem wait for the end of its `renotify` window'
        : this.limiter
          ? 'entries are logged faster than `rateLimit` lets mail carry them'
          : 'entries are logged faster than the server accepts them';
    const count = this.ledger.droppedThisEpisode;
    this.options.reporter.warn({
      context: `More was waiting than \`${this.dropLimit}\` (${this.dropLimit === 'maxBufferedBytes' ? this.options.maxBufferedBytes : this.options.maxBufferedEntries}) allows, because ${why}: ${repeatsDropped ? 'those repeats, then the oldest waiting entries,' : 'the oldest waiting entries'} are being dropped, ${count} so far; the next mail says how many`,
      code: 'EOVERFLOW',
      count,
    });
  }

  // --- shutdown ---

  /**
   * Gives up every mail not yet delivered, the one being sent included: its conversation is
   * ended first, so that nothing reported as spooled or given up is sent afterwards. The report
   * ends with `lastFailure`, the reason of the last failed try, when there is one.
   */
  private abandon(code: string, when: string, lastFailure?: unknown): void {
    const jobs = this.jobs;
    this.generation++;
    this.pumping = false;
    this.jobs = [];
    this.options.mailer.abort();
    this.wake();
    let spooled = 0;
    let lost = 0;
    for (const job of jobs) {
      if (job.spooled) {
        this.options.spool?.release(job.spooled);
        continue;
      }
      const parts = job.rendered ? remainingParts(job) : this.renderNow(job);
      this.options.journal?.retireAll(job.rendered?.entries ?? liveEntries(job));
      const count = parts.reduce((sum, part) => sum + part.count, 0);
      if (count === 0) continue;
      if (this.options.spool) {
        const outcome = this.spoolParts(parts);
        spooled += outcome.spooled;
        lost += outcome.lost;
      } else {
        lost += count;
        this.ledger.gaveUp(count, parts.length);
      }
      if (job.drops && count > 0) this.ledger.announceLater(job.drops);
    }
    this.spoolWaiting = false;
    this.queuedBytes = 0;
    this.queuedEntries = 0;
    const failed = lastFailure === undefined ? {} : { error: lastFailure };
    const lastTry = lastFailure === undefined ? '' : '; the last try failed';
    if (spooled > 0) {
      this.options.reporter.warn({
        context: `${notDelivered(spooled, when)}; kept in \`spoolDir\` for the next start${lastTry}`,
        ...failed,
        code,
        count: spooled,
      });
    }
    if (lost > 0) {
      this.options.reporter.warn({ context: `${notDelivered(lost, when)}${lastTry}`, ...failed, code, count: lost });
    }
    this.resolveWaiters();
  }

  private renderNow(job: Job): RenderedPart[] {
    const entries = liveEntries(job);
    if (entries.length === 0) return [];
    return this.options.renderNow(entries, this.notices(job));
  }

  // --- time ---

  private startIntervalTimer(): void {
    this.stopIntervalTimer();
    const dueAt = this.buffer.dueAt;
    if (dueAt === undefined) return;
    const { clock } = this.options;
    this.intervalTimer = clock.setTimeout(
      () => {
        this.intervalTimer = undefined;
        const batch = this.buffer.takeDue(clock.now());
        if (batch) this.enqueue(batch, false);
        else this.startIntervalTimer();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, dueAt - clock.now())),
    );
  }

  private stopIntervalTimer(): void {
    if (this.intervalTimer === undefined) return;
    this.options.clock.clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
  }

  /**
   * The value of `promise` (`otherwise` if it fails), or undefined when `wake()` comes first (a
   * crash entry, a close): the pump then goes on without it.
   */
  private unlessWoken<T>(promise: Promise<T>, otherwise: T): Promise<{ value: T } | undefined> {
    return new Promise((resolve) => {
      const done = (answer: { value: T } | undefined) => {
        if (this.wakeUp === woken) this.wakeUp = undefined;
        resolve(answer);
      };
      const woken = () => done(undefined);
      this.wakeUp = woken;
      promise.then(
        (value) => done({ value }),
        () => done({ value: otherwise }),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.options.clock.clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      // While closing, the wait is part of the shutdown and must keep the process alive.
      const timer = this.options.clock.setTimeout(done, Math.min(MAX_TIMER_MS, ms), this.closing);
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}
