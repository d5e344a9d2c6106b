import nodemailer from 'nodemailer';
import type { SMTPPoolOptions, Transporter, XOAuth2Options, XOAuth2Token } from 'nodemailer';
import type {
  AccessTokenProvider,
  MailMessage,
  MailTransporter,
  PartEncodings,
  ResolvedSmtpOptions,
  SmtpAuth,
} from '../options';
import { createAbortError, readFailure, type SmtpError, type TlsMode } from './errors';
import { streamedContent } from './streamed-content';

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
   * `encodings` names how the text and HTML parts are encoded, when the renderer measured them.
   * `onWritten` is called once the whole message is on its way to the server, while its answer is
   * awaited; with a user's transporter, which cannot tell, on the turn after it was called.
   */
  send(message: MailMessage, encodings?: PartEncodings, onWritten?: () => void): Promise<SentInfo>;
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
  /**
   * Connects, upgrades with STARTTLS, checks the certificate and logs in, without sending mail;
   * calls a user's transporter's `verify()` when it has one. Rejects with the transporter's error.
   */
  verify(): Promise<void>;
}

/** nodemailer's hook for obtaining an access token: `(user, renew, callback(error, token))`. */
type XOAuth2ProvisionCallback = NonNullable<XOAuth2Options['provisionCallback']>;

/** Where the access tokens obtained while a mailer runs are told, before they are used. */
export interface TokenWatcher {
  addAccessToken(user: string, token: string): void;
}

/** The error code of an access token that could not be obtained, as nodemailer names it. */
const TOKEN_ERROR_CODE = 'EOAUTH2';

// What nodemailer's XOAUTH2 sends the server: a token with a control character would break it.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function describeToken(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string with control characters';
  return value === null ? '`null`' : `a value of type ${typeof value}`;
}

function tokenError(message: string): SmtpError {
  const error: SmtpError = new Error(message);
  error.code = TOKEN_ERROR_CODE;
  return error;
}

/**
 * Turns an `accessToken` function into nodemailer's `provisionCallback`, which nodemailer calls for
 * each new connection (`renew: false`) and again when the server answers a token with a challenge
 * (`renew: true`). A server that refuses with a plain `535` is retried by the mailer, which asks
 * for the next token to be renewed.
 */
class TokenSource {
  readonly #provide: AccessTokenProvider;
  readonly #watcher: TokenWatcher | undefined;
  #renewNext = false;
  #renewals = 0;

  constructor(provide: AccessTokenProvider, watcher: TokenWatcher | undefined) {
    this.#provide = provide;
    this.#watcher = watcher;
  }

  /** How many renewed tokens were asked for so far. */
  get renewals(): number {
    return this.#renewals;
  }

  /** The next token asked for is a renewed one. */
  renewNextToken(): void {
    this.#renewNext = true;
  }

