import { hostname } from 'node:os';
import TransportStream from 'winston-transport';
import { BatchBuffer } from './buffer';
import { systemClock, type Clock, type TimerHandle } from './clock';
import { Delivery } from './delivery';
import { unwatchExit, watchExit, type ExitFlushable } from './exit-hook';
import { defaultLineFormat } from './line-format';
import { createMailer, sanitizeError, secretForms, type Mailer, type SmtpError } from './mailer';
import { resolveOptions, type BufferedMailTransportOptions, type LogEntry, type MailMessage, type ResolvedOptions } from './options';
import { renderSubject, renderText } from './render';

/** Sent with the `'mail'` event once the server accepted a mail. */
export interface MailSentInfo {
  /** The number of log entries in the mail. */
  count: number;
  /** The Message-ID the mail was sent with, when the transporter reports one. */
  messageId: string | undefined;
}

/**
 * Sent with the `'warn'` event when a mail could not be delivered, or was delivered with a
 * problem. Keeps nodemailer's `code` (`ETLS`, `EAUTH`, `ECONNECTION`, `ETIMEDOUT`...) and the
 * server's reply; never contains the password.
 */
export interface DeliveryWarning extends SmtpError {
  /** The number of log entries concerned. */
  count: number;
}

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

// winston's default levels, for a transport written to without a logger.
const NPM_LEVELS: Readonly<Record<string, number>> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

// Captured at load time so that fake timers installed later by a test runner do not stall flush().
const realSetImmediate = globalThis.setImmediate;
const nextMacrotask = () => new Promise<void>((resolve) => realSetImmediate(resolve));

/** winston's entry for an uncaught exception or an unhandled rejection. */
function isCrash(entry: LogEntry): boolean {
  return entry.exception === true || entry.rejection === true;
}

export interface BufferedMailTransport {
  on(event: 'mail', listener: (info: MailSentInfo) => void): this;
  on(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  on(event: 'logged', listener: (info: LogEntry) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'mail', listener: (info: MailSentInfo) => void): this;
  once(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  once(event: 'logged', listener: (info: LogEntry) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A winston transport that keeps log entries and mails them in batches, over an SMTP connection
 * that is always encrypted, or through any nodemailer transporter.
 */
export class BufferedMailTransport extends TransportStream implements ExitFlushable {
  private readonly settings: ResolvedOptions;
  private readonly buffer: BatchBuffer<LogEntry>;
  private readonly mailer: Mailer;
  private readonly delivery: Delivery;
  private readonly secrets: readonly string[];
  private readonly clock: Clock;
  private readonly hostname = hostname();
  private intervalTimer: TimerHandle | undefined;
  private watchingExit = false;
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
    this.clock = options.clock ?? systemClock;
    this.secrets = secretForms(settings.smtp);
    this.buffer = new BatchBuffer({
      capacity: settings.capacity,
      mode: settings.mode,
      flushIntervalMs: settings.flushIntervalMs,
      isTrigger: (entry) => isCrash(entry) || this.reachesFlushLevel(entry),
    });
    this.mailer = createMailer(settings);
    this.delivery = new Delivery(this.mailer, (entries) => this.composeMail(entries), {
      delivered: (count, messageId) => this.emit('mail', { count, messageId } satisfies MailSentInfo),
      failed: (error, count) => this.warn(error, count, `Could not mail ${count} log ${count === 1 ? 'entry' : 'entries'}`),
    });
    if (settings.flushLevel !== undefined) {
      this.once('pipe', () => this.checkFlushLevel());
    }
  }

  override log(info: LogEntry, next: () => void): void {
    // winston's `exceptionHandlers` hand entries to log() directly, without the transport's format.
    const entry = typeof info[MESSAGE] === 'string' || !this.format ? info : this.applyFormat(info);
    const wasEmpty = this.buffer.size === 0;
    const batch = this.buffer.push(entry, this.clock.now());
    if (batch) {
      this.stopIntervalTimer();
      this.delivery.submit(batch);
    } else if (wasEmpty) {
      this.startIntervalTimer();
    }
    if (!this.watchingExit && this.settings.flushOnExit && !this.closing) {
      this.watchingExit = true;
      watchExit(this);
    }
    this.emit('logged', info);
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
  override close(): Promise<void> {
    this.closing ??= this.deliverWithin(this.settings.closeTimeoutMs).then(() => {
      unwatchExit(this);
      this.watchingExit = false;
      this.stopIntervalTimer();
      this.mailer.close();
    });
    return this.closing;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.deliverWithin(this.settings.closeTimeoutMs).then(() => callback(), callback);
  }

  /** @internal Called by the exit hook when the process is about to end on its own. */
  flushBeforeExit(): void {
    if (this.exitFlush) return;
    if (this.buffer.flushableSize === 0 && this.delivery.pending === 0) return;
    this.exitFlush = this.deliverWithin(this.settings.closeTimeoutMs).finally(() => {
      this.exitFlush = undefined;
    });
  }

  private async handOver(): Promise<void> {
    // Entries logged in the same tick may still be travelling through winston's pipe.
    await nextMacrotask();
    const batch = this.buffer.takeForFlush();
    if (batch.length > 0) {
      this.stopIntervalTimer();
      this.delivery.submit(batch);
    }
  }

  /** Flushes, and gives up what is not delivered after `timeoutMs`, reporting its size. */
  private async deliverWithin(timeoutMs: number): Promise<void> {
    await this.handOver();
    let timer: TimerHandle | undefined;
    const timedOut = await Promise.race([
      this.delivery.settled().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = this.clock.setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    this.clock.clearTimeout(timer);
    if (!timedOut) return;
    const count = this.delivery.abandon();
    if (count === 0) return;
    const error = new Error(
      `${count} log ${count === 1 ? 'entry was' : 'entries were'} not delivered within \`closeTimeoutMs\` (${timeoutMs} ms)`,
    ) as SmtpError;
    error.code = 'ECLOSETIMEOUT';
    this.warn(error, count, 'Gave up delivery at shutdown');
  }

  private startIntervalTimer(): void {
    const dueAt = this.buffer.dueAt;
    if (dueAt === undefined) return;
    this.intervalTimer = this.clock.setTimeout(() => {
      this.intervalTimer = undefined;
      const batch = this.buffer.takeDue(this.clock.now());
      if (batch) this.delivery.submit(batch);
      else this.startIntervalTimer();
    }, Math.max(0, dueAt - this.clock.now()));
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
    const severity = levels[String(entry[LEVEL] ?? entry.level)];
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

  private composeMail(entries: LogEntry[]): MailMessage {
    const { from, to, cc, bcc, subject } = this.settings;
    const batch = { entries, count: entries.length, hostname: this.hostname };
    return {
      from,
      to: [...to],
      ...(cc.length > 0 && { cc: [...cc] }),
      ...(bcc.length > 0 && { bcc: [...bcc] }),
      subject: renderSubject(subject, batch, (error) => this.warn(error, entries.length, 'Used the default subject')),
      text: renderText(entries),
    };
  }

  // Delivery problems are 'warn', never 'error': winston re-emits a transport's 'error' on the
  // logger, and an 'error' event nobody listens to terminates the application.
  private warn(error: unknown, count: number, context: string): void {
    const warning = sanitizeError(error, this.secrets, context, this.settings.smtp !== undefined) as DeliveryWarning;
    warning.count = count;
    this.emit('warn', warning);
  }
}
