import winston from 'winston';
import {
  BufferedMailTransport,
  type BufferedMailTransportOptions,
  type DeliveryWarning,
  type MailSentInfo,
  type SmtpOptions,
} from '../../src';
import {
  generateCertificate,
  startLocalSmtpServer,
  type LocalSmtpServer,
  type LocalSmtpServerOptions,
  type ReceivedMail,
} from '../../src/local-smtp-server';
import { deadPort } from './ports';

export { startLocalSmtpServer, type LocalSmtpServer, type ReceivedMail };

const servers: LocalSmtpServer[] = [];

/** Starts a server that requires STARTTLS and AUTH; it is closed after the test file. */
export async function startServer(options: LocalSmtpServerOptions = {}): Promise<LocalSmtpServer> {
  const server = await startLocalSmtpServer(options);
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A server that is not listening yet: its port, credentials and certificate, and how to start it. */
export async function futureServer(options: LocalSmtpServerOptions = {}) {
  const port = await deadPort();
  const certificate = await generateCertificate();
  const credentials = { user: 'demo', pass: 'future-secret' };
  const smtp: SmtpOptions = { host: '127.0.0.1', port, auth: credentials, tls: { ca: certificate.cert } };
  return {
    port,
    credentials,
    ca: certificate.cert,
    smtp,
    start: () => startServer({ ...options, port, credentials, certificate }),
  };
}

/** What a child process needs to reach a server (see fixtures/smtp-from-env.ts). */
export function childEnv(server: {
  port: number;
  ca: string;
  credentials: { user: string; pass: string };
}): Record<string, string> {
  return {
    WBM_PORT: String(server.port),
    WBM_CA: server.ca,
    WBM_USER: server.credentials.user,
    WBM_PASS: server.credentials.pass,
  };
}

/** Transport options that reach `server` securely, with its certificate trusted through `tls.ca`. */
export function optionsFor(
  server: LocalSmtpServer,
  overrides: Partial<BufferedMailTransportOptions> = {},
): BufferedMailTransportOptions {
  return {
    smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
    from: 'app@example.com',
    to: ['ops@example.com'],
    ...overrides,
  };
}

/**
 * A transport that records its 'mail' and 'warn' events, and counts its 'logged' events: `logged(n)`
 * resolves once the transport has taken `n` entries from winston.
 */
export function recordingTransport(options: BufferedMailTransportOptions) {
  const transport = new BufferedMailTransport(options);
  const sent: MailSentInfo[] = [];
  const warnings: DeliveryWarning[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  transport.on('mail', (info) => sent.push(info));
  transport.on('warn', (warning) => warnings.push(warning));
  transport.on('logged', () => {
    taken++;
    waiters.splice(0).forEach((wake) => wake());
  });
  const logged = (count: number): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (taken >= count ? resolve() : waiters.push(check));
      check();
    });
  return { transport, sent, warnings, logged };
}

export function createLogger(transport: BufferedMailTransport, options: winston.LoggerOptions = {}) {
  return winston.createLogger({ level: 'debug', ...options, transports: [transport] });
}

/** Ends the logger and resolves once the mail transport has finished (flushed). */
export function endLogger(logger: winston.Logger, transport: BufferedMailTransport): Promise<void> {
  return new Promise((resolve) => {
    transport.once('finish', () => resolve());
    logger.end();
  });
}

/** The text lines of a received mail's plain-text part. */
export function bodyLines(mail: ReceivedMail): string[] {
  const text = withoutFoot(mail.parsed.text ?? '');
  return text.split(/\r?\n/).filter((line, index, lines) => !(line === '' && index === lines.length - 1));
}

export /** The text of a mail before its foot: the block after the signature separator that says where the mail comes from. */
function withoutFoot(text: string): string {
  const foot = text.search(/\r?\n\r?\n-- \r?\n/);
  return foot === -1 ? text : text.slice(0, foot + 1);
}

/** A promise with its resolve function, to hold a server reply until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** The messages a mail carries: listed in its text, and collapsed into its NDJSON attachment. */
export function carriedMessages(mail: ReceivedMail): string[] {
  const lines = bodyLines(mail);
  const start = lines.indexOf('Log entries, in order:') + 1;
  const listed = lines
    .slice(start)
    .filter((line) => /^\S+Z [A-Z]+ +/.test(line))
    .map((line) => line.replace(/^\S+ \S+ +/, '').replace(/ \{.*\}$/, ''));
  const collapsed = mail.parsed.attachments
    .filter((attachment) => attachment.filename?.startsWith('collapsed-') === true)
    .flatMap((attachment) => attachment.content.toString('utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { message: string }).message);
  return [...listed, ...collapsed];
}
