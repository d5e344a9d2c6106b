import winston from 'winston';
import { ManualClock } from '../helpers/manual-clock';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { bodyLines, gate, optionsFor, recordingTransport, startServer } from '../helpers/smtp';
import { createSpoolFolder, type SpoolFolder } from '../helpers/spool-folder';

const text = (line: string) => line.replace(/^\S+ \S+\s+/, '');

let folder: SpoolFolder | undefined;
afterEach(() => {
  folder?.remove();
  folder = undefined;
});

describe('at default options, a healthy server loses nothing', () => {
  test('a burst of 100,000 entries at capacity 100: every entry arrives once, in order, within the rate limit', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({ ...optionsFor(server, { capacity: 100 }), clock });
    const sentAt: number[] = [];
    transport.on('mail', () => sentAt.push(clock.now()));
    const logger = winston.createLogger({ transports: [transport] });
    for (let index = 0; index < 100_000; index++) logger.info(`order ${index} shipped`, { orderId: index, items: 3 });
    await clock.runUntil(transport.flush());

    const delivered = server.mails.flatMap((mail) => bodyLines(mail).filter((line) => !line.startsWith('[')));
    expect(delivered).toHaveLength(100_000);
    expect(delivered.map((line) => Number(/order (\d+) shipped/.exec(line)?.[1]))).toEqual(
      Array.from({ length: 100_000 }, (_, index) => index),
    );
    // The default rateLimit, 20 mails a minute: 10 at once, each a batch of 100; then one every
    // 60 s / 10, each holding the batches that waited, as many as a mail of maxMailBytes takes.
    expect(sentAt).toEqual([
      ...Array.from({ length: 10 }, () => 0),
      ...Array.from({ length: sentAt.length - 10 }, (_, index) => 6000 * (index + 1)),
    ]);
    const mails = server.mails.map(bodyLines);
    expect(mails.slice(0, 10).map((lines) => lines.length)).toEqual(Array.from({ length: 10 }, () => 100));
    // Each merged mail says so in its first line; a merged mail too big for one mail is sent in
    // parts, and only its first part carries the notice.
    const laterPart = (mail: (typeof server.mails)[number]) =>
      /\(part ([2-9]|\d\d+)\/\d+\)$/.test(mail.parsed.subject ?? '');
    expect(
      mails
        .slice(10)
        .map((lines) =>
          /^\[winston-buffered-mail\] This mail holds \d+ batches merged into one by `rateLimit`\.$/.test(
            lines[0] ?? '',
          ),
        ),
    ).toEqual(server.mails.slice(10).map((mail) => !laterPart(mail)));
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ entriesDropped: 0, entriesMailed: 100_000, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});

describe('a mail the server refuses as too large', () => {
  test('is sent again in smaller parts instead of being given up', async () => {
    const server = await startServer({ maxMessageBytes: 64 * 1024 });
    const { transport, warnings } = recordingTransport(optionsFor(server, { capacity: 1000, rateLimit: false }));
    const logger = winston.createLogger({ transports: [transport] });
    for (let index = 0; index < 1000; index++) logger.info(`entry ${index} ${'x'.repeat(200)}`);
    await transport.flush();

    const delivered = server.mails.flatMap((mail) => bodyLines(mail).map(text));
    expect(delivered.map((line) => line.split(' ')[1])).toEqual(
      Array.from({ length: 1000 }, (_, index) => String(index)),
    );
    expect(server.mails.every((mail) => mail.raw.length <= 64 * 1024)).toBe(true);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ entriesMailed: 1000, entriesGivenUp: 0 });
    expectEveryEntryAccounted(transport);
  });
});

describe('retries always back off', () => {
  test('a crash entry while a mail of an earlier run waits for its retry: one try each, no storm', async () => {
    folder = createSpoolFolder();
    folder.open().write({ subject: 'kept', text: 'kept from an earlier run\n', count: 1 });
    let attempts = 0;
    const secondAttempt = gate();
    const server = await startServer({
      serverOptions: {
        onMailFrom: (_address, _session, callback) => {
          if (++attempts === 2) secondAttempt.open();
          callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
        },
      },
    });
    const clock = new ManualClock();
    const { transport, warnings } = recordingTransport({
      ...optionsFor(server, {
        spoolDir: folder.dir,
        handleExceptions: true,
        retry: { attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
      }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport], exitOnError: false });
    await clock.whenTimerSet(); // the spooled mail failed once and waits for its retry
    expect(attempts).toBe(1);

    logger.log({ level: 'error', message: 'uncaughtException: boom', exception: true, stack: 'Error: boom' });
    await secondAttempt.promise;
    // Then the outbox sleeps until the next retry, at least half of minDelayMs away on a clock that
    // does not move: there is no further try, where this used to retry without a pause.
    await clock.whenTimerSet();
    expect(attempts).toBe(2);
    // One wait, for the crash mail's retry: minDelayMs less a random half.
    expect(clock.pending).toHaveLength(1);
    expect(clock.pending[0]).toBeGreaterThanOrEqual(30_000);
    expect(clock.pending[0]).toBeLessThanOrEqual(60_000);
    expect(warnings).toEqual([]);
    expect(transport.stats()).toMatchObject({ entriesLogged: 1, entriesPending: 1, retries: 2 });
    expectEveryEntryAccounted(transport);

    // Closed before the retry: after closeTimeoutMs the crash mail is spooled, so that nothing is
    // left for the exit of the test process to write into a folder removed by then.
    const closed = transport.close();
    await clock.whenTimerAt(10_000);
    clock.advanceTo(10_000);
    await closed;
    expect(transport.stats()).toMatchObject({ entriesSpooled: 1, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });
});
