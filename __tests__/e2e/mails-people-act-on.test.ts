import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { BufferedMailTransport } from '../../src';
import { ManualClock } from '../helpers/manual-clock';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { bodyLines, carriedMessages, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

const MINUTE = 60_000;

describe('an error loop at default options', () => {
  test('thousands of the same error in a few seconds make a handful of mails, and every entry arrives once', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({ ...optionsFor(server), clock });
    const logger = winston.createLogger({ transports: [transport] });

    const logged: string[] = [];
    for (let index = 0; index < 3000; index++) {
      const message = `Connection refused to db-1:5432 (attempt ${index}, request ${(index * 7919).toString(16).padStart(12, '0')})`;
      logger.error(message);
      logged.push(message);
      if (index % 30 === 0) {
        logger.info(`GET /health ${index}`);
        logged.push(`GET /health ${index}`);
      }
      if (index % 750 === 0) clock.advanceTo(clock.now() + 1000);
    }
    await clock.runUntil(transport.flush());

    expect(warnings).toEqual([]);
    expect(server.mails.length).toBeGreaterThanOrEqual(2);
    expect(server.mails.length).toBeLessThanOrEqual(4);
    const carried = server.mails.flatMap(carriedMessages);
    expect(carried.sort()).toEqual([...logged].sort());
    // The mail with the repeats says how many there were, in its summary and its subject.
    const digest = server.mails[server.mails.length - 1]!;
    expect(digest.parsed.subject).toMatch(/^\[ERROR\] [\d,]+× Connection refused to db-1:5432/);
    expect(bodyLines(digest).join('\n')).toMatch(/more of "Connection refused to db-1:5432 .*" left out/);
    expect(transport.stats()).toMatchObject({ entriesLogged: logged.length, entriesMailed: logged.length });
    expectEveryEntryAccounted(transport);
  });

  test('the repeats wait for the end of the re-notification window, which doubles while the error goes on', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const sentAt: number[] = [];
    const { transport } = recordingTransport({ ...optionsFor(server), clock });
    transport.on('mail', () => sentAt.push(clock.now()));
    const logger = winston.createLogger({ transports: [transport] });

    const nextMail = () => new Promise((resolve) => transport.once('mail', resolve));
    // One failure a minute for 40 minutes; a mail is awaited whenever one is due, so that the
    // clock stands still while it is sent.
    for (let minute = 0; minute < 40; minute++) {
      const due = [5, 15, 35].includes(minute) ? nextMail() : undefined;
      clock.advanceTo(minute * MINUTE);
      await due;
      const first = minute === 0 ? nextMail() : undefined;
      logger.error(`Payment gateway timed out after ${3000 + minute} ms`);
      await first;
    }
    await clock.runUntil(transport.flush());
    // At once, then at the end of windows of 5, 10 and 20 minutes; what is left goes with flush().
    expect(sentAt.slice(0, 4)).toEqual([0, 5 * MINUTE, 15 * MINUTE, 35 * MINUTE]);
    expect(server.mails).toHaveLength(5);
    expect(transport.stats()).toMatchObject({ entriesLogged: 40, entriesMailed: 40 });
  });
});

describe('a batch of 5,000 repeats of one error and a few other entries', () => {
  test('arrives as one mail whose text and HTML state the 5,000 in well under 64 KB; every entry travels in full', async () => {
    const server = await startServer();
    const { transport, warnings } = recordingTransport(
      optionsFor(server, { html: true, capacity: 10_000, flushLevel: false }),
    );
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('service started');
    logger.warn('pool almost exhausted', { free: 2 });
    for (let index = 0; index < 5000; index++) {
      logger.error(`Connection refused to db 10.0.0.${index % 250}:5432`, {
        requestId: `req-${index}`,
        attempt: index,
      });
    }
    logger.info('retrying with the replica');
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(1);
    const mail = server.mails[0]!;
    expect(mail.parsed.subject).toBe(
      `[ERROR] 5,000× Connection refused to db 10.0.0.0:5432 (+3 more kinds) from ${hostname()}`,
    );
    const text = mail.parsed.text ?? '';
    const html = typeof mail.parsed.html === 'string' ? mail.parsed.html : '';
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    expect(Buffer.byteLength(html)).toBeLessThan(64 * 1024);
    expect(text).toMatch(/^ +5,000 +ERROR .* Connection refused to db 10\.0\.0\.0:5432$/m);
    expect(text).toContain('… 4,990 more of "Connection refused to db 10.0.0.0:5432" left out');
    expect(html).toContain('5,000');
    expect(carriedMessages(mail)).toHaveLength(5003);
    expect(transport.stats()).toMatchObject({ entriesMailed: 5003, mailsSent: 1 });
  });
});

