import { simpleParser } from 'mailparser';
import type { SMTPServerDataStream } from 'smtp-server';
import { createMailer, type Mailer } from '../../src/mail';
import { resolveOptions, type MailMessage } from '../../src/options';
import { createLogger, gate, optionsFor, recordingTransport, startServer, type LocalSmtpServer } from '../helpers/smtp';

const TEST_TIMEOUT_MS = 20_000;

// More than the loopback socket buffers hold, so that the client cannot have written it all
// while the server reads nothing.
const LARGE_TEXT = `${'x'.repeat(70)}\n`.repeat(240_000);

const mailers: Mailer[] = [];

afterEach(() => {
  for (const mailer of mailers.splice(0)) mailer.close();
});

function mailerFor(server: LocalSmtpServer): Mailer {
  const settings = resolveOptions({
    smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
    from: 'app@example.com',
    to: 'ops@example.com',
  });
  const mailer = createMailer(settings);
  mailers.push(mailer);
  return mailer;
}

function message(text: string): MailMessage {
  return { from: 'app@example.com', to: ['ops@example.com'], subject: 'written', text };
}

/** Reads a message to its end, records its text, and answers once `answerWhen()` resolves. */
function receive(
  stream: SMTPServerDataStream,
  callback: () => void,
  texts: string[],
  answerWhen: () => unknown = () => undefined,
): void {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.once('end', () => {
    void simpleParser(Buffer.concat(chunks))
      .then((parsed) => texts.push(parsed.text ?? ''))
      .then(answerWhen)
      .then(() => callback());
  });
}

/**
 * A STARTTLS + AUTH server that stops reading the message after its first chunk until
 * `readOn()`, and answers it only on `answer()`: what happened is recorded in `events`.
 */
async function startPacedServer(events: string[]) {
  const midMessage = gate();
  const readOn = gate();
  const answer = gate();
  const texts: string[] = [];
  const server = await startServer({
    serverOptions: {
      onData(stream: SMTPServerDataStream, _session, callback) {
        stream.once('data', () => {
          stream.pause();
          midMessage.open();
          void readOn.promise.then(() => stream.resume());
        });
        receive(stream, callback, texts, () => answer.promise.then(() => events.push('server answers')));
      },
    },
  });
  return { server, texts, midMessage: midMessage.promise, readOn: readOn.open, answer: answer.open };
}

describe("Mailer.send()'s onWritten on SMTP", () => {
  test(
    'is called once the whole message is written, before the server answers',
    async () => {
      const events: string[] = [];
      const paced = await startPacedServer(events);
      const mailer = mailerFor(paced.server);
      const written = gate();

      const sending = mailer.send(message(LARGE_TEXT), undefined, () => {
        events.push('written');
        written.open();
      });
      await paced.midMessage;
      events.push('server reads on');
      paced.readOn();
      await written.promise;
      paced.answer();
      await sending;
      events.push('sent');

      // Written only once the server read on: the message did not fit in the socket's buffers.
      expect(events).toEqual(['server reads on', 'written', 'server answers', 'sent']);
      expect(paced.texts).toEqual([LARGE_TEXT]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'is called once per message, for each message of a conversation',
    async () => {
      const server = await startServer();
      const mailer = mailerFor(server);
      const calls: string[] = [];

      await mailer.send(message('one'), undefined, () => calls.push('one'));
      await mailer.send(message('two'), undefined, () => calls.push('two'));
      await mailer.send(message('three'));

      expect(calls).toEqual(['one', 'two']);
      expect(server.mails.map((mail) => mail.parsed.text)).toEqual(['one\n', 'two\n', 'three\n']);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'is called once for a message sent on the second try, after the server refused the first token',
    async () => {
      const server = await startServer({
        authMethods: ['XOAUTH2'],
        acceptTokens: ['renewed-token'],
        tokenRefusal: 'reply',
      });
      const tokens = ['first-token', 'renewed-token'];
      const settings = resolveOptions({
        smtp: {
          host: server.host,
          port: server.port,
          tls: { ca: server.ca },
          auth: { type: 'OAuth2', user: 'demo', accessToken: () => Promise.resolve(tokens.shift() ?? '') },
        },
        from: 'app@example.com',
        to: 'ops@example.com',
      });
      const mailer = createMailer(settings);
      mailers.push(mailer);
      let calls = 0;

      await mailer.send(message('after a renewal'), undefined, () => calls++);
      await new Promise((resolve) => setImmediate(resolve));

      expect(server.authAttempts.map((attempt) => attempt.accepted)).toEqual([false, true]);
      expect(calls).toBe(1);
      expect(server.mails.map((mail) => mail.parsed.text)).toEqual(['after a renewal\n']);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'that throws, fails neither the send nor the process',
    async () => {
      const server = await startServer();
      const mailer = mailerFor(server);
      let calls = 0;
      const throwing = () => {
        calls++;
        throw new Error('hook failed');
      };

      await mailer.send(message('one'), undefined, throwing);
      await mailer.send(message('two'), undefined, throwing);
      await new Promise((resolve) => setImmediate(resolve));

      expect(calls).toBe(2);
      expect(server.mails.map((mail) => mail.parsed.text)).toEqual(['one\n', 'two\n']);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'is not called for a message the server refuses before it is written',
    async () => {
      const server = await startServer({
        serverOptions: {
          onRcptTo(_address, _session, callback) {
            callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
          },
        },
      });
      const mailer = mailerFor(server);
      let calls = 0;

      await expect(mailer.send(message('refused'), undefined, () => calls++)).rejects.toMatchObject({
        responseCode: 550,
      });
      await new Promise((resolve) => setImmediate(resolve));

      expect(calls).toBe(0);
      expect(server.mails).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the transport over SMTP', () => {
  test(
    'renders the next mail while the server has not answered the one before it',
    async () => {
      // The first mail is answered only once the second was rendered, which the fingerprint
      // option, called for each entry as its mail is rendered, tells.
      const fingerprinted: string[] = [];
      const secondRendered = gate();
      const texts: string[] = [];
      const server = await startServer({
        serverOptions: {
          onData(stream: SMTPServerDataStream, _session, callback) {
            receive(stream, callback, texts, () => (texts.length === 1 ? secondRendered.promise : undefined));
          },
        },
      });
      const { transport, sent } = recordingTransport(
        optionsFor(server, {
          capacity: 2,
          rateLimit: false,
          fingerprint: (entry) => {
            fingerprinted.push(entry.message);
            if (entry.message === 'entry 2') secondRendered.open();
            return entry.message;
          },
        }),
      );
      const logger = createLogger(transport);
      for (let index = 0; index < 4; index++) logger.info(`entry ${index}`);
      await transport.flush();
      await transport.close();

      expect(fingerprinted).toEqual(['entry 0', 'entry 1', 'entry 2', 'entry 3']);
      expect(sent.map((mail) => mail.count)).toEqual([2, 2]);
      expect(texts.map((text) => text.match(/entry \d/g))).toEqual([
        ['entry 0', 'entry 1'],
        ['entry 2', 'entry 3'],
      ]);
    },
    TEST_TIMEOUT_MS,
  );
});
