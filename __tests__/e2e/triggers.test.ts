import winston from 'winston';
import { ManualClock } from '../helpers/manual-clock';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { runFixture } from '../helpers/child';
import { bodyLines, gate, optionsFor, recordingTransport, startServer, type LocalSmtpServer } from '../helpers/smtp';

const text = (line: string) => line.replace(/^\S+ \S+\s+/, '');
const messages = (server: LocalSmtpServer) => server.mails.map((mail) => bodyLines(mail).map(text));

describe('flushIntervalMs, on an injected clock', () => {
  test('entries logged at t=0 and t=0.9 interval go out together at t=interval', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport, warnings, logged } = recordingTransport({
      ...optionsFor(server, { capacity: 100, flushIntervalMs: 60_000 }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });

    logger.info('at zero');
    await logged(1);
    expect(clock.pending).toEqual([60_000]);
    clock.advanceTo(54_000);
    logger.info('at 0.9 interval');
    await logged(2);
    expect(clock.pending).toEqual([60_000]);
    clock.advanceTo(59_999);
    expect(clock.fired).toBe(0);

    clock.advanceTo(60_000);
    expect(clock.fired).toBe(1);
    await server.waitForMails(1);
    expect(messages(server)).toEqual([['at zero', 'at 0.9 interval']]);

    // The next deadline counts from the next entry.
    clock.advanceTo(100_000);
    logger.info('later');
    await logged(3);
    expect(clock.pending).toEqual([160_000]);
    clock.advanceTo(160_000);
    await server.waitForMails(2);
    expect(messages(server)[1]).toEqual(['later']);
    expect(warnings).toEqual([]);
    expectEveryEntryAccounted(transport);
  });

  test('a batch sent because it was full cancels the timer of its oldest entry', async () => {
    const server = await startServer();
    const clock = new ManualClock();
    const { transport, logged } = recordingTransport({
      ...optionsFor(server, { capacity: 2, flushIntervalMs: 1000 }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });

    logger.info('a');
    await logged(1);
    expect(clock.pending).toEqual([1000]);
    logger.info('b');
    await logged(2);
    expect(clock.pending).toEqual([]);
    await transport.flush();
    expect(messages(server)).toEqual([['a', 'b']]);
    expectEveryEntryAccounted(transport);
  });

  test('the interval timer does not keep an idle process alive', async () => {
    const result = await runFixture('idle-interval.ts');
    expect(result.stdout).toBe('main returned\n');
    expect(result.status).toBe(0);
    // With `flushOnExit: false` and nobody listening, the loss is still said, on stderr.
    expect(result.stderr).toBe(
      `(node:${result.pid}) [EEXIT] WinstonBufferedMailWarning: 1 log entry was not delivered before the process exited\n`,
    );
  });
});

describe('flushLevel', () => {
  test('npm levels: error sends the buffer at once, warn and info do not', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { capacity: 100, flushLevel: 'error' }));
    const logger = winston.createLogger({ level: 'debug', transports: [transport] });

    logger.debug('debug');
    logger.info('info');
    logger.warn('warn');
    logger.error('error');
    await server.waitForMails(1);
    logger.warn('after');
    logger.error('second error');
    await server.waitForMails(2);

    expect(messages(server)).toEqual([
      ['debug', 'info', 'warn', 'error'],
      ['after', 'second error'],
    ]);
    expectEveryEntryAccounted(transport);
  });

  test('syslog levels: crit and above send at once, error and below do not', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { capacity: 100, flushLevel: 'crit' }));
    const logger = winston.createLogger({
      levels: winston.config.syslog.levels,
      level: 'debug',
      transports: [transport],
    });

    logger.log('notice', 'notice');
    logger.log('warning', 'warning');
    logger.log('error', 'error');
    logger.log('crit', 'crit');
    await server.waitForMails(1);
    logger.log('alert', 'alert');
    await server.waitForMails(2);
    logger.log('emerg', 'emerg');
    await server.waitForMails(3);

    expect(messages(server)).toEqual([['notice', 'warning', 'error', 'crit'], ['alert'], ['emerg']]);
    expect(bodyLines(server.mails[0]!)[3]).toMatch(/ CRIT {2}crit$/);
    expectEveryEntryAccounted(transport);
  });

  test('custom levels are judged by their own order', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { capacity: 100, flushLevel: 'page' }));
    const logger = winston.createLogger({
      levels: { page: 0, note: 1, chatter: 2 },
      level: 'chatter',
      transports: [transport],
    });

    logger.log('chatter', 'c');
    logger.log('note', 'n');
    logger.log('page', 'p');
    await server.waitForMails(1);
    expect(messages(server)).toEqual([['c', 'n', 'p']]);
    expectEveryEntryAccounted(transport);
  });
});

describe("mode: 'context'", () => {
  test('20 info then 1 error with capacity 5 mails exactly the last 4 info lines and the error', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { capacity: 5, mode: 'context', flushLevel: 'error' }));
    const logger = winston.createLogger({ transports: [transport] });

    for (let index = 0; index < 20; index++) logger.info(`info ${index}`);
    logger.error('payment failed');
    await server.waitForMails(1);
    expect(messages(server)).toEqual([['info 16', 'info 17', 'info 18', 'info 19', 'payment failed']]);

    // More info starts a new ring; flushing and closing mail nothing without a trigger.
    logger.info('new 1');
    logger.info('new 2');
    logger.error('second failure');
    await server.waitForMails(2);
    logger.info('orphan context');
    await transport.close();
    expect(messages(server)).toEqual([
      ['info 16', 'info 17', 'info 18', 'info 19', 'payment failed'],
      ['new 1', 'new 2', 'second failure'],
    ]);
    // 16 entries left the ring before the first failure; the orphan was dropped at close.
    expect(transport.stats()).toMatchObject({
      entriesLogged: 25,
      entriesMailed: 8,
      entriesContextDiscarded: 17,
      entriesPending: 0,
    });
    expectEveryEntryAccounted(transport);
  });
});

describe('closeTimeoutMs, on an injected clock', () => {
  test('close() gives up after closeTimeoutMs and reports the exact undelivered count', async () => {
    const held = gate();
    const server = await startServer({
      serverOptions: { onMailFrom: (_address, _session, callback) => void held.promise.then(() => callback()) },
    });
    const clock = new ManualClock();
    const { transport, warnings, sent } = recordingTransport({
      ...optionsFor(server, { capacity: 3, closeTimeoutMs: 5000 }),
      clock,
    });
    const logger = winston.createLogger({ transports: [transport] });

    for (let index = 0; index < 7; index++) logger.info(`entry ${index}`);
    const closed = transport.close();
    await clock.whenTimerSet();
    expect(clock.pending).toEqual([5000]);
    clock.advanceTo(5000);
    await closed;
    held.open();

    expect(sent).toEqual([]);
    expect(warnings.map((warning) => [warning.code, warning.count])).toEqual([['ECLOSETIMEOUT', 7]]);
    expect(transport.stats()).toMatchObject({
      entriesLogged: 7,
      entriesGivenUp: 7,
      mailsGivenUp: 3,
      entriesPending: 0,
    });
    expect(warnings[0]?.message).toBe('7 log entries were not delivered within `closeTimeoutMs` (5000 ms)');
    expectEveryEntryAccounted(transport);
  });
});
