import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { SMTPServerDataStream } from 'smtp-server';
import { createMailer, isAborted, isTransientFailure, type Mailer } from '../../src/mail';
import { resolveOptions, type MailMessage, type SmtpOptions } from '../../src/options';
import { gate, startServer, type LocalSmtpServer } from '../helpers/smtp';

// Far beyond the test's own timeout: a send that ends before it was ended by abort().
const NEVER_MS = 600_000;
const TEST_TIMEOUT_MS = 20_000;

const mailers: Mailer[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const mailer of mailers.splice(0)) mailer.close();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function mailerFor(smtp: SmtpOptions): Mailer {
  const settings = resolveOptions({
    smtp: { connectionTimeoutMs: NEVER_MS, greetingTimeoutMs: NEVER_MS, socketTimeoutMs: NEVER_MS, ...smtp },
    from: 'app@example.com',
    to: 'ops@example.com',
  });
  const mailer = createMailer(settings);
  mailers.push(mailer);
  return mailer;
}

function smtpFor(server: LocalSmtpServer, tls: SmtpOptions['tls'] = {}): SmtpOptions {
  return { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca, ...tls } };
}

function message(text: string): MailMessage {
  return { from: 'app@example.com', to: ['ops@example.com'], subject: 'abort', text };
}

/** The rejection of `promise`; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('Expected the send to reject');
    },
    (error: unknown) => error,
  );
}

/** A TCP server that accepts connections and never says a word. */
async function startSilentServer() {
  const sockets = new Set<Socket>();
  const connected = gate();
  const closed = gate();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => closed.open());
    connected.open();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, connected: connected.promise, closed: closed.promise };
}

/** Server-side bookkeeping: conversations opened and closed, in the order they happened. */
function conversations() {
  const opened: string[] = [];
  const closedIds: string[] = [];
  const waiters: (() => void)[] = [];
  return {
    opened,
    closedIds,
    onConnect(session: { id: string }, callback: () => void) {
      opened.push(session.id);
      callback();
    },
    onClose(session: { id: string }) {
      closedIds.push(session.id);
      waiters.splice(0).forEach((wake) => wake());
    },
    /** Resolves once the server saw `count` conversations close. */
    closed(count: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => (closedIds.length >= count ? resolve() : waiters.push(check));
        check();
      });
    },
  };
}

/** What became of a message the server held: read to its end and accepted, or cut off. */
function consume(stream: Readable, callback: (error?: Error | null) => void, accepted: ParsedMail[]) {
  const chunks: Buffer[] = [];
  return new Promise<'accepted' | 'cut'>((resolve) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      void simpleParser(Buffer.concat(chunks)).then((parsed) => {
        accepted.push(parsed);
        callback();
        resolve('accepted');
      });
    });
    stream.once('close', () => {
      if (!stream.readableEnded) resolve('cut');
    });
    stream.on('error', () => undefined);
  });
}

/**
 * A STARTTLS + AUTH server that holds the first message in the middle of its DATA: it reads one
 * chunk, then stops reading until `release()`. Later messages are accepted at once.
 */
async function startHoldingServer() {
  const held = gate();
  const midMessage = gate();
  const accepted: ParsedMail[] = [];
  const sessions = conversations();
  let firstOutcome: Promise<'accepted' | 'cut'> | undefined;
  const server = await startServer({
    serverOptions: {
      socketTimeout: NEVER_MS,
      onConnect: (session, callback) => sessions.onConnect(session, callback),
      onClose: (session) => sessions.onClose(session),
      onData(stream: SMTPServerDataStream, _session, callback) {
        if (firstOutcome !== undefined) {
          void consume(stream, callback, accepted);
          return;
        }
        // One chunk is read, proof that the client is writing the message; then nothing until release.
        stream.once('data', () => {
          stream.pause();
          midMessage.open();
        });
        const outcome = consume(stream, callback, accepted);
        firstOutcome = held.promise.then(() => {
          stream.resume();
          return outcome;
        });
      },
    },
  });
  return {
    server,
    accepted,
    sessions,
    midMessage: midMessage.promise,
    /** Lets the server read the first message on, and tells what became of it. */
    release(): Promise<'accepted' | 'cut'> {
      held.open();
      if (firstOutcome === undefined) throw new Error('No message was held');
      return firstOutcome;
    },
  };
}

// More than the loopback socket buffers hold (about 4 MB here), so that the client is still
// writing it, final dot not sent, when it is aborted.
const LARGE_TEXT = `${'x'.repeat(70)}\n`.repeat(240_000);

