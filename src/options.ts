import type { SecureVersion } from 'node:tls';
import type { Format, TransformableInfo } from 'logform';
import type { Clock } from './clock';
import { describeValue, expected } from './describe-value';
import { resolveRedaction, type Redaction, type RedactOption } from './capture/redact';
import { resolveHeaders } from './mail/headers';
import { resolveContext, type ContextOption } from './render/context';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MAIL_BYTES } from './render/limits';
import type { Fingerprint } from './render/fingerprint';
import { rejectUnknownKeys } from './option-keys';
import type { SharedStore } from './store/store';

/** A log entry as the transport received it, after its `format` ran. */
export type LogEntry = TransformableInfo;

/** The write-ahead journal: see the `journal` option. */
export interface JournalOptions {
  /**
   * `'never'`: the journal survives the death of the process (the operating system still writes
   * it). `'turn'`: each turn's write is also flushed to the disk, which survives a power cut, at a
   * cost measured in the benchmarks.
   * @default 'never'
   */
  fsync?: 'never' | 'turn';
  /**
   * The most the journal holds for entries not yet retired, in bytes; entries beyond are mailed
   * from memory without the journal's protection, counted in `stats().entriesNotJournaled`.
   * @default 16777216 (16 MiB; recovering a full journal at start holds the event loop for about a second)
   */
  maxJournalBytes?: number;
}

/** The re-notification window: see the `renotify` option. */
export interface RenotifyOptions {
  /**
   * How long the repeats of a problem that just mailed wait, in milliseconds.
   * @default 300000 (5 minutes)
   */
  delayMs?: number;
  /**
   * The longest the wait grows to while the problem keeps repeating, in milliseconds.
   * @default 14400000 (4 hours)
   */
  maxDelayMs?: number;
}

/** TLS settings for the SMTP connection; certificates are always verified unless said otherwise. */
export interface SmtpTlsOptions {
  /** Extra certificate authorities to trust (PEM), for a relay with a private CA. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Host name to verify the server certificate against, when it differs from `host`. */
  servername?: string;
  /**
   * Set to `false` only for a server whose certificate cannot be verified; it exposes the
   * credentials and the log content to anyone on the path.
   * @default true
   */
  rejectUnauthorized?: boolean;
  /**
   * Lowest TLS version accepted.
   * @default 'TLSv1.2'
   */
  minVersion?: SecureVersion;
}

/** Credentials for SMTP AUTH with a password (PLAIN or LOGIN). */
export interface SmtpPasswordAuth {
  /** Absent for a password login. */
  type?: undefined;
  user: string;
  pass: string;
}

/** What a function given as `smtp.auth.accessToken` is asked for. */
export interface AccessTokenRequest {
  /** The mailbox the token is for: `smtp.auth.user`. */
  readonly user: string;
  /** `true` when the server refused the last token: return a new one, not one from a cache. */
  readonly renew: boolean;
}

/**
 * Returns an OAuth2 access token for SMTP, e.g. from `@azure/msal-node`'s client-credentials
 * flow, a Google service account or a vault. Called for each new connection; cache in it.
 */
export type AccessTokenProvider = (request: AccessTokenRequest) => Promise<string>;

/** SMTP AUTH XOAUTH2 with an access token that you obtain. */
export interface SmtpOAuth2TokenAuth {
  type: 'OAuth2';
  /** The mailbox to log in as. */
  user: string;
  /**
   * The access token, or a function that returns one: called with `renew: false` for each new
   * connection, and once more with `renew: true` when the server refuses the token (`535`).
   */
  accessToken: string | AccessTokenProvider;
}

/** Fields shared by the OAuth2 logins whose tokens nodemailer obtains itself. */
interface SmtpOAuth2ManagedAuth {
  type: 'OAuth2';
  /** The mailbox to log in as. */
  user: string;
  /** An access token to use until `expires`; nodemailer obtains the next ones. */
  accessToken?: string;
  /** When `accessToken` expires, in milliseconds since the epoch. */
  expires?: number;
  /**
   * The token endpoint nodemailer asks for new tokens, over HTTPS.
   * @default 'https://accounts.google.com/o/oauth2/token'
   */
  accessUrl?: string;
}

