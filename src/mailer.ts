import nodemailer from 'nodemailer';
import type { SMTPPoolOptions, Transporter } from 'nodemailer';
import type { MailMessage, MailTransporter, ResolvedSmtpOptions } from './options';

/** Sends the mails of one transport; the only place that knows about nodemailer. */
export interface Mailer {
  send(message: MailMessage): Promise<{ messageId?: string }>;
  /** Called when no mail is waiting: lets go of the connection so that it keeps no process alive. */
  release(): void;
  /** Ends the conversation in progress at once. */
  abort(): void;
  /** Called once, when the transport closes. */
  close(): void;
}

/** An Error as nodemailer and smtp-server report them: a stable `code`, plus the SMTP reply. */
export interface SmtpError extends Error {
  code?: string;
  /** The underlying socket or TLS code, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ECONNREFUSED`. */
  originalCode?: string;
  responseCode?: number;
  command?: string;
  response?: string;
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
    logger: false,
    debug: false,
  };
}

/** Forms in which a password could appear in a server reply or an error: raw and SASL-encoded. */
export function secretForms(smtp: ResolvedSmtpOptions | undefined): string[] {
  const auth = smtp?.auth;
  if (!auth) return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [
    auth.pass,
    base64(auth.pass),
    base64(`\u0000${auth.user}\u0000${auth.pass}`),
    base64(`${auth.user}\u0000${auth.user}\u0000${auth.pass}`),
    encodeURIComponent(auth.pass),
  ].filter((form, index, all) => form.length > 0 && all.indexOf(form) === index);
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join('[redacted]'), text);
}

const CERTIFICATE_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/;
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
const REACH_HINT = 'check `smtp.host` and `smtp.port`, and that the server is reachable';

/** What the user can do about a failure, from nodemailer's code. */
function hintFor(error: SmtpError): string | undefined {
  if (error.originalCode !== undefined && CERTIFICATE_PROBLEM.test(error.originalCode)) {
    return 'the server certificate is not trusted: trust its certificate authority with `smtp.tls.ca`, or check `smtp.host` / `smtp.tls.servername`';
  }
  if (error.originalCode !== undefined && UNREACHABLE.has(error.originalCode)) return REACH_HINT;
  switch (error.code) {
    case 'ETLS':
      return 'the connection could not be upgraded with STARTTLS, so nothing was sent (use `smtp.secure: true` for a server that speaks TLS from the start, usually on port 465)';
    case 'EAUTH':
      return 'the server refused the login: check `smtp.auth.user` and `smtp.auth.pass`';
    case 'ECONNECTION':
    case 'ETIMEDOUT':
    case 'EDNS':
      return REACH_HINT;
    default:
      return undefined;
  }
}

function isErrorLike(value: unknown): value is SmtpError {
  // Not instanceof: errors raised by Node's own sockets may come from another realm.
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
}

/**
 * A copy of a delivery error that keeps `code`, `originalCode`, `responseCode`, `command` and
 * `response`, says which `smtp` option to check where that is known, and has every form of the password removed.
 */
export function sanitizeError(
  error: unknown,
  secrets: readonly string[],
  context: string,
  withSmtpHints: boolean,
): SmtpError {
  const source: SmtpError = isErrorLike(error) ? error : new Error(String(error));
  const hint = withSmtpHints ? hintFor(source) : undefined;
  const clean = new Error(redact(`${context}: ${source.message}${hint ? `; ${hint}` : ''}`, secrets)) as SmtpError;
  if (typeof source.code === 'string') clean.code = source.code;
  if (typeof source.originalCode === 'string') clean.originalCode = source.originalCode;
  if (typeof source.responseCode === 'number') clean.responseCode = source.responseCode;
  if (typeof source.command === 'string') clean.command = redact(source.command, secrets);
  if (typeof source.response === 'string') clean.response = redact(source.response, secrets);
  // The original stack points into nodemailer's socket handling, which helps nobody here.
  clean.stack = `${clean.name}: ${clean.message}`;
  return clean;
}

class SmtpMailer implements Mailer {
  private transporter: Transporter | undefined;

  constructor(private readonly options: SMTPPoolOptions) {}

  send(message: MailMessage): Promise<{ messageId?: string }> {
    this.transporter ??= this.createTransporter();
    return this.transporter.sendMail(message);
  }

  release(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }

  abort(): void {
    (this.transporter?.close as ((options?: { force?: boolean }) => void) | undefined)?.call(this.transporter, {
      force: true,
    });
    this.transporter = undefined;
  }

  close(): void {
    this.release();
  }

  private createTransporter(): Transporter {
    const transporter = nodemailer.createTransport(this.options);
    // A failure of the pool also fails the sendMail() it belongs to, which is where it is reported;
    // left without a listener, this event would crash the process.
    transporter.on('error', () => undefined);
    return transporter;
  }
}

class CustomMailer implements Mailer {
  constructor(private readonly transporter: MailTransporter) {}

  send(message: MailMessage): Promise<{ messageId?: string }> {
    // A transporter that throws instead of rejecting is treated the same way.
    return Promise.resolve().then(() => this.transporter.sendMail(message));
  }

  release(): void {}

  abort(): void {}

  close(): void {
    this.transporter.close?.();
  }
}

/** The mailer for a transport: an SMTP pool with TLS enforced, or the user's own transporter. */
export function createMailer(options: { smtp?: ResolvedSmtpOptions; transporter?: MailTransporter }): Mailer {
  if (options.transporter) return new CustomMailer(options.transporter);
  if (!options.smtp) throw new TypeError('Expected `smtp` or `transporter`');
  return new SmtpMailer(smtpTransportOptions(options.smtp));
}

/**
 * Whether the server or the connection refused us, rather than the message: a refused login, a
 * STARTTLS or certificate failure. Every later mail would meet the same refusal.
 */
export function isRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || isTransientFailure(error)) return false;
  const { code, originalCode } = error as SmtpError;
  return (
    code === 'EAUTH' || code === 'ETLS' || (typeof originalCode === 'string' && CERTIFICATE_PROBLEM.test(originalCode))
  );
}

const PERMANENT_CODES = new Set([
  'ETLS',
  'EREQUIRETLS',
  'ECONFIG',
  'ENOAUTH',
  'EOAUTH2',
  'EMAXRECIPIENTS',
  'EFILEACCESS',
  'EURLACCESS',
]);

/**
 * Whether a failure may go away by itself: network errors, timeouts, dropped connections and
 * 4xx replies. 5xx replies, refused logins, TLS policy and certificate failures will not.
 */
export function isTransientFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const { code, originalCode, responseCode } = error as SmtpError;
  if (typeof responseCode === 'number') return responseCode >= 400 && responseCode < 500;
  if (typeof originalCode === 'string' && CERTIFICATE_PROBLEM.test(originalCode)) return false;
  if (code === 'EAUTH') return false;
  return !(typeof code === 'string' && PERMANENT_CODES.has(code));
}