describe('Mailer.abort() on SMTP', () => {
  test(
    'while waiting for the greeting: the send rejects with EABORT and the socket is closed',
    async () => {
      const silent = await startSilentServer();
      const mailer = mailerFor({ host: '127.0.0.1', port: silent.port, auth: { user: 'app', pass: 'secret' } });

      const sending = mailer.send(message('never greeted'));
      await silent.connected;
      mailer.abort();

      const error = await rejectionOf(sending);
      expect(error).toMatchObject({ code: 'EABORT', name: 'AbortError' });
      expect(isAborted(error)).toBe(true);
      expect(isTransientFailure(error)).toBe(false);
      await silent.closed;
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'during the STARTTLS handshake: the send rejects, the server sees the close and no login',
    async () => {
      const handshaking = gate();
      const sessions = conversations();
      const server = await startServer({
        serverOptions: {
          socketTimeout: NEVER_MS,
          onClose: (session) => sessions.onClose(session),
          // Never answered: the handshake stops after the client's hello.
          SNICallback: () => handshaking.open(),
        },
      });
      // A host name, so that the client sends one for SNICallback to hold on to.
      const mailer = mailerFor(smtpFor(server, { servername: 'localhost' }));

      const sending = mailer.send(message('handshake held'));
      await handshaking.promise;
      mailer.abort();

      expect(isAborted(await rejectionOf(sending))).toBe(true);
      await sessions.closed(1);
      expect(server.authAttempts).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'during AUTH: the send rejects and the server sees the close',
    async () => {
      const authenticating = gate();
      const sessions = conversations();
      const server = await startServer({
        serverOptions: {
          socketTimeout: NEVER_MS,
          onClose: (session) => sessions.onClose(session),
          onAuth: () => authenticating.open(),
        },
      });
      const mailer = mailerFor(smtpFor(server));

      const sending = mailer.send(message('login held'));
      await authenticating.promise;
      mailer.abort();

      expect(isAborted(await rejectionOf(sending))).toBe(true);
      await sessions.closed(1);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'during DATA: the send rejects, and the server, let go on, has not received the message in full',
    async () => {
      const holding = await startHoldingServer();
      const mailer = mailerFor(smtpFor(holding.server));

      const sending = mailer.send(message(LARGE_TEXT));
      await holding.midMessage;
      mailer.abort();

      expect(isAborted(await rejectionOf(sending))).toBe(true);
      // The server reads nothing while it holds the message, so it learns of the close once let go.
      const outcome = holding.release();
      await holding.sessions.closed(1);
      expect(await outcome).toBe('cut');
      expect(holding.accepted).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'the mailer stays usable: the next send opens a new connection and is delivered',
    async () => {
      const holding = await startHoldingServer();
      const mailer = mailerFor(smtpFor(holding.server));
      const first = mailer.send(message(LARGE_TEXT));
      await holding.midMessage;
      mailer.abort();
      await rejectionOf(first);
      expect(await holding.release()).toBe('cut');
      await holding.sessions.closed(1);

      const info = await mailer.send(message('after the abort'));

      expect(holding.accepted).toHaveLength(1);
      expect(holding.accepted[0]?.text).toBe('after the abort\n');
      expect(holding.accepted[0]?.messageId).toBe(info.messageId);
      expect(holding.sessions.opened).toHaveLength(2);
      expect(holding.sessions.closedIds).toEqual([holding.sessions.opened[0]]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'abort() with nothing in progress changes nothing: the idle connection is reused',
    async () => {
      const sessions = conversations();
      const server = await startServer({
        serverOptions: { onConnect: (session, callback) => sessions.onConnect(session, callback) },
      });
      const mailer = mailerFor(smtpFor(server));

      await mailer.send(message('one'));
      mailer.abort();
      await mailer.send(message('two'));

      expect(server.mails.map((mail) => mail.parsed.text)).toEqual(['one\n', 'two\n']);
      expect(sessions.opened).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'close() during DATA ends the send with EABORT as well',
    async () => {
      const holding = await startHoldingServer();
      const mailer = mailerFor(smtpFor(holding.server));

      const sending = mailer.send(message(LARGE_TEXT));
      await holding.midMessage;
      mailer.close();

      expect(isAborted(await rejectionOf(sending))).toBe(true);
      expect(await holding.release()).toBe('cut');
      await holding.sessions.closed(1);
      expect(holding.accepted).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