/** SMTP AUTH XOAUTH2 with tokens that nodemailer obtains from a refresh token (OAuth2 web-app flow). */
export interface SmtpOAuth2RefreshAuth extends SmtpOAuth2ManagedAuth {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** SMTP AUTH XOAUTH2 with tokens that nodemailer obtains for a Google service account (domain-wide delegation). */
export interface SmtpOAuth2ServiceAuth extends SmtpOAuth2ManagedAuth {
  /** The service account's client ID. */
  serviceClient: string;
  /** The service account's private key, PEM. */
  privateKey: string;
}

/** SMTP AUTH XOAUTH2, in one of three forms: your token, a refresh token, or a Google service account. */
export type SmtpOAuth2Auth = SmtpOAuth2TokenAuth | SmtpOAuth2RefreshAuth | SmtpOAuth2ServiceAuth;

/** Credentials for SMTP AUTH: a password, or OAuth2 (`type: 'OAuth2'`). */
export type SmtpAuth = SmtpPasswordAuth | SmtpOAuth2Auth;

/** How to reach an SMTP server. */
export interface SmtpOptions {
  /** Host name or IP address of the SMTP server. */
  host: string;
  /**
   * TCP port of the SMTP server.
   * @default 587
   */
  port?: number;
  /**
   * `true` for implicit TLS (usually port 465); `false` for a plain connection that must be
   * upgraded with STARTTLS before anything else is sent.
   * @default false
   */
  secure?: boolean;
  /** Credentials for SMTP AUTH, a password or OAuth2; only ever sent over TLS. */
  auth?: SmtpAuth;
  /** TLS settings. */
  tls?: SmtpTlsOptions;
  /**
   * How long to wait for the TCP connection, in milliseconds.
   * @default 10000
   */
  connectionTimeoutMs?: number;
  /**
   * How long to wait for the server greeting once connected, in milliseconds.
   * @default 10000
   */
  greetingTimeoutMs?: number;
  /**
   * How long a connection may stay silent during a conversation, in milliseconds.
   * @default 60000
   */
  socketTimeoutMs?: number;
  /**
   * Host name announced in EHLO.
   * @default os.hostname()
   */
  name?: string;
}

/** The message handed to a transporter: the fields nodemailer's `sendMail` understands. */
export interface MailMessage {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
  /** `Auto-Submitted`, the thread's headers and the `headers` option, as nodemailer takes them. */
  headers?: Record<string, string>;
  /** From the most severe level: `'high'` for `error` and worse. */
  priority?: 'high' | 'normal' | 'low';
  /** Our own Message-ID, so that later mails of the same conversation can refer to it. */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
}

/** How a text part of a mail is encoded when sent. */
export type TransferEncoding = '7bit' | 'quoted-printable' | 'base64';

/** The encodings of a mail's text and HTML parts, as the renderer measured them. */
export interface PartEncodings {
  text: TransferEncoding;
  html?: TransferEncoding;
}

/** A file attached to a mail. */
export interface MailAttachment {
  filename: string;
  content: string;
  contentType: string;
}

/** Anything that sends a message the way a nodemailer transporter does. */
export interface MailTransporter {
  sendMail(message: MailMessage): Promise<{ messageId?: string }>;
  close?(): void;
  /** Checks the connection and the credentials without sending, as nodemailer's `verify()` does. */
  verify?(): Promise<unknown>;
}

/** What a `subject` function is given. */
export interface MailBatch {
  /** The entries of this mail, in log order. */
  readonly entries: readonly LogEntry[];
  /** The number of entries. */
  readonly count: number;
  /** The host name of the machine that logged them. */
  readonly hostname: string;
  /** The most severe level in the batch, as the logger names it. */
  readonly level: string;
  /** The first line of the first most severe message, cut to 80 characters. */
  readonly first: string;
  /** When the first and the last entry were logged, as their timestamps say; '' when they have none. */
  readonly since: string;
  readonly until: string;
  /** Entries dropped before this mail (see `maxBufferedEntries`), announced at its top. */
  readonly dropped: number;
  /** This mail's number when the batch is split by `maxMailBytes`, and the number of parts. */
  readonly part: number;
  readonly parts: number;
  /** The first line of the most severe, most frequent kind of entry (its fingerprint) in the batch. */
  readonly top: string;
  /** How many entries of that kind the batch holds. */
  readonly topCount: number;
  /** How many kinds of entries the batch holds. */
  readonly kinds: number;
}

/** The tokens a `subject` template may use. */
export const SUBJECT_TOKENS = [
  'count',
  'level',
  'first',
  'hostname',
  'since',
  'until',
  'dropped',
  'top',
  'topCount',
] as const;

/** Retries of transient delivery failures. */
export interface RetryOptions {
  /**
   * Tries in all, the first one included.
   * @default 5
   */
  attempts?: number;
  /**
   * Wait before the first retry, in milliseconds; it doubles at each retry.
   * @default 1000
   */
  minDelayMs?: number;
  /**
   * The longest wait between two tries, in milliseconds.
   * @default 60000
   */
  maxDelayMs?: number;
}

/** A bound on the number of mails in a sliding window of time. */
export interface RateLimitOptions {
  /** Mails allowed in the window. */
  mails: number;
  /** Length of the window, in milliseconds. */
  perMs: number;
}

/** Options of `new BufferedMailTransport(options)`. */
export interface BufferedMailTransportOptions {
  /** The SMTP server to send through. Exactly one of `smtp` and `transporter`. */
  smtp?: SmtpOptions;
  /**
   * Any nodemailer transporter (SES, sendmail, a pooled relay...), used instead of `smtp`.
   * It stays yours: the transport never closes it.
   */
  transporter?: MailTransporter;
  /** Sender address, e.g. `'App <app@example.com>'`. */
  from: string;
  /** Recipient address or addresses. */
  to: string | string[];
  /** Copy recipients. */
  cc?: string | string[];
  /** Blind copy recipients. */
  bcc?: string | string[];
  /**
   * Subject of each mail: a template with the tokens `{count}`, `{level}` (the most severe,
   * upper-case), `{first}` (its first line), `{hostname}`, `{since}`, `{until}` and `{dropped}`,
   * or a function of the batch. Always reduced to one line of at most 200 characters.
   * @default '[{level}] {count} log entries from {hostname}: {first}'
   */
  subject?: string | ((batch: MailBatch) => string);
  /**
   * Names the problem an entry belongs to: entries with the same fingerprint are counted together
   * in a mail's summary, their repeats collapse, and `renotify` holds them back. Return a
   * non-empty string; when the function throws or returns anything else, the default is used and
   * a `'warn'` says so once.
   * @default the level, the message with numbers, ids, addresses, times and quoted values
   * replaced, and for an error its name and the first frame of its stack
   */
  fingerprint?: Fingerprint;
  /**
   * What is replaced by `[redacted]` in each entry before anything leaves the process (the mail's
   * text, HTML and NDJSON, the spool, the journal). By default the usual secret keys at any depth
   * (password, secret, token, accessToken, apiKey, authorization, cookie, privateKey and their
   * spellings with `-` or `_`). `{ keys, patterns, replaceDefaults, censor, replacer }` adds key
   * names or dotted paths, patterns of text, or a function; `false` turns redaction off.
   * @default true
   */
  redact?: RedactOption;
  /**
   * Fields each mail shows about where it comes from, after the host, pid, application, Node.js
   * version, uptime and memory it always shows: e.g. `{ region: 'eu-west-1', commit: 'a1b2c3d' }`.
   * @default {}
   */
  context?: ContextOption;
  /**
   * Headers added to each mail, e.g. `{ 'X-Service': 'orders' }`. Values must be one line; the
   * addressing, subject, threading and MIME headers cannot be set here.
   * @default {}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Add a text/html alternative: counts per level, the time range, and a table of the entries.
   * @default false
   */
  html?: boolean;
  /**
   * Attach the batch as NDJSON, one JSON object per entry with all its meta.
   * @default false
   */
  attachJson?: boolean;
  /**
   * The longest line, in bytes (UTF-8); a longer one is cut and marked with its original size.
   * @default 8192
   */
  maxLineBytes?: number;
  /**
   * The largest mail, in bytes as sent; a bigger batch is split into parts, in order, whose
   * subjects end with `(part 2/3)`.
   * @default 4194304 (4 MiB)
   */
  maxMailBytes?: number;
  /**
   * Entries per mail: when the buffer holds this many, they are mailed together.
   * @default 100
   */
  capacity?: number;
  /**
   * The longest an entry waits before it is mailed, in milliseconds, counted from the oldest
   * entry waiting. The timer never keeps the process alive.
   * @default undefined (no time limit)
   */
  flushIntervalMs?: number;
  /**
   * An entry at or above this severity, judged by the logger's own levels, makes the buffer go
   * out at once, that entry included; `false` for no level trigger. The repeats of a problem that
   * just mailed wait for the next mail instead: see `renotify`. With a logger whose levels have
   * no `'error'`, the default means no level trigger.
   * @default 'error'
   */
  flushLevel?: string | false;
  /**
   * Re-notification: after an entry of `flushLevel` mailed at once, the repeats of the same
   * problem (the same fingerprint) do not mail at once; they wait in the buffer, counted and
   * grouped, and go out as one mail when a window ends. The window starts at `delayMs`, doubles
   * while the problem keeps repeating, up to `maxDelayMs`, and closes after a window without a
   * repeat. `false`: every `flushLevel` entry mails at once (within `rateLimit`).
   * @default { delayMs: 300000, maxDelayMs: 14400000 } (5 minutes, growing to 4 hours)
   */
  renotify?: false | RenotifyOptions;
  /**
   * `'batch'`: entries wait for `capacity`, `flushLevel` or `flushIntervalMs`.
   * `'context'`: only the last `capacity` entries are kept, and they are mailed only when a
   * `flushLevel` entry arrives: the `capacity - 1` entries before it, then the entry itself.
   * @default 'batch'
   */
  mode?: 'batch' | 'context';
  /**
   * Deliver what is buffered when the process ends on its own without `logger.end()`,
   * `close()` or `flush()`. The process is kept alive only for that, at most `closeTimeoutMs`.
   * @default true
   */
  flushOnExit?: boolean;
  /**
   * The longest `logger.end()`, `close()` and the exit handling wait for delivery, in
   * milliseconds; what is still undelivered then is reported in a `'warn'`.
   * @default 10000
   */
  closeTimeoutMs?: number;
  /**
   * How a transient failure (network error, timeout, dropped connection, any 4xx reply) is
   * retried: `attempts` tries in all, waiting from `minDelayMs` doubling up to `maxDelayMs`, with
   * jitter. Permanent failures (5xx, refused login, TLS policy) are never retried. `false`: one try.
   * @default { attempts: 5, minDelayMs: 1000, maxDelayMs: 60000 }
   */
  retry?: RetryOptions | false;
  /**
   * The most memory held by entries waiting in the buffer and in mails not yet delivered, in
   * bytes, estimated from each entry's rendered line. Beyond it the oldest waiting entries (never
   * those of the mail being sent) are dropped, counted, reported in one `'warn'` (`EOVERFLOW`)
   * per episode, and announced by the next mail.
   * @default 67108864 (64 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * An optional bound in entries on the same, for those who prefer to count entries; both apply.
   * @default undefined (only `maxBufferedBytes`)
   */
  maxBufferedEntries?: number;
  /**
   * At most `mails` mails per `perMs` milliseconds. Batches due while the window is full are
   * merged into one mail when it opens. A crash mail and the mail sent at shutdown are not held
   * back. `false`: no limit.
   * @default { mails: 20, perMs: 60000 }
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * A folder where mails that could not be delivered (retries exhausted, or still undelivered
   * when `closeTimeoutMs` ran out or the process exited) are written, one file per mail, and sent
   * first by the next transport that uses the folder.
   * @default undefined (no spooling)
   */
  spoolDir?: string;
  /**
   * A write-ahead journal in `spoolDir`: each accepted entry is written to disk within the
   * event-loop turn that logged it (a crash entry at once), and retired once its mail is accepted,
   * spooled, given up or dropped. A process killed with `SIGKILL`, by the OOM killer or a
   * container's grace period loses at most the entries of the turn in progress: the next start
   * mails the rest first, saying so. `true` for the defaults. Requires `spoolDir`.
   * @default false
   */
  journal?: boolean | JournalOptions;
  /**
   * State shared by the transports of a fleet, such as the replicas of a service:
   * `new RedisStore({ url })` from `winston-buffered-mail/redis`. Those with the same group (by
   * default, the same recipients) share `rateLimit`, and `renotify` per problem: the first to
   * see a problem mails it, the others hold theirs as repeats, and the next mail about it says
   * how often and on how many hosts it was seen. While the store cannot answer, each transport
   * keeps its own limits and says so once (`ESTORE`); no entry is lost for it.
   * @default undefined (each transport keeps its own)
   */
  store?: SharedStore;
  /**
   * logform format applied to each entry when it is logged.
   * @default defaultLineFormat()
   */
  format?: Format;
  /**
   * The source of time for `flushIntervalMs` and `closeTimeoutMs`, for tests that drive time
   * themselves. Its timers must not keep the process alive.
   * @default the system clock
   */
  clock?: Clock;
  /**
   * Most verbose level this transport accepts, one of the logger's levels; checked when the
   * transport is added to a logger.
   * @default the logger's level
   */
  level?: string;
  /** When true, the transport accepts nothing. */
  silent?: boolean;
  /** Mail uncaught exceptions too (winston's `handleExceptions`). */
  handleExceptions?: boolean;
  /** Mail unhandled rejections too (winston's `handleRejections`). */
  handleRejections?: boolean;
}

/** SMTP settings after validation and defaults. */
export type ResolvedSmtpOptions = Readonly<
  SmtpOptions & {
    port: number;
    secure: boolean;
    connectionTimeoutMs: number;
    greetingTimeoutMs: number;
    socketTimeoutMs: number;
  }
>;

/** Options after validation and defaults; frozen. */
export interface ResolvedOptions {
  readonly smtp?: ResolvedSmtpOptions;
  readonly transporter?: MailTransporter;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject?: string | ((batch: MailBatch) => string);
  readonly fingerprint: Fingerprint | undefined;
  readonly redaction: Redaction;
  readonly context: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly html: boolean;
  readonly attachJson: boolean;
  readonly maxLineBytes: number;
  readonly maxMailBytes: number;
  readonly capacity: number;
  readonly flushIntervalMs: number | undefined;
  readonly flushLevel: string | undefined;
  /** Whether `flushLevel` is the default, which a logger without that level turns off. */
  readonly flushLevelIsDefault: boolean;
  readonly renotify: Readonly<Required<RenotifyOptions>> | undefined;
  readonly mode: 'batch' | 'context';
  readonly flushOnExit: boolean;
  readonly closeTimeoutMs: number;
  readonly retry: Readonly<Required<RetryOptions>>;
  readonly maxBufferedBytes: number;
  readonly maxBufferedEntries: number | undefined;
  readonly rateLimit: Readonly<RateLimitOptions> | undefined;
  readonly spoolDir: string | undefined;
  readonly journal: Readonly<Required<JournalOptions>> | undefined;
  readonly store: SharedStore | undefined;
  readonly clock: Clock | undefined;
}

export { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MAIL_BYTES };
export const DEFAULT_CAPACITY = 100;
export const DEFAULT_FLUSH_LEVEL = 'error';
export const DEFAULT_MAX_JOURNAL_BYTES = 16 * 1024 * 1024;
export const DEFAULT_RENOTIFY_DELAY_MS = 5 * 60 * 1000;
export const DEFAULT_RENOTIFY_MAX_DELAY_MS = 4 * 60 * 60 * 1000;
// Room for the headers, the MIME structure and the notices of a mail.
export const MIN_MAIL_BYTES = 16 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = Object.freeze({
  attempts: 5,
  minDelayMs: 1000,
  maxDelayMs: 60_000,
});
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
export const MIN_BUFFERED_BYTES = 64 * 1024;
/** Node's timers overflow above this many milliseconds (about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = Object.freeze({ mails: 20, perMs: 60_000 });
export const DEFAULT_SMTP_PORT = 587;

// A string where the credentials belong may be `user:password` or a connection URL that holds them.
function expectedWithoutEcho(name: string, expectation: string, value: unknown): string {
  const got = typeof value === 'string' ? 'a string (not shown: it may hold a password)' : describeValue(value);
  return `Expected \`${name}\` to be ${expectation}, got ${got}`;
}

// Control characters in an address could end a header line early and start another one.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function resolveAddressList(name: string, value: unknown, required: boolean): string[] {
  if (value === undefined && !required) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || (required && list.length === 0)) {
    throw new TypeError(expected(name, 'an e-mail address or a non-empty array of them', value));
  }
  list.forEach((address: unknown, index) => {
    const label = Array.isArray(value) ? `${name}[${index}]` : name;
    resolveAddress(label, address);
  });
  return [...(list as string[])];
}

function resolveAddress(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || !value.includes('@')) {
    throw new TypeError(expected(name, 'an e-mail address', value));
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new TypeError(`Expected \`${name}\` to be an e-mail address without line breaks or control characters`);
  }
  return value;
}

function resolveInteger(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const expectation =
    max < Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 1
        ? 'a positive integer'
        : min > 1
          ? `an integer of at least ${min}`
          : 'a non-negative integer';
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(expected(name, expectation, value));
  }
  if (value < min || value > max) {
    throw new RangeError(expected(name, expectation, value));
  }
  return value;
}

function resolvePositiveInteger(name: string, value: unknown, fallback: number): number {
  return resolveInteger(name, value, 1, Number.MAX_SAFE_INTEGER, fallback);
}

/** A duration in milliseconds that a Node.js timer can wait for. */
function resolveDuration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const expectation = `a whole number of milliseconds from 1 to ${MAX_DURATION_MS} (about 24.8 days, the longest a Node.js timer waits)`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(expected(name, expectation, value));
  if (value < 1 || value > MAX_DURATION_MS) throw new RangeError(expected(name, expectation, value));
  return value;
}

function resolveBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(expected(name, 'a boolean', value));
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TLS_VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function resolveTls(value: unknown): SmtpTlsOptions | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new TypeError(expected('smtp.tls', 'an object', value));
  const { ca, servername, rejectUnauthorized, minVersion } = value;
  if (servername !== undefined && (typeof servername !== 'string' || servername === '')) {
    throw new TypeError(expected('smtp.tls.servername', 'a non-empty string', servername));
  }
  if (minVersion !== undefined && !TLS_VERSIONS.includes(minVersion as SecureVersion)) {
    throw new TypeError(expected('smtp.tls.minVersion', `one of ${TLS_VERSIONS.join(', ')}`, minVersion));
  }
  const isCa = (item: unknown) => typeof item === 'string' || Buffer.isBuffer(item);
  if (ca !== undefined && !isCa(ca) && !(Array.isArray(ca) && ca.every(isCa))) {
    throw new TypeError(expected('smtp.tls.ca', 'a PEM string, a Buffer or an array of them', ca));
  }
  return Object.freeze({
    ...(ca !== undefined && { ca }),
    ...(servername !== undefined && { servername }),
    rejectUnauthorized: resolveBoolean('smtp.tls.rejectUnauthorized', rejectUnauthorized, true),
    minVersion: (minVersion as SecureVersion | undefined) ?? 'TLSv1.2',
  });
}

