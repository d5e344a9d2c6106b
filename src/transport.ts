import { hostname } from 'node:os';
import TransportStream from 'winston-transport';
import { BatchBuffer } from './buffer';
import { nextTurn, systemClock, type Clock, type TimerHandle } from './clock';
import { Delivery, jobSize, liveEntries, type ComposedMail, type Job } from './delivery';
import { unwatchExit, watchExit, type ExitAware } from './exit-hook';
import { defaultLineFormat, entryCount } from './render';
import { createMailer, sanitizeError, secretForms, type Mailer, type SmtpError } from './mailer';
import {
  resolveOptions,
  type BufferedMailTransportOptions,
  type LogEntry,
  type MailMessage,
  type ResolvedOptions,
} from './options';
import { dropNotice, NPM_LEVELS, renderBatch, timestampOf, type DropSummary } from './render';
import { Spool, type SpooledMail } from './spool';

/** Sent with the `'mail'` event once the server accepted a mail. */
export interface MailSentInfo {
  /** The number of log entries in the mail. */
  count: number;
  /** The Message-ID the mail was sent with, when the transporter reports one. */
  messageId: string | undefined;
}

/**
 * Sent with the `'warn'` event when mail could not be delivered, or entries had to be dropped.
 * Keeps nodemailer's `code` (`ETLS`, `EAUTH`, `ECONNECTION`, `ETIMEDOUT`...) and the server's
 * reply, or one of ours (`EOVERFLOW`, `ECLOSETIMEOUT`, `EEXIT`, `ESPOOL`); never contains the password.
 */
export interface DeliveryWarning extends SmtpError {
  /** The number of log entries concerned. */
  count: number;
}

/** Counters since the transport was created, from `stats()`. */
export interface TransportStats {
  /** Entries accepted by the transport. */
  entriesLogged: number;
  /** Entries in mails the server accepted. */
  entriesMailed: number;
  /** Mails the server accepted, spooled mails of earlier runs included. */
  mailsSent: number;
  /** Tries repeated after a transient failure. */
  retries: number;
  /** Mails given up: permanent failure, or retries exhausted with no `spoolDir`. */
  mailsGivenUp: number;
  /** Entries in those mails. */
  entriesGivenUp: number;
  /** Entries dropped because `maxBufferedEntries` was reached. */
  entriesDropped: number;
  /** Mails written to `spoolDir` for a later run. */
  mailsSpooled: number;
  /** Entries in those mails. */
  entriesSpooled: number;
  /** Entries of earlier runs delivered from `spoolDir`. */
  entriesFromSpool: number;
  /** Entries that left the `'context'` ring unmailed, as that mode intends. */
  entriesContextDiscarded: number;
  /** Entries waiting now, in the buffer or in mails not yet delivered. */
  entriesPending: number;
}

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

/** The entry's level as the logger named it, before any colouring of `info.level`. */
function levelOf(entry: LogEntry): string {
  const level = entry[LEVEL] ?? entry.level;
  return typeof level === 'string' ? level : '';
}

function isError(value: LogEntry): value is Error & LogEntry {
  // The tag check, for errors of another realm, runs only for what has a stack: it is not free.
  return (
    value instanceof Error ||
    (typeof value.stack === 'string' && Object.prototype.toString.call(value) === '[object Error]')
  );
}

function errorAsEntry(error: Error & LogEntry): LogEntry {
  return { ...error, message: error.message, stack: error.stack };
}

/** winston's entry for an uncaught exception or an unhandled rejection. */
function isCrash(entry: LogEntry): boolean {
  return entry.exception === true || entry.rejection === true;
}

/**
 * A winston transport that keeps log entries and mails them in batches, over an SMTP connection
 * that is always encrypted, or through any nodemailer transporter.
 */
