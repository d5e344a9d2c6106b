import { retryDelayMs } from './backoff';
import type { Clock, TimerHandle } from './clock';
import { isRefusal, isTransientFailure, type Mailer } from './mail';
import type { LogEntry, MailMessage, RateLimitOptions, RetryOptions } from './options';
import { SlidingWindow } from './rate-limit';
import { dropNotice, mergeNotice, timestampOf, type DropSummary } from './render';
import type { ClaimedMail } from './spool';

/** One mail to send: a batch, batches merged together, or a mail kept from an earlier run. */
export interface Job {
  /** Entries still in the mail; dropping the oldest advances `offset`. */
  readonly entries: LogEntry[];
  offset: number;
  /** How many batches this mail holds. */
  batches: number;
  /** A crash entry is in it: it goes before anything waits. */
  urgent: boolean;
  /** Set for a mail read back from the spool, already rendered. */
  readonly spooled: ClaimedMail | undefined;
  /** Resolves the `settled()` promises of the batches this mail holds. */
  readonly done: Array<() => void>;
  abandoned: boolean;
}

/** What the delivery tells its owner. */
export interface DeliveryReport {
  delivered(job: Job, count: number, messageId: string | undefined): void;
  retrying(job: Job, count: number, error: unknown): void;
  /** `exhausted`: the failure was transient, but the tries ran out. */
  failed(job: Job, count: number, error: unknown, exhausted: boolean): void;
}

export interface DeliveryOptions {
  mailer: Mailer;
  clock: Clock;
  retry: Required<RetryOptions>;
  rateLimit: RateLimitOptions | undefined;
  /** The most entries merged into one mail when batches were held back by the rate limit. */
  mergeLimit: number;
  /** Renders a batch as one mail or more (split by size); `notices` go before the entries. */
  compose(entries: LogEntry[], notices: string[], dropped: number): ComposedMail[];
  /** The message for a mail read back from the spool. */
  composeSpooled(mail: ClaimedMail): MailMessage;
  report: DeliveryReport;
  /** Resolves when the delivery may start, e.g. once spooled mails were read back. */
  ready?: Promise<unknown>;
}

/** A message ready to send, and the number of entries it holds. */
export interface ComposedMail {
  message: MailMessage;
  count: number;
}

export function jobSize(job: Job): number {
  return job.spooled ? job.spooled.count : job.entries.length - job.offset;
}

/** The entries of a job not dropped and not yet in an accepted part. */
export function liveEntries(job: Job): LogEntry[] {
  return job.offset === 0 ? job.entries : job.entries.slice(job.offset);
}

/**
 * Sends mails one at a time, in the order their batches were submitted, retrying transient
 * failures with backoff, holding back to the rate limit (merging what waits meanwhile), and
 * letting a crash mail go before any wait. Submitting never waits; a mail is rendered when its
 * turn comes, so rendering stays off the logging path.
 */
export class Delivery {
  private readonly queue: Job[] = [];
  private active: Job | undefined;
  private readonly unfinished = new Set<Promise<void>>();
  private readonly window: SlidingWindow | undefined;
  private running = false;
  private closing = false;
  private wakeUp: (() => void) | undefined;
  private entriesWaiting = 0;
  /** After a refusal (login, TLS), no conversation starts before this time. */
  private refusedUntil = 0;
  private dropped: DropSummary = { count: 0, first: undefined, last: undefined };

  constructor(private readonly options: DeliveryOptions) {
    this.window = options.rateLimit ? new SlidingWindow(options.rateLimit) : undefined;
  }

  /** Mails not yet delivered or given up, the one being sent included. */
  get pending(): number {
    return this.queue.length + (this.active ? 1 : 0);
  }

  /** Entries in those mails (spooled mails of earlier runs not counted). */
  get pendingEntries(): number {
    return this.entriesWaiting;
  }

  submit(entries: LogEntry[], urgent = false): void {
    this.enqueue({ entries, offset: 0, batches: 1, urgent, spooled: undefined, done: [], abandoned: false });
  }

  /** Queues mails read back from the spool, before anything submitted later. */
  submitSpooled(mails: readonly ClaimedMail[]): void {
    for (const spooled of mails) {
      this.enqueue({ entries: [], offset: 0, batches: 1, urgent: false, spooled, done: [], abandoned: false });
    }
  }