// What a secret of the wrong kind is, without a word of its content.
function describeSecret(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string with control characters';
  if (value === null || value === undefined) return `\`${String(value)}\``;
  if (Array.isArray(value)) return 'an array';
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !CONTROL_CHARACTERS.test(value);
}

const ACCESS_TOKEN_EXPECTATION =
  'Expected `smtp.auth.accessToken` to be a non-empty string or a function `({ user, renew }) => Promise<string>`';
const OAUTH2_ALTERNATIVES =
  'or, for nodemailer to obtain the tokens, `refreshToken` with `clientId` and `clientSecret`, or `serviceClient` with `privateKey`';

function resolveSecretString(name: string, value: unknown, expectation = 'a non-empty string'): string {
  if (typeof value !== 'string' || value === '') {
    // The value is deliberately not echoed: it is a secret, even when it is of the wrong kind.
    throw new TypeError(`Expected \`${name}\` to be ${expectation}, got ${describeSecret(value)}`);
  }
  return value;
}

function resolveNonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new TypeError(expected(name, 'a non-empty string', value));
  return value;
}

function resolveAccessUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // The endpoint receives the client secret or the refresh token: never in clear text.
  if (typeof value !== 'string' || !URL.canParse(value) || new URL(value).protocol !== 'https:') {
    throw new TypeError(expectedWithoutEcho('smtp.auth.accessUrl', 'an https:// URL', value));
  }
  return value;
}