export class BufferedMailTransport extends TransportStream implements ExitAware {
  private readonly settings: ResolvedOptions;
  private readonly buffer: BatchBuffer<LogEntry>;
  private readonly mailer: Mailer;
  private readonly delivery: Delivery;
  private readonly spool: Spool | undefined;
  private readonly secrets: readonly string[];
  private readonly clock: Clock;
  private readonly hostname = hostname();
  private readonly counters = {
    entriesLogged: 0,
    entriesMailed: 0,
    mailsSent: 0,
    retries: 0,
    mailsGivenUp: 0,
    entriesGivenUp: 0,
    entriesDropped: 0,
    mailsSpooled: 0,
    entriesSpooled: 0,
    entriesFromSpool: 0,
  };
  private readonly timed: boolean;
  private intervalTimer: TimerHandle | undefined;
  private watchingExit = false;
  private overflowReported = false;
  private exitFlush: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: BufferedMailTransportOptions) {
    const settings = resolveOptions(options);
    super({
      format: options.format ?? defaultLineFormat(),
      ...(options.level !== undefined && { level: options.level }),
      ...(options.silent !== undefined && { silent: options.silent }),
      ...(options.handleExceptions !== undefined && { handleExceptions: options.handleExceptions }),
      ...(options.handleRejections !== undefined && { handleRejections: options.handleRejections }),
    });
    this.settings = settings;
    this.clock = settings.clock ?? systemClock;
    this.timed = settings.flushIntervalMs !== undefined;
    this.secrets = secretForms(settings.smtp);
    this.buffer = new BatchBuffer({
      capacity: settings.capacity,
      mode: settings.mode,
      flushIntervalMs: settings.flushIntervalMs,
      isTrigger: (entry) => isCrash(entry) || this.reachesFlushLevel(entry),
    });
    this.mailer = createMailer(settings);
    const spoolDir = settings.spoolDir;
    this.spool =
      spoolDir === undefined ? undefined : new Spool(spoolDir, (error) => this.warn(error, 0, 'Spool', 'ESPOOL'));
    this.delivery = new Delivery({
      mailer: this.mailer,
      clock: this.clock,
      retry: settings.retry,
      rateLimit: settings.rateLimit,
      mergeLimit: Math.min(settings.maxBufferedEntries, 10 * settings.capacity),
      compose: (batch, notices, dropped) => this.composeMail(batch, notices, dropped),
      composeSpooled: (mail) => ({
        ...this.envelope(mail.subject, mail.text),
        ...(mail.html !== undefined && { html: mail.html }),
        ...(mail.attachments !== undefined && { attachments: [...mail.attachments] }),
      }),
      report: {
        delivered: (job, count, messageId) => this.onDelivered(job, count, messageId),
        retrying: () => this.counters.retries++,
        failed: (job, count, error, exhausted) => this.onFailed(job, count, error, exhausted),
      },
      // Mails kept by an earlier run go first; read once listeners had a chance to attach.
      ready: this.spool ? nextTurn().then(() => this.resendSpooled()) : undefined,
    });
    if (this.spool) this.startWatchingExit();
    if (settings.flushLevel !== undefined) {
      this.once('pipe', () => this.checkFlushLevel());
    }
  }

  override on(event: 'mail', listener: (info: MailSentInfo) => void): this;
  override on(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  override on(event: 'logged', listener: (info: LogEntry) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  override once(event: 'mail', listener: (info: MailSentInfo) => void): this;
  override once(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  override once(event: 'logged', listener: (info: LogEntry) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  // `logger.error(new Error('x'))` hands winston the Error itself; its message and stack are not
  // enumerable, so the copy the base class makes before the format would lose them.
  override _write(info: LogEntry, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    super._write(isError(info) ? errorAsEntry(info) : info, encoding, callback);
  }

  override _writev(
    chunks: Array<{ chunk: LogEntry; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const entries = chunks.map((write) =>
      isError(write.chunk) ? { ...write, chunk: errorAsEntry(write.chunk) } : write,
    );
    super._writev?.(entries, callback);
  }

  override log(info: LogEntry, next: () => void): void {
    // winston's `exceptionHandlers` hand entries to log() directly, without the transport's format.
    const entry = typeof info[MESSAGE] === 'string' || !this.format ? info : this.applyFormat(info);
    this.counters.entriesLogged++;
    const wasEmpty = this.buffer.size === 0;
    // The time matters only to the interval; Date.now() is not free on the logging path.
    const batch = this.buffer.push(entry, this.timed ? this.clock.now() : 0);
    if (batch) {
      this.stopIntervalTimer();
      this.delivery.submit(batch, isCrash(entry));
    } else if (wasEmpty && this.timed) {
      this.startIntervalTimer();
    }
    if (this.buffer.size + this.delivery.pendingEntries > this.settings.maxBufferedEntries) this.dropOverflow();
    if (!this.watchingExit && this.settings.flushOnExit && !this.closing) this.startWatchingExit();
    if (this.listenerCount('logged') > 0) this.emit('logged', info);
    next();
  }

  /**
   * Hands what is buffered to delivery and resolves once every mail handed over so far has been
   * accepted by the server or given up on. Never rejects: failures are reported as `'warn'`.
   * In `'context'` mode, entries without a `flushLevel` entry after them stay in the ring.
   */
  async flush(): Promise<void> {
    await this.handOver();
    await this.delivery.settled();
  }

  /**
   * Delivers what is buffered (within `closeTimeoutMs`), then closes the connection or the
   * transporter. Idempotent: later calls return the same promise. winston calls it when the
   * transport is removed from a logger.
   */
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- winston ignores the promise; callers who await it get the flush
  override close(): Promise<void> {
    this.closing ??= this.deliverWithin(this.settings.closeTimeoutMs).then(() => {
      this.stopWatchingExit();
      this.stopIntervalTimer();
      this.mailer.close();
    });
    return this.closing;
  }

  /** Counters since the transport was created. */
  stats(): TransportStats {
    return {
      ...this.counters,
      entriesContextDiscarded: this.buffer.evicted,
      entriesPending: this.buffer.size + this.delivery.pendingEntries,
    };
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.deliverWithin(this.settings.closeTimeoutMs).then(() => callback(), callback);
  }

  /** @internal The process is about to end on its own. */
  flushBeforeExit(): void {
    if (this.exitFlush || !this.settings.flushOnExit) return;
    if (this.buffer.flushableSize === 0 && this.delivery.pending === 0) return;
    this.exitFlush = this.deliverWithin(this.settings.closeTimeoutMs).finally(() => {
      this.exitFlush = undefined;
    });
  }

  /** @internal The process is exiting: keep in the spool, or at least count, what is left. */
  onExit(): void {
    const leftover = this.buffer.takeForFlush();
    if (leftover.length > 0) this.delivery.submit(leftover);
    const jobs = this.delivery.abandon();
    this.giveUpAtShutdown(jobs, 'EEXIT', 'before the process exited');
  }

  private async handOver(): Promise<void> {
    await nextTurn();
    const batch = this.buffer.takeForFlush();
    if (batch.length > 0) {
      this.stopIntervalTimer();
      this.delivery.submit(batch);
    }
  }

  /** Flushes, and gives up what is not delivered after `timeoutMs`, spooling or counting it. */
  private async deliverWithin(timeoutMs: number): Promise<void> {
    await this.handOver();
    this.buffer.discardContext();
    this.delivery.beginClosing();
    let timer: TimerHandle | undefined;
    const timedOut = await Promise.race([
      this.delivery.settled().then(() => false),
      new Promise<boolean>((resolve) => {
        // Kept alive on purpose: this wait is what lets a process deliver before it ends.
        timer = this.clock.setTimeout(() => resolve(true), timeoutMs, true);
      }),
    ]);
    this.clock.clearTimeout(timer);
    if (timedOut) {
      this.giveUpAtShutdown(this.delivery.abandon(), 'ECLOSETIMEOUT', `within \`closeTimeoutMs\` (${timeoutMs} ms)`);
    }
  }

  private giveUpAtShutdown(jobs: Job[], code: string, when: string): void {
    let spooled = 0;
    let lost = 0;
    for (const job of jobs) {
      if (job.spooled) {
        this.spool?.release(job.spooled);
        continue;
      }
      const count = jobSize(job);
      if (count === 0) continue;
      if (this.spoolJob(job)) spooled += count;
      else {
        lost += count;
        this.counters.mailsGivenUp++;
        this.counters.entriesGivenUp += count;
      }
    }
    const notDelivered = (count: number) =>
      `${entryCount(count)} ${count === 1 ? 'was' : 'were'} not delivered ${when}`;
    if (spooled > 0) {
      this.warn(
        new Error(`${notDelivered(spooled)}; kept in \`spoolDir\` for the next start`),
        spooled,
        'Spooled',
        code,
      );
    }
    if (lost > 0) this.warn(new Error(notDelivered(lost)), lost, 'Gave up delivery', code);
  }

  /** Writes a job's mails to the spool; false when there is no spool or they could not be written. */
  private spoolJob(job: Job): boolean {
    if (!this.spool) return false;
    const dropped = this.delivery.takeDropped();
    const notices = dropped.count > 0 ? [dropNotice(dropped)] : [];
    const mails = this.composeMail(liveEntries(job), notices, dropped.count);
    for (const { message, count } of mails) {
      const { subject, text, html, attachments } = message;
      const mail: SpooledMail = {
        subject,
        text,
        count,
        ...(html !== undefined && { html }),
        ...(attachments && { attachments }),
      };
      if (this.spool.write(mail) === undefined) {
        this.delivery.noteDropped(dropped);
        return false;
      }
      this.counters.mailsSpooled++;
      this.counters.entriesSpooled += count;
    }
    return true;
  }

  private resendSpooled(): void {
    const mails = this.spool?.claimAll() ?? [];
    if (mails.length > 0) this.delivery.submitSpooled(mails);
  }

  private onDelivered(job: Job, count: number, messageId: string | undefined): void {
    this.counters.mailsSent++;
    if (job.spooled) {
      this.spool?.remove(job.spooled);
      this.counters.entriesFromSpool += count;
    } else {
      this.counters.entriesMailed += count;
    }
    this.overflowReported = false;
    this.emit('mail', { count, messageId } satisfies MailSentInfo);
  }

  private onFailed(job: Job, count: number, error: unknown, exhausted: boolean): void {
    if (job.spooled) {
      this.spool?.release(job.spooled);
      this.warn(
        error,
        count,
        `Could not mail ${entryCount(count)} kept from an earlier run; they stay in \`spoolDir\``,
      );
      return;
    }
    if (exhausted && this.spoolJob(job)) {
      this.warn(
        error,
        count,
        `Could not mail ${entryCount(count)} after ${this.settings.retry.attempts} tries; kept in \`spoolDir\` for the next start`,
      );
      return;
    }
    this.counters.mailsGivenUp++;
    this.counters.entriesGivenUp += count;
    const tries = exhausted ? ` after ${this.settings.retry.attempts} tries` : '';
    this.warn(error, count, `Could not mail ${entryCount(count)}${tries}`);
  }

  /** Keeps memory bounded: drops the oldest waiting entries, counts them, and says so once. */
  private dropOverflow(): void {
    const excess = this.buffer.size + this.delivery.pendingEntries - this.settings.maxBufferedEntries;
    const summary: DropSummary = this.delivery.dropOldest(excess);
    if (summary.count < excess) {
      const fromBuffer = this.buffer.dropOldest(excess - summary.count);
      summary.first ??= timestampOf(fromBuffer[0]);
      summary.last = timestampOf(fromBuffer[fromBuffer.length - 1]) ?? summary.last;
      summary.count += fromBuffer.length;
    }
    if (summary.count === 0) return;
    this.counters.entriesDropped += summary.count;
    this.delivery.noteDropped(summary);
    if (!this.overflowReported) {
      this.overflowReported = true;
      const error = new Error(
        `\`maxBufferedEntries\` (${this.settings.maxBufferedEntries}) reached while mail cannot be sent: the oldest waiting entries are being dropped; the next mail says how many`,
      );
      this.warn(error, summary.count, 'Dropping log entries', 'EOVERFLOW');
    }
  }

  private startWatchingExit(): void {
    this.watchingExit = true;
    watchExit(this);
  }

  private stopWatchingExit(): void {
    this.watchingExit = false;
    unwatchExit(this);
  }

  private startIntervalTimer(): void {
    const dueAt = this.buffer.dueAt;
    if (dueAt === undefined) return;
    this.intervalTimer = this.clock.setTimeout(
      () => {
        this.intervalTimer = undefined;
        const batch = this.buffer.takeDue(this.clock.now());
        if (batch) this.delivery.submit(batch);
        else this.startIntervalTimer();
      },
      Math.max(0, dueAt - this.clock.now()),
    );
  }

  private stopIntervalTimer(): void {
    if (this.intervalTimer === undefined) return;
    this.clock.clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
  }

  private get levelTable(): Readonly<Record<string, number>> {
    const levels = (this as { levels?: Record<string, number> }).levels;
    return levels ?? NPM_LEVELS;
  }

  private reachesFlushLevel(entry: LogEntry): boolean {
    const { flushLevel } = this.settings;
    if (flushLevel === undefined) return false;
    const levels = this.levelTable;
    const severity = levels[levelOf(entry)];
    const threshold = levels[flushLevel];
    return severity !== undefined && threshold !== undefined && severity <= threshold;
  }

  private checkFlushLevel(): void {
    const levels = this.levelTable;
    const { flushLevel } = this.settings;
    if (flushLevel !== undefined && !(flushLevel in levels)) {
      throw new RangeError(
        `Expected \`flushLevel\` to be one of the logger's levels (${Object.keys(levels).join(', ')}), got \`${JSON.stringify(flushLevel)}\``,
      );
    }
  }

  private applyFormat(info: LogEntry): LogEntry {
    const format = this.format;
    if (!format) return info;
    try {
      const transformed = format.transform({ ...info }, format.options);
      return typeof transformed === 'object' ? transformed : info;
    } catch {
      return info;
    }
  }

  private envelope(subject: string, text: string): MailMessage {
    const { from, to, cc, bcc } = this.settings;
    return {
      from,
      to: [...to],
      ...(cc.length > 0 && { cc: [...cc] }),
      ...(bcc.length > 0 && { bcc: [...bcc] }),
      subject,
      text,
    };
  }

  private composeMail(batch: LogEntry[], notices: readonly string[], dropped: number): ComposedMail[] {
    const { subject, html, attachJson, maxLineBytes, maxMailBytes } = this.settings;
    const mails = renderBatch(batch, {
      ...(subject !== undefined && { subject }),
      hostname: this.hostname,
      levels: this.levelTable,
      html,
      attachJson,
      maxLineBytes,
      maxMailBytes,
      notices,
      dropped,
      onSubjectError: (error) => this.warn(error, batch.length, 'Used the default subject'),
    });
    return mails.map(({ count, subject: mailSubject, text, html: htmlPart, attachments }) => ({
      count,
      message: {
        ...this.envelope(mailSubject, text),
        ...(htmlPart !== undefined && { html: htmlPart }),
        ...(attachments !== undefined && { attachments }),
      },
    }));
  }

  // Delivery problems are 'warn', never 'error': winston re-emits a transport's 'error' on the
  // logger, and an 'error' event nobody listens to terminates the application.
  private warn(error: unknown, count: number, context: string, code?: string): void {
    const warning = sanitizeError(error, this.secrets, context, this.settings.smtp !== undefined) as DeliveryWarning;
    if (code !== undefined) warning.code = code;
    warning.count = count;
    this.emit('warn', warning);
  }
}
