import nodemailer from 'nodemailer';
import type { SMTPPoolOptions, Transporter } from 'nodemailer';
import type { MailMessage, MailTransporter, ResolvedSmtpOptions } from '../options';
import { createAbortError, type SmtpError, type TlsMode } from './errors';

/** What the server said about an accepted message. */
export interface SentInfo {
  /** The Message-ID the message was sent with, when the transporter reports one. */
  messageId?: string;
}

/** Sends the mails of one transport; the only place that knows about nodemailer. */
export interface Mailer {
  /**
   * Sends one message; resolves once the server accepted it. Rejects with the transporter's
   * error, or with an `EABORT` error (see `isAborted`) when `abort()` or `close()` ended it.
   */
  send(message: MailMessage): Promise<SentInfo>;
  /**
   * Ends every send in progress at once: each rejects with `EABORT`, and an SMTP connection
   * carrying one is destroyed on the spot (no QUIT, no waiting for the server), so nothing more of
   * its message is written. A message whose last byte had already reached the server may still be
   * accepted by it. The mailer stays usable: the next `send()` opens a new connection.
   * A user's transporter cannot be stopped: its send rejects at once, but it may still deliver.
   */
  abort(): void;
  /** Called when no mail is waiting: lets go of the connection so that it keeps no process alive. */
  release(): void;
  /** Called once, when the transport closes: aborts what is in progress and lets go of everything. */
  close(): void;
}

/** The nodemailer options that make STARTTLS mandatory and certificates verified. */
export function smtpTransportOptions(smtp: ResolvedSmtpOptions): SMTPPoolOptions {
  return {
    pool: true,
    // One conversation at a time keeps mails in log order; the pool reuses it across batches.
    maxConnections: 1,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // Without this, nodemailer sends the credentials and the mail in clear text to a server that
    // does not offer STARTTLS.
    requireTLS: !smtp.secure,
    ignoreTLS: false,
    opportunisticTLS: false,
    ...(smtp.auth && { auth: { user: smtp.auth.user, pass: smtp.auth.pass } }),
    ...(smtp.name !== undefined && { name: smtp.name }),
    tls: {
      rejectUnauthorized: smtp.tls?.rejectUnauthorized ?? true,
      minVersion: smtp.tls?.minVersion ?? 'TLSv1.2',
      ...(smtp.tls?.ca !== undefined && { ca: smtp.tls.ca }),
      ...(smtp.tls?.servername !== undefined && { servername: smtp.tls.servername }),
    },
    connectionTimeout: smtp.connectionTimeoutMs,
    greetingTimeout: smtp.greetingTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs,
    // Closing destroys the socket instead of ending it and waiting up to 5 s for the server to
    // close its side: an aborted message loses the bytes still buffered (its final dot among
    // them), and a closed mailer leaves no socket behind to keep the process alive.
    socketCloseTimeout: 0,
    logger: false,
    debug: false,
  };
}

/** The sends in progress, each with the means to end it. */
class SendsInProgress {
  readonly #controllers = new Set<AbortController>();

  /** Runs one send; it rejects with `EABORT` as soon as `abortAll()` is called, whatever `start` does. */
  run<T>(start: (signal: AbortSignal) => PromiseLike<T>, abortMessage: string): Promise<T> {
    const controller = new AbortController();
    this.#controllers.add(controller);
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(createAbortError(abortMessage)), { once: true });
    });
    // A transporter that throws instead of rejecting is treated the same way; one aborted before
    // it was called is not called at all.
    const sent = Promise.resolve().then(() => (controller.signal.aborted ? aborted : start(controller.signal)));
    return Promise.race([sent, aborted]).finally(() => this.#controllers.delete(controller));
  }

  abortAll(): void {
    const controllers = [...this.#controllers];
    this.#controllers.clear();
    for (const controller of controllers) controller.abort();
  }
}

function infoOf(info: unknown): SentInfo {
  if (typeof info !== 'object' || info === null) return {};
  try {
    const { messageId } = info as { messageId?: unknown };
    return typeof messageId === 'string' ? { messageId } : {};
  } catch {
    return {};
  }
}

// nodemailer's errors do not say how the connection was to be secured, yet a greeting that never
// comes means something else on a plain connection (see describeFailure).
function withTlsMode(error: unknown, tlsMode: TlsMode): unknown {
  try {
    if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
      (error as SmtpError).tlsMode = tlsMode;
    }
  } catch {
    // An error that cannot take the property is passed on as it was.
  }
  return error;
}

class SmtpMailer implements Mailer {
  #transporter: Transporter | undefined;
  readonly #sends = new SendsInProgress();
  readonly #options: SMTPPoolOptions;
  readonly #tlsMode: TlsMode;

  constructor(options: SMTPPoolOptions) {
    this.#options = options;
    this.#tlsMode = options.secure === true ? 'implicit' : 'starttls';
  }

  send(message: MailMessage): Promise<SentInfo> {
    const transporter = (this.#transporter ??= this.#createTransporter());
    return this.#sends.run(
      // The signal makes nodemailer's pool drop the message from its queue, or close the
      // connection that is sending it.
      (signal) =>
        transporter.sendMail({ ...message, signal }).then(infoOf, (error: unknown) => {
          throw withTlsMode(error, this.#tlsMode);
        }),
      'Message sending aborted: the connection was closed',
    );
  }

  abort(): void {
    this.#sends.abortAll();
  }

  release(): void {
    this.#transporter?.close();
    this.#transporter = undefined;
  }

  close(): void {
    this.abort();
    this.#transporter?.close({ force: true });
    this.#transporter = undefined;
  }

  #createTransporter(): Transporter {
    const transporter = nodemailer.createTransport(this.#options);
    // A failure of the pool also fails the sendMail() it belongs to, which is where it is reported;
    // left without a listener, this event would crash the process.
    transporter.on('error', () => undefined);
    return transporter;
  }
}

class CustomMailer implements Mailer {
  readonly #transporter: MailTransporter;
  readonly #sends = new SendsInProgress();

  constructor(transporter: MailTransporter) {
    this.#transporter = transporter;
  }

  send(message: MailMessage): Promise<SentInfo> {
    return this.#sends.run(
      () => Promise.resolve(this.#transporter.sendMail(message)).then(infoOf),
      'Message sending aborted: the transporter may still send it',
    );
  }

  // The user's transporter has no means to stop a send: abandoning the promise is all there is.
  abort(): void {
    this.#sends.abortAll();
  }

  release(): void {}

  close(): void {
    this.abort();
    try {
      this.#transporter.close?.();
    } catch {
      // A transporter that fails to close has nothing more to lose; the transport is closing.
    }
  }
}

/** The mailer for a transport: an SMTP pool with TLS enforced, or the user's own transporter. */
export function createMailer(options: { smtp?: ResolvedSmtpOptions; transporter?: MailTransporter }): Mailer {
  if (options.transporter) return new CustomMailer(options.transporter);
  if (!options.smtp) throw new TypeError('Expected `smtp` or `transporter`');
  return new SmtpMailer(smtpTransportOptions(options.smtp));
}