function resolveOAuth2(value: Record<string, unknown>): SmtpOAuth2Auth {
  const { user, pass, accessToken, clientId, clientSecret, refreshToken, serviceClient, privateKey } = value;
  if (typeof user !== 'string' || user.trim() === '') {
    throw new TypeError(expected('smtp.auth.user', 'a non-empty string', user));
  }
  // The user travels inside the XOAUTH2 string, whose fields are separated by a control character.
  if (CONTROL_CHARACTERS.test(user)) {
    throw new TypeError('Expected `smtp.auth.user` to be a mailbox without line breaks or control characters');
  }
  if (pass !== undefined) {
    throw new TypeError(
      "Expected no `smtp.auth.pass` with `smtp.auth.type: 'OAuth2'`, which logs in with `accessToken` instead",
    );
  }
  const refresh = refreshToken !== undefined || clientId !== undefined || clientSecret !== undefined;
  const service = serviceClient !== undefined || privateKey !== undefined;
  if (typeof accessToken === 'function') {
    if (refresh || service) {
      throw new TypeError(
        'Expected no `smtp.auth.refreshToken`, `clientId`, `clientSecret`, `serviceClient` or `privateKey` with a function as `smtp.auth.accessToken`, which obtains the tokens itself',
      );
    }
    return Object.freeze({ type: 'OAuth2', user, accessToken: accessToken as AccessTokenProvider });
  }
  if (accessToken !== undefined && !isToken(accessToken)) {
    throw new TypeError(`${ACCESS_TOKEN_EXPECTATION}, got ${describeSecret(accessToken)}`);
  }
  if (!refresh && !service) {
    if (accessToken === undefined)
      throw new TypeError(`${ACCESS_TOKEN_EXPECTATION} (${OAUTH2_ALTERNATIVES}), got \`undefined\``);
    return Object.freeze({ type: 'OAuth2', user, accessToken });
  }
  if (refresh && service) {
    throw new TypeError(
      'Expected either `smtp.auth.refreshToken` (with `clientId` and `clientSecret`) or `smtp.auth.serviceClient` (with `privateKey`), got both',
    );
  }
  const expires =
    value.expires === undefined
      ? undefined
      : resolveInteger('smtp.auth.expires', value.expires, 1, Number.MAX_SAFE_INTEGER, 0);
  const accessUrl = resolveAccessUrl(value.accessUrl);
  const managed = {
    type: 'OAuth2' as const,
    user,
    ...(accessToken !== undefined && { accessToken }),
    ...(expires !== undefined && { expires }),
    ...(accessUrl !== undefined && { accessUrl }),
  };
  if (refresh) {
    return Object.freeze({
      ...managed,
      clientId: resolveNonEmptyString('smtp.auth.clientId', clientId),
      clientSecret: resolveSecretString('smtp.auth.clientSecret', clientSecret),
      refreshToken: resolveSecretString('smtp.auth.refreshToken', refreshToken),
    });
  }
  return Object.freeze({
    ...managed,
    serviceClient: resolveNonEmptyString('smtp.auth.serviceClient', serviceClient),
    privateKey: resolveSecretString('smtp.auth.privateKey', privateKey, 'a PEM private key'),
  });
}