  /** Resolves once every mail submitted so far is delivered or given up; never rejects. */
  settled(): Promise<void> {
    return Promise.all(this.unfinished).then(() => undefined);
  }

  /** From now on nothing waits for the rate limit; what it would hold back goes out as one mail. */
  beginClosing(): void {
    this.closing = true;
    this.wake();
  }

  /** Entries dropped elsewhere, to be announced by the next mail that goes out. */
  noteDropped(summary: DropSummary): void {
    if (summary.count === 0) return;
    this.dropped = {
      count: this.dropped.count + summary.count,
      first: this.dropped.first ?? summary.first,
      last: summary.last ?? this.dropped.last,
    };
  }

  /**
   * Drops up to `count` of the oldest entries waiting in queued mails (never from the mail being
   * sent, which is kept whole). Returns what was dropped.
   */
  dropOldest(count: number): DropSummary {
    const summary: DropSummary = { count: 0, first: undefined, last: undefined };
    while (summary.count < count) {
      const job = this.queue.find((candidate) => !candidate.spooled && jobSize(candidate) > 0);
      if (!job) break;
      const take = Math.min(count - summary.count, jobSize(job));
      summary.first ??= timestampOf(job.entries[job.offset]);
      summary.last = timestampOf(job.entries[job.offset + take - 1]) ?? summary.last;
      job.entries.fill(undefined as unknown as LogEntry, job.offset, job.offset + take);
      job.offset += take;
      summary.count += take;
      this.entriesWaiting -= take;
      if (jobSize(job) === 0) this.finish(job, this.queue.indexOf(job));
    }
    return summary;
  }

  /**
   * Gives up every mail not yet delivered, the one being sent included (its conversation is cut).
   * Returns them, so that the owner can report or spool them; they are not reported again.
   */
  abandon(): Job[] {
    const jobs = [...(this.active ? [this.active] : []), ...this.queue];
    for (const job of jobs) job.abandoned = true;
    this.queue.length = 0;
    this.active = undefined;
    this.entriesWaiting = 0;
    this.options.mailer.release();
    this.wake();
    for (const job of jobs) for (const resolve of job.done) resolve();
    return jobs;
  }

  /** The drop notice not yet delivered, taken out so that it is announced once. */
  takeDropped(): DropSummary {
    const dropped = this.dropped;
    this.dropped = { count: 0, first: undefined, last: undefined };
    return dropped;
  }

  private enqueue(job: Job): void {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.unfinished.add(promise);
    job.done.push(() => {
      this.unfinished.delete(promise);
      resolve();
    });
    this.queue.push(job);
    if (!job.spooled) this.entriesWaiting += jobSize(job);
    if (job.urgent) this.wake();
    if (!this.running) void this.run();
  }

  private finish(job: Job, index = -1): void {
    if (index >= 0) this.queue.splice(index, 1);
    for (const resolve of job.done) resolve();
  }

  private async run(): Promise<void> {
    this.running = true;
    await this.options.ready;
    for (;;) {
      const job = await this.next();
      if (!job) break;
      this.active = job;
      const finished = await this.attempt(job);
      if (job.abandoned || !finished) continue;
      this.active = undefined;
      if (!job.spooled) this.entriesWaiting -= jobSize(job);
      this.finish(job);
    }
    this.running = false;
    this.options.mailer.release();
  }

  /**
   * The next mail to send, after any wait the rate limit asks for; undefined when none waits.
   * Batches held back by the rate limit, or more of them than the window still allows, go out
   * merged. While closing nothing waits: if the
   * window is full, what is queued goes out as one mail.
   */
  private async next(): Promise<Job | undefined> {
    let heldBack = false;
    for (;;) {
      if (this.queue.length === 0) return undefined;
      if (this.queue.some((job) => job.urgent)) return this.merge(Number.POSITIVE_INFINITY);
      const now = this.options.clock.now();
      // A refused login is not retried, but the next mail would be refused too: trying it at
      // once, and the next, would be a burst of failed logins that can lock the account.
      if (this.refusedUntil > now) {
        // At shutdown there is no time to wait: one last try, with everything in one mail.
        if (this.closing) return this.merge(Number.POSITIVE_INFINITY);
        heldBack = true;
        await this.sleep(this.refusedUntil - now);
        continue;
      }
      const wait = this.window?.delayBeforeNext(now) ?? 0;
      if (wait > 0 && this.closing) return this.merge(Number.POSITIVE_INFINITY);
      if (wait <= 0) return heldBack || this.backlogged() ? this.merge(this.options.mergeLimit) : this.queue.shift();
      heldBack = true;
      await this.sleep(wait);
    }
  }