describe('headers', () => {
  test('automated-mail headers, a priority from the most severe level, and the headers option', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(
      optionsFor(server, { headers: { 'X-Service': 'orders' }, flushLevel: false, capacity: 2 }),
    );
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('a');
    logger.info('b');
    logger.error('c');
    logger.info('d');
    await transport.flush();

    const [quiet, urgent] = server.mails;
    expect(quiet?.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(quiet?.parsed.headers.get('x-auto-response-suppress')).toBe('All');
    expect(quiet?.parsed.headers.get('x-service')).toBe('orders');
    expect(quiet?.raw.toString('utf8').split('\r\n\r\n')[0]).not.toMatch(/^(X-Priority|Importance):/im);
    const urgentHeaders = urgent?.raw.toString('utf8').split('\r\n\r\n')[0] ?? '';
    expect(urgentHeaders).toMatch(/^X-Priority: 1 \(Highest\)$/m);
    expect(urgentHeaders).toMatch(/^Importance: High$/m);
  });

  test('a header that would break a line or replace an address header is refused at construction', () => {
    const base = { smtp: { host: 'h', auth: { user: 'u', pass: 'p' } }, from: 'a@example.com', to: 'b@example.com' };
    expect(() => new BufferedMailTransport({ ...base, headers: { 'X-A': 'x\r\nBcc: eve@example.com' } })).toThrow(
      /headers\.X-A/,
    );
    expect(() => new BufferedMailTransport({ ...base, headers: { Bcc: 'eve@example.com' } })).toThrow(/headers\.Bcc/);
  });
});

describe('threads', () => {
  test('the mails of a recurring error form one conversation; the digests of a day another', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport } = recordingTransport({ ...optionsFor(server, { capacity: 3 }), clock });
    const logger = winston.createLogger({ transports: [transport] });
    logger.error('Disk /var almost full: 97%');
    await clock.runUntil(transport.flush());
    clock.advanceTo(2 * MINUTE);
    logger.error('Disk /var almost full: 98%');
    clock.advanceTo(5 * MINUTE);
    await clock.runUntil(transport.flush());
    for (const index of [1, 2, 3, 4, 5, 6]) logger.info(`request ${index}`);
    await clock.runUntil(transport.flush());

    const [first, repeat, digest1, digest2] = server.mails.map((mail) => mail.parsed);
    expect(server.mails).toHaveLength(4);
    expect(first?.messageId).toMatch(/^<wbm\..+@example\.com>$/);
    expect(repeat?.inReplyTo).toBe(first?.messageId);
    expect(repeat?.references).toEqual(first?.messageId);
    expect(digest1?.inReplyTo).toBeUndefined();
    expect(digest2?.inReplyTo).toBe(digest1?.messageId);
    expect(first?.headers.get('thread-index')).toBeDefined();
  });
});

describe('secrets in meta at default options', () => {
  let spoolDir: string;
  beforeEach(() => {
    spoolDir = mkdtempSync(join(tmpdir(), 'wbm-redact-'));
  });
  afterEach(() => rmSync(spoolDir, { recursive: true, force: true }));

  test('never appear in the text, the HTML, the NDJSON or the spool', async () => {
    const server = await startServer();
    const secrets = {
      password: 'hunter2-pass',
      apiKey: 'sk-live-1234',
      headers: { Authorization: 'Bearer eyJ-token', cookie: 'sid=abc-cookie' },
      nested: [{ client_secret: 'cs-5678', refreshToken: 'rt-9999' }],
    };
    const { transport } = recordingTransport(optionsFor(server, { html: true, attachJson: true, flushLevel: false }));
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('login', { user: 'ada', ...secrets });
    logger.warn(`as JSON text ${JSON.stringify({ password: 'hunter2-pass' })}`);
    await transport.flush();

    // The same entries into a spool: a server that refuses the mail for good.
    const refused = await startServer({
      serverOptions: {
        onMailFrom: (_address, _session, callback) =>
          callback(Object.assign(new Error('try later'), { responseCode: 451 })),
      },
    });
    const spooling = recordingTransport(
      optionsFor(refused, { spoolDir, retry: { attempts: 1, minDelayMs: 1, maxDelayMs: 1 }, flushLevel: false }),
    );
    const spoolLogger = winston.createLogger({ transports: [spooling.transport] });
    spoolLogger.info('login', { user: 'ada', ...secrets });
    await spooling.transport.flush();
    expect(spooling.transport.stats().entriesSpooled).toBe(1);

    const mail = server.mails[0]!;
    const everything = [
      mail.parsed.text ?? '',
      typeof mail.parsed.html === 'string' ? mail.parsed.html : '',
      ...mail.parsed.attachments.map((attachment) => attachment.content.toString('utf8')),
      ...readdirSync(spoolDir).map((name) => readFileSync(join(spoolDir, name), 'utf8')),
    ].join('\n');
    for (const secret of ['hunter2-pass', 'sk-live-1234', 'eyJ-token', 'abc-cookie', 'cs-5678', 'rt-9999']) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).toContain('"user":"ada"');
    expect(everything).toContain('"password":"[redacted]"');
  });
});

describe('the foot of each mail', () => {
  test('says where the mail comes from, with the context option', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(
      optionsFor(server, { context: { region: 'eu-west-1', commit: 'a1b2c3d' } }),
    );
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('hello');
    await transport.flush();
    const text = server.mails[0]?.parsed.text ?? '';
    const foot = text.slice(text.indexOf('\n-- \n') + 5);
    expect(foot).toMatch(new RegExp(`^host: +${hostname().replace(/\./g, '\\.')}$`, 'm'));
    expect(foot).toMatch(new RegExp(`^pid: +${process.pid}$`, 'm'));
    expect(foot).toMatch(/^node: +v\d+\.\d+\.\d+$/m);
    expect(foot).toMatch(/^region: +eu-west-1$/m);
    expect(foot).toMatch(/^commit: +a1b2c3d$/m);
  });
});