const OAUTH2_FIELDS = ['accessToken', 'refreshToken', 'clientSecret', 'serviceClient', 'privateKey'];

function resolveAuth(value: unknown): SmtpAuth | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    throw new TypeError(expectedWithoutEcho('smtp.auth', 'an object with `user` and `pass`', value));
  }
  const { type, user, pass } = value;
  if (type === 'OAuth2') return resolveOAuth2(value);
  if (type !== undefined) {
    throw new TypeError(expected('smtp.auth.type', "`'OAuth2'`, or absent for a login with `user` and `pass`", type));
  }
  const oauth2Field = OAUTH2_FIELDS.find((field) => value[field] !== undefined);
  if (oauth2Field !== undefined) {
    throw new TypeError(
      pass === undefined
        ? `Expected \`smtp.auth.type: 'OAuth2'\` with \`smtp.auth.${oauth2Field}\``
        : `Expected either \`smtp.auth.pass\` or \`smtp.auth.${oauth2Field}\` with \`smtp.auth.type: 'OAuth2'\`, got both`,
    );
  }
  if (typeof user !== 'string' || user === '') {
    throw new TypeError(expected('smtp.auth.user', 'a non-empty string', user));
  }
  if (typeof pass !== 'string' || pass === '') {
    // The value is deliberately not echoed: it is a secret, even when it is of the wrong type.
    throw new TypeError('Expected `smtp.auth.pass` to be a non-empty string');
  }
  return Object.freeze({ user, pass });
}

function resolveSmtp(value: unknown): ResolvedOptions['smtp'] {
  if (!isObject(value)) throw new TypeError(expectedWithoutEcho('smtp', 'an object with at least `host`', value));
  const { host, port, secure, auth, tls, connectionTimeoutMs, greetingTimeoutMs, socketTimeoutMs, name } = value;
  if (typeof host !== 'string' || host.trim() === '') {
    throw new TypeError(expected('smtp.host', 'a non-empty host name', host));
  }
  // A URL (`smtps://user:password@host`) would be repeated whole by every DNS error and warning.
  if (/[@/]/.test(host)) {
    throw new TypeError(expectedWithoutEcho('smtp.host', 'a host name or an IP address, not a URL', host));
  }
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || CONTROL_CHARACTERS.test(name))) {
    throw new TypeError(expected('smtp.name', 'a host name', name));
  }
  const resolvedAuth = resolveAuth(auth);
  const resolvedTls = resolveTls(tls);
  return Object.freeze({
    host,
    port: resolveInteger('smtp.port', port, 1, 65535, DEFAULT_SMTP_PORT),
    secure: resolveBoolean('smtp.secure', secure, false),
    ...(resolvedAuth && { auth: resolvedAuth }),
    ...(resolvedTls && { tls: resolvedTls }),
    ...(name !== undefined && { name }),
    connectionTimeoutMs: resolveDuration('smtp.connectionTimeoutMs', connectionTimeoutMs, 10_000),
    greetingTimeoutMs: resolveDuration('smtp.greetingTimeoutMs', greetingTimeoutMs, 10_000),
    socketTimeoutMs: resolveDuration('smtp.socketTimeoutMs', socketTimeoutMs, 60_000),
  });
}

function resolveRetry(value: unknown): Readonly<Required<RetryOptions>> {
  if (value === undefined) return DEFAULT_RETRY;
  if (value === false) return Object.freeze({ ...DEFAULT_RETRY, attempts: 1 });
  if (!isObject(value))
    throw new TypeError(expected('retry', 'an object with `attempts`, `minDelayMs`, `maxDelayMs`, or `false`', value));
  const attempts = resolvePositiveInteger('retry.attempts', value.attempts, DEFAULT_RETRY.attempts);
  const minDelayMs = resolveDuration('retry.minDelayMs', value.minDelayMs, DEFAULT_RETRY.minDelayMs);
  const maxDelayMs = resolveDuration(
    'retry.maxDelayMs',
    value.maxDelayMs,
    Math.max(minDelayMs, DEFAULT_RETRY.maxDelayMs),
  );
  if (maxDelayMs < minDelayMs) {
    throw new RangeError(expected('retry.maxDelayMs', `at least \`retry.minDelayMs\` (${minDelayMs})`, maxDelayMs));
  }
  return Object.freeze({ attempts, minDelayMs, maxDelayMs });
}