  /** More batches wait than the window still allows: sending them one by one would only fall behind. */
  private backlogged(): boolean {
    return this.window !== undefined && this.queue.length > this.window.remaining(this.options.clock.now());
  }

  /** Takes the mails at the head of the queue that fit in `limit` entries, as one mail. */
  private merge(limit: number): Job | undefined {
    const first = this.queue.shift();
    if (!first || first.spooled) return first;
    const merged: Job = { ...first, entries: liveEntries(first), offset: 0, done: [...first.done] };
    while (this.queue[0] && !this.queue[0].spooled && jobSize(merged) + jobSize(this.queue[0]) <= limit) {
      const next = this.queue.shift() as Job;
      merged.entries.push(...liveEntries(next));
      merged.batches += next.batches;
      merged.urgent ||= next.urgent;
      merged.done.push(...next.done);
    }
    return merged;
  }

  /** Sends one mail, retrying; false when it went back to the queue to join a crash mail. */
  private async attempt(job: Job): Promise<boolean> {
    const { mailer, clock, retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      const dropped = job.spooled ? undefined : this.takeDropped();
      let dropNoticeSent = false;
      try {
        const mails: ComposedMail[] = job.spooled
          ? [{ message: this.options.composeSpooled(job.spooled), count: job.spooled.count }]
          : this.options.compose(liveEntries(job), this.notices(job, dropped), dropped?.count ?? 0);
        for (const mail of mails) {
          const info = await mailer.send(mail.message);
          if (job.abandoned) return true;
          dropNoticeSent = true;
          // A batch split by size: what was accepted leaves the job, so a retry sends the rest only.
          if (!job.spooled) {
            job.offset += mail.count;
            this.entriesWaiting -= mail.count;
          }
          this.window?.record(clock.now());
          const messageId = typeof info?.messageId === 'string' ? info.messageId : undefined;
          this.tell((report) => report.delivered(job, mail.count, messageId));
        }
        return true;
      } catch (error) {
        if (dropped && !dropNoticeSent) this.noteDropped(dropped);
        if (job.abandoned) return true;
        const transient = isTransientFailure(error);
        if (!transient || attempt >= retry.attempts) {
          if (isRefusal(error)) this.refusedUntil = clock.now() + retry.maxDelayMs;
          this.tell((report) => report.failed(job, jobSize(job), error, transient));
          return true;
        }
        this.tell((report) => report.retrying(job, jobSize(job), error));
        if (this.crashWaits(job)) return this.requeue(job);
        await this.sleep(retryDelayMs(attempt, retry));
        if (job.abandoned) return true;
        if (this.crashWaits(job)) return this.requeue(job);
      }
    }
  }

  // A listener that throws must neither stop the delivery nor become an unhandled rejection: it
  // surfaces as an exception of its own, as it would from any event emitter.
  private tell(call: (report: DeliveryReport) => void): void {
    try {
      call(this.options.report);
    } catch (listenerError) {
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }

  private crashWaits(job: Job): boolean {
    return !job.urgent && this.queue.some((queued) => queued.urgent);
  }

  /** A crash mail must not wait behind this one's backoff: both go out together, in order. */
  private requeue(job: Job): false {
    this.queue.unshift(job);
    this.active = undefined;
    return false;
  }

  private notices(job: Job, dropped: DropSummary | undefined): string[] {
    const notices: string[] = [];
    if (dropped && dropped.count > 0) notices.push(dropNotice(dropped));
    if (job.batches > 1) notices.push(mergeNotice(job.batches, !job.urgent));
    return notices;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.options.clock.clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      // While closing, the wait is part of the shutdown and must keep the process alive.
      const timer: TimerHandle = this.options.clock.setTimeout(done, ms, this.closing);
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}
