import { Console } from 'node:console';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import stringify from 'safe-stable-stringify';
import type winston from 'winston';
import type { BufferedMailTransport } from '../../src';
import { findReachableStrings } from '../helpers/reachable';
import {
  createLogger,
  optionsFor,
  recordingTransport,
  startServer,
  type LocalSmtpServer,
  type ReceivedMail,
} from '../helpers/smtp';

const USER = 'demo';
const PASS = 'S3cret-Pass-9f';
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

// Every form in which the password travels or is kept for redaction; base64 without its padding,
// which matches the padded form too.
const SECRET_FORMS: Readonly<Record<string, string>> = {
  password: PASS,
  base64: base64(PASS).replace(/=+$/, ''),
  saslPlain: base64(`\u0000${USER}\u0000${PASS}`).replace(/=+$/, ''),
  saslPlainWithAuthzid: base64(`${USER}\u0000${USER}\u0000${PASS}`).replace(/=+$/, ''),
  urlEncoded: encodeURIComponent(PASS),
};

/** The names of the password's forms that `text` contains. */
function secretFormsIn(text: string): string[] {
  return Object.entries(SECRET_FORMS)
    .filter(([, form]) => text.includes(form))
    .map(([name]) => name);
}

/** What a Console writing to a stream prints for `print(console)`. */
function printed(print: (console: Console) => void): string {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  print(new Console({ stdout, stderr: stdout, colorMode: false }));
  return Buffer.concat(chunks).toString('utf8');
}

let server: LocalSmtpServer;

beforeAll(async () => {
  server = await startServer({ credentials: { user: USER, pass: PASS } });
});

/** A transport on a logger that has delivered one mail, so that nodemailer's pool and connection exist. */
async function deliveredOnce(overrides: Parameters<typeof optionsFor>[1] = {}) {
  const { transport, sent, warnings } = recordingTransport(optionsFor(server, { capacity: 1, ...overrides }));
  const logger = createLogger(transport);
  const before = server.mails.length;
  logger.info('warm-up');
  await server.waitForMails(before + 1);
  await transport.flush();
  expect(sent).toHaveLength(1);
  expect(warnings).toEqual([]);
  return { transport, logger };
}

describe('the password cannot be reached by inspecting the transport or its logger', () => {
  let transport: BufferedMailTransport;
  let logger: winston.Logger;

  beforeAll(async () => {
    ({ transport, logger } = await deliveredOnce());
  });

  afterAll(async () => {
    await transport.close();
  });

  test('the mail went through an authenticated, encrypted session with that password', () => {
    expect(server.authAttempts).toContainEqual({ username: USER, secure: true, accepted: true });
  });

  test('util.inspect of the transport at any depth, hidden properties and getters included', () => {
    const text = inspect(transport, { depth: Infinity, showHidden: true, getters: true });
    expect(secretFormsIn(text)).toEqual([]);
  });

  test('util.inspect of the logger at any depth, with and without custom inspection', () => {
    for (const customInspect of [true, false]) {
      const text = inspect(logger, { depth: Infinity, showHidden: true, customInspect });
      expect({ customInspect, forms: secretFormsIn(text) }).toEqual({ customInspect, forms: [] });
    }
  });

  test('JSON of the transport and of the logger', () => {
    expect(secretFormsIn(JSON.stringify(transport))).toEqual([]);
    expect(secretFormsIn(stringify(transport) ?? '')).toEqual([]);
    expect(secretFormsIn(stringify(logger) ?? '')).toEqual([]);
  });

  test('console.log, console.dir (which skips custom inspection) and String() of the transport and the logger', () => {
    const text = printed((console) => {
      console.log(transport);
      // eslint-disable-next-line @typescript-eslint/no-base-to-string, @typescript-eslint/restrict-template-expressions -- what String() gives is the point
      console.log(String(transport), `${transport}`);
      console.log('%o %O %j', transport, transport, transport);
      console.log(logger);
      console.dir(transport, { depth: Infinity, showHidden: true });
      console.dir(logger, { depth: Infinity, showHidden: true });
    });
    expect(secretFormsIn(text)).toEqual([]);
  });

  test('no own property, enumerable or not, of any object reachable from the logger holds a form of it', () => {
    expect(findReachableStrings(logger, Object.values(SECRET_FORMS), 'logger')).toEqual([]);
  });

  test('util.inspect and JSON show a summary: server, user, addresses, capacity and counts', () => {
    const summary = {
      name: 'BufferedMailTransport',
      smtp: `127.0.0.1:${server.port}`,
      user: USER,
      from: 'app@example.com',
      to: ['ops@example.com'],
      capacity: 1,
      mode: 'batch',
      stats: transport.stats(),
    };
    expect(summary.stats).toMatchObject({ entriesLogged: 1, entriesMailed: 1, mailsSent: 1 });
    expect(JSON.parse(JSON.stringify(transport))).toEqual(summary);
    expect(transport.toJSON()).toEqual(summary);
    const text = inspect(transport, { breakLength: Infinity });
    expect(text).toMatch(/^BufferedMailTransport \{ smtp: '127\.0\.0\.1:\d+', user: 'demo', from: 'app@example\.com'/);
    expect(text).toContain('mailsSent: 1');
    expect(inspect({ nested: { deeper: transport } }, { depth: 1 })).toContain('[BufferedMailTransport]');
  });
});

describe('logging the logger or the transport mails no form of the password', () => {
  function mailContents(mail: ReceivedMail): { text: string; html: string; ndjson: string } {
    const { text, html, attachments } = mail.parsed;
    expect(attachments).toHaveLength(1);
    return {
      text: text ?? '',
      html: typeof html === 'string' ? html : '',
      ndjson: attachments[0]?.content.toString('utf8') ?? '',
    };
  }

  test.each(['logger', 'transport'] as const)('logger.info("state", { %s })', async (key) => {
    // Lines long enough to hold the whole logged object: the test must see what a cut would hide.
    const { transport, logger } = await deliveredOnce({
      html: true,
      attachJson: true,
      maxLineBytes: 1024 * 1024,
      maxMailBytes: 8 * 1024 * 1024,
    });
    try {
      const before = server.mails.length;
      logger.info('state', key === 'logger' ? { logger } : { transport });
      const [mail] = (await server.waitForMails(before + 1)).slice(before);
      const parts = mailContents(mail!);
      for (const [part, content] of Object.entries(parts)) {
        expect({ part, forms: secretFormsIn(content) }).toEqual({ part, forms: [] });
        // The transport's summary is in each part: the logged object was rendered, not left out.
        expect({ part, rendered: content.includes(`127.0.0.1:${server.port}`) }).toEqual({ part, rendered: true });
      }
    } finally {
      await transport.close();
    }
  });
});