function resolveJournal(value: unknown, spoolDir: string | undefined): Readonly<Required<JournalOptions>> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && !isObject(value)) {
    throw new TypeError(expected('journal', '`true`, `false` or an object with `fsync` and `maxJournalBytes`', value));
  }
  if (spoolDir === undefined) {
    throw new TypeError('Expected `spoolDir` with `journal` (the journal is kept in that folder), got `undefined`');
  }
  const given = value === true ? {} : value;
  const fsync = given.fsync ?? 'never';
  if (fsync !== 'never' && fsync !== 'turn')
    throw new TypeError(expected('journal.fsync', "`'never'` or `'turn'`", fsync));
  const maxJournalBytes = resolveInteger(
    'journal.maxJournalBytes',
    given.maxJournalBytes,
    1024,
    Number.MAX_SAFE_INTEGER,
    DEFAULT_MAX_JOURNAL_BYTES,
  );
  return Object.freeze({ fsync, maxJournalBytes });
}

function resolveFunction<T>(name: string, value: T | undefined, expectation: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(expected(name, expectation, value));
  return value;
}

function resolveRenotify(value: unknown): Readonly<Required<RenotifyOptions>> | undefined {
  if (value === false) return undefined;
  if (value !== undefined && !isObject(value)) {
    throw new TypeError(expected('renotify', 'an object with `delayMs` and `maxDelayMs`, or `false`', value));
  }
  const delayMs = resolveDuration('renotify.delayMs', value?.delayMs, DEFAULT_RENOTIFY_DELAY_MS);
  const maxDelayMs = resolveDuration(
    'renotify.maxDelayMs',
    value?.maxDelayMs,
    Math.max(delayMs, DEFAULT_RENOTIFY_MAX_DELAY_MS),
  );
  if (delayMs === 0) throw new RangeError(expected('renotify.delayMs', 'at least 1 (or `renotify: false`)', delayMs));
  if (maxDelayMs < delayMs) {
    throw new RangeError(expected('renotify.maxDelayMs', `at least \`renotify.delayMs\` (${delayMs})`, maxDelayMs));
  }
  return Object.freeze({ delayMs, maxDelayMs });
}

function resolveRateLimit(value: unknown): Readonly<RateLimitOptions> | undefined {
  if (value === undefined) return DEFAULT_RATE_LIMIT;
  if (value === false) return undefined;
  if (!isObject(value))
    throw new TypeError(expected('rateLimit', 'an object with `mails` and `perMs`, or `false`', value));
  if (value.mails === undefined) throw new TypeError(expected('rateLimit.mails', 'a positive integer', value.mails));
  if (value.perMs === undefined) {
    throw new TypeError(expected('rateLimit.perMs', 'a whole number of milliseconds', value.perMs));
  }
  return Object.freeze({
    mails: resolvePositiveInteger('rateLimit.mails', value.mails, 0),
    perMs: resolveDuration('rateLimit.perMs', value.perMs, 0),
  });
}

function resolveStore(value: unknown): SharedStore | undefined {
  if (value === undefined) return undefined;
  const store = value as Partial<SharedStore>;
  if (!isObject(value) || typeof store.openGroup !== 'function' || typeof store.close !== 'function') {
    if (isObject(value) && typeof value.sendCommand === 'function') {
      throw new TypeError(
        "Expected `store` to be a shared store, got a Redis client: pass `new RedisStore({ client })` from 'winston-buffered-mail/redis'",
      );
    }
    throw new TypeError(
      expected('store', "a shared store such as `new RedisStore({ url })` from 'winston-buffered-mail/redis'", value),
    );
  }
  return store as SharedStore;
}

function resolveClock(value: unknown): Clock | undefined {
  if (value === undefined) return undefined;
  const clock = value as Partial<Clock>;
  if (
    !isObject(value) ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new TypeError(expected('clock', 'an object with `now()`, `setTimeout()` and `clearTimeout()`', value));
  }
  return value as unknown as Clock;
}

function resolveTransporter(value: unknown): MailTransporter {
  if (!isObject(value) || typeof value.sendMail !== 'function') {
    throw new TypeError(expected('transporter', 'an object with a `sendMail(message)` method', value));
  }
  return value as unknown as MailTransporter;
}

/**
 * Validates the options of a `BufferedMailTransport`, applies the defaults and returns them frozen.
 * Throws a `TypeError` or `RangeError` that names the option at fault, or a `TypeError` that names
 * an unknown key and the option probably meant; never echoes a password.
 */
