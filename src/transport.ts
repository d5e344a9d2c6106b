import { hostname } from 'node:os';
import TransportStream from 'winston-transport';
import { BatchBuffer } from './buffer';
import { Delivery } from './delivery';
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

// Captured at load time so that fake timers installed later by a test runner do not stall flush().
const realSetImmediate = globalThis.setImmediate;

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
 * A winston transport that keeps log entries and mails them in batches of `capacity`, over an
 * SMTP connection that is always encrypted, or through any nodemailer transporter.
 */
export class BufferedMailTransport extends TransportStream {
  private readonly settings: ResolvedOptions;
  private readonly buffer: BatchBuffer<LogEntry>;
  private readonly mailer: Mailer;
  private readonly delivery: Delivery;
  private readonly secrets: readonly string[];
  private readonly hostname = hostname();
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
    this.secrets = secretForms(settings.smtp);
    this.buffer = new BatchBuffer(settings.capacity);
    this.mailer = createMailer(settings);
    this.delivery = new Delivery(this.mailer, (entries) => this.composeMail(entries), {
      delivered: (count, messageId) => this.emit('mail', { count, messageId } satisfies MailSentInfo),
      failed: (error, count) => this.warn(error, count, `Could not mail ${count} log ${count === 1 ? 'entry' : 'entries'}`),
    });
  }

  override log(info: LogEntry, next: () => void): void {
    const batch = this.buffer.push(info);
    if (batch) this.delivery.submit(batch);
    this.emit('logged', info);
    next();
  }

  /**
   * Hands what is buffered to delivery and resolves once every mail handed over so far has been
   * accepted by the server or given up on. Never rejects: failures are reported as `'warn'`.
   */
  async flush(): Promise<void> {
    // Entries logged in the same tick may still be travelling through winston's pipe.
    await new Promise((resolve) => realSetImmediate(resolve));
    const batch = this.buffer.drain();
    if (batch.length > 0) this.delivery.submit(batch);
    await this.delivery.settled();
  }

  /**
   * Flushes, then closes the connection or the transporter. Idempotent: later calls return the
   * same promise. winston calls it when the transport is removed from a logger.
   */
  override close(): Promise<void> {
    this.closing ??= this.flush().then(() => this.mailer.close());
    return this.closing;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush().then(() => callback(), callback);
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