  readonly provision: XOAuth2ProvisionCallback = (user, renew, callback) => {
    const renewNow = renew || this.#renewNext;
    this.#renewNext = false;
    if (renewNow) this.#renewals++;
    Promise.resolve()
      .then(() => this.#provide({ user, renew: renewNow }))
      .then(
        (token: unknown): [Error | null, string | undefined] => {
          if (typeof token !== 'string' || token === '' || CONTROL_CHARACTERS.test(token)) {
            return [
              tokenError(`\`smtp.auth.accessToken\` returned ${describeToken(token)}, not an access token`),
              undefined,
            ];
          }
          this.#watcher?.addAccessToken(user, token);
          return [null, token];
        },
        (error: unknown): [Error | null, string | undefined] => {
          const { message } = readFailure(error);
          return [tokenError(`\`smtp.auth.accessToken\` failed: ${message}`), undefined];
        },
      )
      .then(([error, token]) => callback(error, token))
      // nodemailer's callback does not throw; if it ever did, the connection would time out,
      // which is reported, whereas a rejection left unhandled here would end the host process.
      .catch(() => undefined);
  };
}

/** The `auth` option of nodemailer for these credentials. */
function nodemailerAuth(auth: SmtpAuth, provision: XOAuth2ProvisionCallback | undefined): SMTPPoolOptions['auth'] {
  if (auth.type !== 'OAuth2') return { user: auth.user, pass: auth.pass };
  if (typeof auth.accessToken === 'function') {
    const provide = auth.accessToken;
    return {
      type: 'OAuth2',
      user: auth.user,
      provisionCallback: provision ?? new TokenSource(provide, undefined).provision,
    };
  }
  // The string token, the refresh-token and the service-account forms are nodemailer's own.
  return { ...auth, accessToken: auth.accessToken };
}

/**
 * The nodemailer options that make STARTTLS mandatory and certificates verified. With an
 * `accessToken` function, `provisionCallback` is what nodemailer calls for each token.
 */
export function smtpTransportOptions(
  smtp: ResolvedSmtpOptions,
  provisionCallback?: XOAuth2ProvisionCallback,
): SMTPPoolOptions {
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
    ...(smtp.auth && { auth: nodemailerAuth(smtp.auth, provisionCallback) }),
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

// A hook that throws in a later turn would end the host process; what it prepares is prepared
// again when its turn comes.
function callSafely(hook: () => void): void {
  try {
    hook();
  } catch {
    // Nothing was sent by it, nothing is lost.
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

// A server that refuses a token with a plain 535, without the challenge after which nodemailer
// asks for a new one itself.
function isRefusedToken(error: unknown): boolean {
  const { code, command, responseCode } = readFailure(error);
  return code === 'EAUTH' && command === 'AUTH XOAUTH2' && responseCode === 535;
}

class SmtpMailer implements Mailer {
  #transporter: Transporter | undefined;
  readonly #sends = new SendsInProgress();
  readonly #options: SMTPPoolOptions;
  readonly #tlsMode: TlsMode;
  readonly #tokens: TokenSource | undefined;
  readonly #watcher: TokenWatcher | undefined;
  /** What to call once a message is written, by the signal of its send. */
  readonly #onWritten = new WeakMap<AbortSignal, () => void>();

  constructor(smtp: ResolvedSmtpOptions, watcher: TokenWatcher | undefined) {
    const auth = smtp.auth;
    this.#tokens =
      auth?.type === 'OAuth2' && typeof auth.accessToken === 'function'
        ? new TokenSource(auth.accessToken, watcher)
        : undefined;
    this.#watcher = watcher;
    this.#options = smtpTransportOptions(smtp, this.#tokens?.provision);
    this.#tlsMode = smtp.secure ? 'implicit' : 'starttls';
  }

  send(message: MailMessage, encodings?: PartEncodings, onWritten?: () => void): Promise<SentInfo> {
    const transporter = (this.#transporter ??= this.#createTransporter());
    return this.#sends.run(
      // The signal makes nodemailer's pool drop the message from its queue, or close the
      // connection that is sending it.
      (signal) => {
        if (onWritten) {
          // Kept for the send's second try with a renewed token, called for the first message written.
          let called = false;
          this.#onWritten.set(signal, () => {
            if (called) return;
            called = true;
            callSafely(onWritten);
          });
        }
        return this.#renewingToken(
          () => transporter.sendMail({ ...streamedContent(message, encodings), signal }),
          signal,
        ).then(infoOf);
      },
      'Message sending aborted: the connection was closed',
    );
  }

  verify(): Promise<void> {
    // nodemailer skips the login when the server offers no AUTH, and would send without it: the
    // check logs in regardless, so that it reveals that instead of passing.
    const transporter = this.#createTransporter({ ...this.#options, forceAuth: this.#options.auth !== undefined });
    return this.#sends
      .run(
        (signal) => this.#renewingToken(() => transporter.verify(), signal).then(() => undefined),
        'Verification aborted: the connection was closed',
      )
      .finally(() => transporter.close());
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

  /** Runs `attempt` once more, with a renewed token, when the server refused a token nodemailer did not renew. */
  async #renewingToken<T>(attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const tokens = this.#tokens;
    const renewalsBefore = tokens?.renewals ?? 0;
    try {
      return await attempt();
    } catch (error) {
      if (!tokens || tokens.renewals !== renewalsBefore || signal.aborted || !isRefusedToken(error)) {
        throw withTlsMode(error, this.#tlsMode);
      }
    }
    tokens.renewNextToken();
    try {
      return await attempt();
    } catch (error) {
      throw withTlsMode(error, this.#tlsMode);
    }
  }

  #createTransporter(options: SMTPPoolOptions = this.#options): Transporter {
    const transporter = nodemailer.createTransport(options);
    // Tells when a message has been written in full: the time to prepare the next one.
    transporter.use('stream', (mail, done) => {
      try {
        const signal = mail.data.signal;
        const onWritten = signal && this.#onWritten.get(signal);
        if (onWritten) {
          mail.message.processFunc((output) => {
            // The connection writes the final dot in this turn, then waits for the answer.
            output.once('end', () => setImmediate(onWritten));
            return output;
          });
        }
      } catch {
        // The next mail is then prepared when its turn comes.
      }
      done();
    });
    // A failure of the pool also fails the sendMail() it belongs to, which is where it is reported;
    // left without a listener, this event would crash the process.
    transporter.on('error', () => undefined);
    // Tokens nodemailer obtains itself, from a refresh token or for a service account.
    transporter.on('token', (token: XOAuth2Token) => {
      if (typeof token.user === 'string' && typeof token.accessToken === 'string') {
        this.#watcher?.addAccessToken(token.user, token.accessToken);
      }
    });
    return transporter;
  }
}

class CustomMailer implements Mailer {
  readonly #transporter: MailTransporter;
  readonly #sends = new SendsInProgress();

  constructor(transporter: MailTransporter) {
    this.#transporter = transporter;
  }

  send(message: MailMessage, _encodings?: PartEncodings, onWritten?: () => void): Promise<SentInfo> {
    return this.#sends.run(() => {
      const sent = Promise.resolve(this.#transporter.sendMail(message)).then(infoOf);
      if (onWritten) {
        let failed = false;
        sent.catch(() => {
          failed = true;
        });
        // A send that has already failed has nothing on its way.
        setImmediate(() => {
          if (!failed) callSafely(onWritten);
        });
      }
      return sent;
    }, 'Message sending aborted: the transporter may still send it');
  }

  // The user's transporter has no means to stop a send: abandoning the promise is all there is.
  abort(): void {
    this.#sends.abortAll();
  }

  release(): void {}

  verify(): Promise<void> {
    return this.#sends.run(async () => {
      if (typeof this.#transporter.verify === 'function') await this.#transporter.verify();
    }, 'Verification aborted: the transporter was closed');
  }

  // The transporter is the user's: the transport may be used again after close() (winston closes
  // a transport it removes), so closing it is left to its owner.
  close(): void {
    this.abort();
  }
}

/**
 * The mailer for a transport: an SMTP pool with TLS enforced, or the user's own transporter.
 * `watcher` is told each OAuth2 access token obtained, before it is used.
 */
export function createMailer(
  options: { smtp?: ResolvedSmtpOptions; transporter?: MailTransporter },
  watcher?: TokenWatcher,
): Mailer {
  if (options.transporter) return new CustomMailer(options.transporter);
  if (!options.smtp) throw new TypeError('Expected `smtp` or `transporter`');
  return new SmtpMailer(options.smtp, watcher);
}