export function resolveOptions(options: BufferedMailTransportOptions): ResolvedOptions {
  if (!isObject(options)) {
    throw new TypeError(expected('options', 'an object with `from`, `to` and `smtp` or `transporter`', options));
  }
  rejectUnknownKeys(options);
  const hasSmtp = options.smtp !== undefined;
  const hasTransporter = options.transporter !== undefined;
  if (hasSmtp === hasTransporter) {
    throw new TypeError(
      hasSmtp
        ? 'Expected exactly one of `smtp` and `transporter`, got both'
        : 'Expected exactly one of `smtp` (an SMTP server) and `transporter` (a nodemailer transporter), got neither',
    );
  }
  const { subject } = options;
  if (subject !== undefined && typeof subject !== 'string' && typeof subject !== 'function') {
    throw new TypeError(expected('subject', 'a string or a function of the batch', subject));
  }
  if (typeof subject === 'string') {
    for (const [, token] of subject.matchAll(/\{([^{}]*)\}/g)) {
      if (!(SUBJECT_TOKENS as readonly string[]).includes(token ?? '')) {
        throw new TypeError(
          `Expected \`subject\` to use only the tokens ${SUBJECT_TOKENS.map((name) => `{${name}}`).join(', ')}, got \`{${token}}\``,
        );
      }
    }
  }
  const maxLineBytes = resolvePositiveInteger('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  const maxMailBytes = resolvePositiveInteger('maxMailBytes', options.maxMailBytes, DEFAULT_MAX_MAIL_BYTES);
  if (maxMailBytes < MIN_MAIL_BYTES + 4 * maxLineBytes) {
    throw new RangeError(
      expected(
        'maxMailBytes',
        `at least ${MIN_MAIL_BYTES + 4 * maxLineBytes} (room for the headers and a few lines of \`maxLineBytes\`)`,
        maxMailBytes,
      ),
    );
  }
  const { level, mode = 'batch', flushIntervalMs } = options;
  const flushLevelIsDefault = options.flushLevel === undefined;
  const flushLevel = options.flushLevel === false ? undefined : (options.flushLevel ?? DEFAULT_FLUSH_LEVEL);
  if (typeof flushLevel !== 'string' && flushLevel !== undefined) {
    throw new TypeError(expected('flushLevel', 'a level name such as `error`, or `false`', flushLevel));
  }
  if (flushLevel === '') {
    throw new TypeError(expected('flushLevel', 'a level name such as `error`, or `false`', flushLevel));
  }
  // Checked against the logger's own levels once the transport is added to a logger.
  if (level !== undefined && (typeof level !== 'string' || level === '')) {
    throw new TypeError(expected('level', 'a level name such as `info`', level));
  }
  if (mode !== 'batch' && mode !== 'context') {
    throw new TypeError(expected('mode', "`'batch'` or `'context'`", mode));
  }
  if (mode === 'context' && flushLevel === undefined) {
    throw new TypeError(
      "Expected a `flushLevel` with `mode: 'context'` (the level that sends the context), got `false`",
    );
  }
  if (mode === 'context' && flushIntervalMs !== undefined) {
    throw new TypeError("Expected no `flushIntervalMs` with `mode: 'context'`, which mails only on `flushLevel`");
  }
  const capacity = resolvePositiveInteger('capacity', options.capacity, DEFAULT_CAPACITY);
  const maxBufferedBytes = resolveInteger(
    'maxBufferedBytes',
    options.maxBufferedBytes,
    MIN_BUFFERED_BYTES,
    Number.MAX_SAFE_INTEGER,
    DEFAULT_MAX_BUFFERED_BYTES,
  );
  const maxBufferedEntries =
    options.maxBufferedEntries === undefined
      ? undefined
      : resolvePositiveInteger('maxBufferedEntries', options.maxBufferedEntries, 0);
  if (maxBufferedEntries !== undefined && maxBufferedEntries < capacity) {
    throw new RangeError(expected('maxBufferedEntries', `at least \`capacity\` (${capacity})`, maxBufferedEntries));
  }
  const { spoolDir } = options;
  if (spoolDir !== undefined && (typeof spoolDir !== 'string' || spoolDir.trim() === '')) {
    throw new TypeError(expected('spoolDir', 'a folder path', spoolDir));
  }
  return Object.freeze({
    ...(hasSmtp && { smtp: resolveSmtp(options.smtp) }),
    ...(hasTransporter && { transporter: resolveTransporter(options.transporter) }),
    from: resolveAddress('from', options.from),
    to: Object.freeze(resolveAddressList('to', options.to, true)),
    cc: Object.freeze(resolveAddressList('cc', options.cc, false)),
    bcc: Object.freeze(resolveAddressList('bcc', options.bcc, false)),
    ...(subject !== undefined && { subject }),
    fingerprint: resolveFunction('fingerprint', options.fingerprint, 'a function of the entry that returns a string'),
    redaction: resolveRedaction(options.redact),
    context: resolveContext(options.context),
    headers: resolveHeaders(options.headers),
    html: resolveBoolean('html', options.html, false),
    attachJson: resolveBoolean('attachJson', options.attachJson, false),
    maxLineBytes,
    maxMailBytes,
    capacity,
    flushIntervalMs: flushIntervalMs === undefined ? undefined : resolveDuration('flushIntervalMs', flushIntervalMs, 0),
    flushLevel,
    flushLevelIsDefault,
    renotify: resolveRenotify(options.renotify),
    mode,
    flushOnExit: resolveBoolean('flushOnExit', options.flushOnExit, true),
    closeTimeoutMs: resolveDuration('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS),
    retry: resolveRetry(options.retry),
    maxBufferedBytes,
    maxBufferedEntries,
    rateLimit: resolveRateLimit(options.rateLimit),
    spoolDir,
    journal: resolveJournal(options.journal, spoolDir),
    store: resolveStore(options.store),
    clock: resolveClock(options.clock),
  });
}
