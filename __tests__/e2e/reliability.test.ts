import winston from 'winston';
import { ManualClock } from '../helpers/manual-clock';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import {
  bodyLines,
  futureServer,
  optionsFor,
  recordingTransport,
  startServer,
  type LocalSmtpServer,
} from '../helpers/smtp';

const text = (line: string) => line.replace(/^\S+ \S+\s+/, '');

/** The settings that reach `server`, but with another password. */
function withPassword(server: LocalSmtpServer, pass: string) {
  return {
    host: server.host,
    port: server.port,
    auth: { user: server.credentials.user, pass },
    tls: { ca: server.ca },
  };
}

/** An `onMailFrom` that refuses the first `times` attempts; `attempts` gets the time of each, if given. */
function failFirst(times: number, code: number, message: string, attempts?: { clock: ManualClock; at: number[] }) {
  let failures = 0;
  return (_address: unknown, _session: unknown, callback: (error?: Error | null) => void) => {
    attempts?.at.push(attempts.clock.now());
    if (failures < times) {
      failures++;
      callback(Object.assign(new Error(message), { responseCode: code }));
      return;
    }
    callback();
  };
}

describe('transient failures are retried with backoff', () => {
  test('a server that answers 451 to the first two attempts gets the batch exactly once', async () => {
    const clock = new ManualClock();
    const attempts = { clock, at: [] as number[] };
    const server = await startServer({
      serverOptions: { onMailFrom: failFirst(2, 451, 'Try again later', attempts) },
    });
    const { transport, warnings, sent } = recordingTransport({ ...optionsFor(server), clock });
    const logger = winston.createLogger({ transports: [transport] });

    for (let index = 0; index < 3; index++) logger.info(`line ${index}`);
    await clock.runUntil(transport.flush());

    expect(server.mails).toHaveLength(1);
    expect(bodyLines(server.mails[0]!).map(text)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(sent.map((info) => info.count)).toEqual([3]);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ retries: 2, mailsSent: 1, entriesMailed: 3, mailsGivenUp: 0 });
    // Backoff, less a random half: the first retry waits 500 to 1000 ms (minDelayMs), the second
    // 1000 to 2000 ms (twice that).
    const [first, second, third] = attempts.at;
    expect([attempts.at.length, first]).toEqual([3, 0]);
    expect(second).toBeGreaterThanOrEqual(500);
    expect(second).toBeLessThanOrEqual(1000);
    expect(third! - second!).toBeGreaterThanOrEqual(1000);
    expect(third! - second!).toBeLessThanOrEqual(2000);
    expectEveryEntryAccounted(transport);
  });

  test('a connection dropped in the middle of DATA is retried and the batch arrives', async () => {
    const server = await startServer({ dropDuringData: 1 });
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({ ...optionsFor(server), clock });
    const logger = winston.createLogger({ transports: [transport] });

    logger.info('survives a dropped connection');
    await clock.runUntil(transport.flush());

    expect(server.mails.map((mail) => bodyLines(mail).map(text))).toEqual([['survives a dropped connection']]);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ retries: 1, mailsSent: 1, entriesMailed: 1, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });

  test('no server at first, started on that port later: every batch logged meanwhile arrives, in order', async () => {
    const future = await futureServer();
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({
      smtp: future.smtp,
      from: 'app@example.com',
      to: 'ops@example.com',
      capacity: 2,
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });
    for (let index = 0; index < 6; index++) logger.info(`entry ${index}`);
    const flushed = transport.flush();

    // The first try fails and waits for its retry; the retry fails and waits again; then the
    // server comes up.
    await clock.runNextTimer();
    await clock.whenTimerSet();
    const server = await future.start();
    await clock.runUntil(flushed);

    expect(server.mails.map((mail) => bodyLines(mail).map(text))).toEqual([
      ['entry 0', 'entry 1'],
      ['entry 2', 'entry 3'],
      ['entry 4', 'entry 5'],
    ]);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ retries: 2, mailsSent: 3, entriesMailed: 6, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});

describe('permanent failures are not retried', () => {
  test('550: one warn with the code, the loss counted, no retry', async () => {
    const server = await startServer({ serverOptions: { onMailFrom: failFirst(1, 550, 'Sender rejected') } });
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({ ...optionsFor(server), clock });
    winston.createLogger({ transports: [transport] }).info('rejected');
    await transport.flush();

    expect(warnings.map((warning) => [warning.code, warning.responseCode, warning.count])).toEqual([
      ['EENVELOPE', 550, 1],
    ]);
    expect(clock.fired).toBe(0);
    expect(transport.stats()).toMatchObject({ retries: 0, mailsGivenUp: 1, entriesGivenUp: 1, mailsSent: 0 });
    expectEveryEntryAccounted(transport);
  });

  test('535: one login attempt, one warn with EAUTH and without the password, the loss counted', async () => {
    const server = await startServer();
    const pass = 'not-the-Password-42';
    const { transport, warnings } = recordingTransport(optionsFor(server, { smtp: withPassword(server, pass) }));
    winston.createLogger({ transports: [transport] }).info('never sent');
    await transport.flush();

    expect(server.authAttempts).toHaveLength(1);
    expect(warnings.map((warning) => [warning.code, warning.responseCode])).toEqual([['EAUTH', 535]]);
    expect(JSON.stringify({ ...warnings[0], message: warnings[0]?.message })).not.toContain(pass);
    expect(transport.stats()).toMatchObject({ retries: 0, mailsGivenUp: 1, entriesGivenUp: 1 });
    expectEveryEntryAccounted(transport);
  });
});

describe('maxBufferedEntries keeps memory bounded', () => {
  test('3x maxBufferedEntries during an outage: the exact drop count is in the first mail after recovery', async () => {
    const future = await futureServer();
    const clock = new ManualClock();
    const { transport, warnings, logged } = recordingTransport({
      smtp: future.smtp,
      from: 'app@example.com',
      to: 'ops@example.com',
      capacity: 10,
      maxBufferedEntries: 100,
      retry: { attempts: 50, minDelayMs: 1000, maxDelayMs: 1000 },
      rateLimit: false,
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });
    for (let index = 0; index < 10; index++) logger.info(`entry ${index}`);
    await clock.whenTimerSet(); // the first batch failed and waits for its retry
    for (let index = 10; index < 300; index++) logger.info(`entry ${index}`);
    await logged(300);

    expect(transport.stats()).toMatchObject({ entriesLogged: 300, entriesPending: 100, entriesDropped: 200 });
    expect(warnings.map((warning) => warning.code)).toEqual(['EOVERFLOW']);

    const server = await future.start();
    await clock.runUntil(transport.flush());

    // The batch being retried went first, as it was rendered; the next mail announces the drops.
    const [retried, next, ...rest] = server.mails.map(bodyLines);
    expect(next?.[0]).toMatch(
      /^\[winston-buffered-mail\] 200 log entries were dropped, logged between \S+Z and \S+Z: more was waiting than `maxBufferedEntries` allows\.$/,
    );
    const delivered = [...(retried ?? []), ...(next ?? []).slice(1), ...rest.flat()].map(text);
    // The batch being retried is kept whole; the oldest entries after it were dropped.
    expect(delivered).toEqual([
      ...Array.from({ length: 10 }, (_, index) => `entry ${index}`),
      ...Array.from({ length: 90 }, (_, index) => `entry ${index + 210}`),
    ]);
    expect(transport.stats()).toMatchObject({ entriesMailed: 100, entriesDropped: 200, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});

describe('rateLimit prevents mail storms', () => {
  test('10000 errors with flushLevel error and no re-notification window: two mails at once, then everything else in one mail when the pace allows', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const sentAt: number[] = [];
    const { transport, warnings } = recordingTransport({
      ...optionsFor(server, { flushLevel: 'error', renotify: false, rateLimit: { mails: 5, perMs: 60_000 } }),
      clock,
    });
    transport.on('mail', () => sentAt.push(clock.now()));
    const logger = winston.createLogger({ transports: [transport] });

    for (let index = 0; index < 10_000; index++) logger.error(`failure ${index}`);
    await clock.runUntil(transport.flush());

    // Each error is a batch of its own. Half of the 5 mails a minute go at once (2), each with the
    // batch at the head of the queue; the next waits for the pace, 60 s / 3, and takes with it every
    // batch held back meanwhile.
    expect(sentAt).toEqual([0, 0, 20_000]);
    const [first, second, merged] = server.mails.map(bodyLines);
    expect(first?.map(text)).toEqual(['failure 0']);
    expect(second?.map(text)).toEqual(['failure 1']);
    expect(merged?.[0]).toBe('[winston-buffered-mail] This mail holds 9998 batches merged into one by `rateLimit`.');
    // One kind of error: the first ten are listed, one line states the rest, which travel in full
    // in the attachment.
    const entryLines = merged?.slice(merged.indexOf('Log entries, in order:') + 1);
    const listed = entryLines?.filter((line) => / ERROR failure \d+$/.test(line)).map(text);
    expect(listed).toEqual(Array.from({ length: 10 }, (_, index) => `failure ${index + 2}`));
    expect(merged).toContainEqual(
      expect.stringMatching(/^… 9,988 more of "failure 2" left out \(.+\), all in the attached NDJSON$/),
    );
    const attachment = server.mails[2]?.parsed.attachments[0];
    expect(attachment?.filename).toMatch(/^collapsed-.*\.ndjson$/);
    const collapsed = (attachment?.content.toString('utf8') ?? '')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(collapsed).toEqual(Array.from({ length: 9988 }, (_, index) => `failure ${index + 12}`));
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({
      mailsSent: 3,
      entriesMailed: 10_000,
      entriesDropped: 0,
      entriesPending: 0,
    });
    expectEveryEntryAccounted(transport);
  });
});

describe('a crash entry does not wait behind a backoff', () => {
  test('the crash mail goes at once; the batch being retried keeps its backoff and arrives after it', async () => {
    const server = await startServer({ serverOptions: { onMailFrom: failFirst(1, 451, 'Try again later') } });
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({
      ...optionsFor(server, {
        capacity: 2,
        handleExceptions: true,
        retry: { attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
      }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport], exitOnError: false });
    logger.info('before 1');
    logger.info('before 2');
    await clock.whenTimerSet(); // the first batch failed once and waits a minute for its retry
    const retryAt = clock.pending[0]!;

    // What winston's exception handler logs for an uncaught exception.
    logger.log({
      level: 'error',
      message: 'uncaughtException: boom\nError: boom',
      exception: true,
      stack: 'Error: boom',
    });
    await server.waitForMails(1);
    expect(clock.now()).toBe(0);
    expect(bodyLines(server.mails[0]!).map(text)).toEqual(['uncaughtException: boom', 'Error: boom']);

    // The retry keeps its backoff: minDelayMs less a random half, from the first try at 0.
    expect(retryAt).toBeGreaterThanOrEqual(30_000);
    expect(retryAt).toBeLessThanOrEqual(60_000);
    await clock.runUntil(transport.flush());
    expect(clock.now()).toBe(retryAt);
    expect(server.mails.map((mail) => bodyLines(mail).map(text))).toEqual([
      ['uncaughtException: boom', 'Error: boom'],
      ['before 1', 'before 2'],
    ]);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ retries: 1, mailsSent: 2, entriesMailed: 3, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});

describe('a refused login is not hammered', () => {
  test('after a 535 the next mail waits retry.maxDelayMs, and what was logged meanwhile goes as one mail', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({
      ...optionsFor(server, {
        capacity: 1,
        smtp: withPassword(server, 'wrong-password'),
      }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('first');
    logger.info('second');
    logger.info('third');
    const flushed = transport.flush();
    await clock.whenTimerSet();

    expect(server.authAttempts).toHaveLength(1);
    expect(clock.pending).toEqual([60_000]);
    await clock.runUntil(flushed);

    // One more login a minute later, for the two mails that waited, merged.
    expect(server.authAttempts).toHaveLength(2);
    expect(warnings.map((warning) => [warning.code, warning.count])).toEqual([
      ['EAUTH', 1],
      ['EAUTH', 2],
    ]);
    expect(clock.now()).toBe(60_000);
    expect(transport.stats()).toMatchObject({ mailsGivenUp: 2, entriesGivenUp: 3, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});
