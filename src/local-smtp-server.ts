import type { ParsedMail } from 'mailparser';
import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { loadTestingPeers } from './testing-peers';

/** A mail as the local server received it. */
export interface ReceivedMail {
  /** The raw message as it arrived. */
  raw: Buffer;
  /** The message parsed by mailparser. */
  parsed: ParsedMail;
  /** The envelope sender and recipients. */
  envelope: { from: string | false; to: string[] };
  /** Whether the session was encrypted when the mail was sent. */
  secure: boolean;
  /** The negotiated TLS protocol, e.g. `TLSv1.3`. */
  tlsProtocol: string | undefined;
  /** The authenticated user, if any. */
  user: string | undefined;
}

/** One AUTH command, successful or not. */
export interface AuthAttempt {
  username: string | undefined;
  secure: boolean;
  accepted: boolean;
  /** The access token offered, for an XOAUTH2 login. */
  accessToken?: string;
}

export interface LocalSmtpServerOptions {
  /** Port to listen on. @default 0 (any free port) */
  port?: number;
  /** Cut the connection in the middle of the first `dropDuringData` DATA transfers. @default 0 */
  dropDuringData?: number;
  /** Refuse bigger messages with `552`, as a relay with a size limit does. @default no limit */
  maxMessageBytes?: number;
  /** Key and certificate to use instead of generating them. */
  certificate?: { key: string; cert: string };
  /** Accepted credentials. @default { user: 'demo', pass: <random> } */
  credentials?: { user: string; pass: string };
  /** SASL mechanisms offered; add `'XOAUTH2'` for OAuth2 logins. @default ['PLAIN', 'LOGIN'] */
  authMethods?: string[];
  /** Access tokens an XOAUTH2 login of `credentials.user` may present. @default none */
  acceptTokens?: readonly string[];
  /**
   * How a refused token is answered: `'challenge'`, a `334` with an error and then `535`, as Gmail
   * does (nodemailer then asks for a renewed token on the same connection); `'reply'`, a `535` at
   * once, as Microsoft 365 does.
   * @default 'challenge'
   */
  tokenRefusal?: 'challenge' | 'reply';
  /** Extra smtp-server options that override the secure defaults, to make the server misbehave. */
  serverOptions?: Partial<SMTPServerOptions>;
}

/** An SMTP server on 127.0.0.1 that requires STARTTLS and AUTH, with a certificate made at start. */
export interface LocalSmtpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The server's self-signed certificate (PEM): trust it through `tls.ca`. */
  readonly ca: string;
  readonly credentials: { user: string; pass: string };
  readonly mails: ReceivedMail[];
  readonly authAttempts: AuthAttempt[];
  /** Resolves once `count` mails have arrived. */
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** A fresh self-signed certificate for 127.0.0.1 and localhost, valid for a day. */
export async function generateCertificate(): Promise<{ key: string; cert: string }> {
  const { generate } = loadTestingPeers().selfsigned;
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function tlsProtocolOf(session: SMTPServerSession): string | undefined {
  const options = session.tlsOptions as { version?: string; standardName?: string } | false;
  return options ? options.version : undefined;
}

/** Starts the server on an ephemeral port of 127.0.0.1. */
export async function startLocalSmtpServer(options: LocalSmtpServerOptions = {}): Promise<LocalSmtpServer> {
  const { smtpServer, mailparser } = loadTestingPeers();
  const { SMTPServer } = smtpServer;
  const { simpleParser } = mailparser;
  const { key, cert } = options.certificate ?? (await generateCertificate());
  const credentials = options.credentials ?? { user: 'demo', pass: `demo-${Math.random().toString(36).slice(2)}` };
  const mails: ReceivedMail[] = [];
  const authAttempts: AuthAttempt[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  const sockets = new Map<number, import('node:net').Socket>();
  let dropsLeft = options.dropDuringData ?? 0;

  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, session, callback) {
      if (auth.method === 'XOAUTH2') {
        const token = auth.accessToken ?? '';
        const accepted = auth.username === credentials.user && (options.acceptTokens ?? []).includes(token);
        authAttempts.push({ username: auth.username, secure: session.secure, accepted, accessToken: token });
        if (accepted) {
          callback(null, { user: auth.username });
        } else if (options.tokenRefusal === 'reply') {
          const error = new Error('5.7.3 Authentication unsuccessful') as Error & { responseCode: number };
          error.responseCode = 535;
          callback(error);
        } else {
          callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
        }
        return;
      }
      const accepted = auth.username === credentials.user && auth.password === credentials.pass;
      authAttempts.push({ username: auth.username, secure: session.secure, accepted });
      if (!accepted) {
        const error = new Error('Invalid username or password') as Error & { responseCode: number };
        error.responseCode = 535;
        callback(error);
        return;
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      if (dropsLeft > 0) {
        dropsLeft--;
        stream.once('data', () => sockets.get(session.remotePort)?.destroy());
        stream.resume();
        return;
      }
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        if (options.maxMessageBytes !== undefined && raw.length > options.maxMessageBytes) {
          const error = new Error('Message exceeds fixed maximum message size') as Error & { responseCode: number };
          error.responseCode = 552;
          callback(error);
          return;
        }
        simpleParser(raw).then(
          (parsed) => {
            mails.push({
              raw,
              parsed,
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : false,
                to: session.envelope.rcptTo.map((recipient) => recipient.address),
              },
              secure: session.secure,
              tlsProtocol: tlsProtocolOf(session),
              user: typeof session.user === 'string' ? session.user : undefined,
            });
            callback();
            notify();
          },
          (error: Error) => callback(error),
        );
      });
    },
    ...options.serverOptions,
  });
  server.on('error', () => undefined);
  server.server.on('connection', (socket: import('node:net').Socket) => {
    const port = socket.remotePort;
    if (port === undefined) return;
    sockets.set(port, socket);
    socket.once('close', () => sockets.delete(port));
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('The SMTP server has no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    ca: cert,
    credentials,
    mails,
    authAttempts,
    waitForMails(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (mails.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(mails.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`Expected ${count} mails, received ${mails.length} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
