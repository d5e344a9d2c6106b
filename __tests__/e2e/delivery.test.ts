import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import { bodyLines, createLogger, endLogger, optionsFor, recordingTransport, startServer } from '../helpers/smtp';
import { expectEveryEntryAccounted } from '../helpers/outbox';

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) INFO {2}Info index = (\d+)$/;

describe('batched delivery over STARTTLS with AUTH', () => {
  test('102 entries at capacity 10 arrive as 11 mails of 10x10 + 2 lines, in order, each once', async () => {
    const server = await startServer();
    const { transport, sent, warnings } = recordingTransport(
      optionsFor(server, { capacity: 10, subject: 'Logs from billing' }),
    );
    const logger = createLogger(transport);

    for (let index = 0; index < 102; index++) logger.info(`Info index = ${index}`);
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(11);
    expect(server.mails.map((mail) => bodyLines(mail).length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 2]);
    const indexes = server.mails.flatMap((mail) =>
      bodyLines(mail).map((line) => {
        const match = LINE.exec(line);
        expect(match).not.toBeNull();
        return Number(match?.[2]);
      }),
    );
    expect(indexes).toEqual(Array.from({ length: 102 }, (_, index) => index));
    expect(sent.map((info) => info.count)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 2]);
    expect(sent.every((info) => typeof info.messageId === 'string' && info.messageId.length > 0)).toBe(true);

    for (const mail of server.mails) {
      expect(mail.secure).toBe(true);
      expect(mail.tlsProtocol).toMatch(/^TLSv1\.[23]$/);
      expect(mail.user).toBe(server.credentials.user);
      expect(mail.parsed.subject).toBe('Logs from billing');
      expect(mail.envelope).toEqual({ from: 'app@example.com', to: ['ops@example.com'] });
    }
    // One conversation carried all eleven mails: a single login.
    expect(server.authAttempts).toEqual([{ username: server.credentials.user, secure: true, accepted: true }]);
    expectEveryEntryAccounted(transport);
  });

  test('flush() delivers a partial batch and sends nothing for an empty buffer', async () => {
    const server = await startServer();
    const { transport, sent } = recordingTransport(optionsFor(server, { capacity: 50 }));
    const logger = createLogger(transport);

    await transport.flush();
    expect(server.mails).toHaveLength(0);

    logger.warn('disk almost full', { freeBytes: 1024 });
    logger.error('disk full');
    await transport.flush();
    expect(server.mails).toHaveLength(1);
    const lines = bodyLines(server.mails[0]!);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN {2}disk almost full \{"freeBytes":1024\}$/);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR disk full$/);

    await transport.flush();
    expect(server.mails).toHaveLength(1);
    expect(sent.map((info) => info.count)).toEqual([2]);
    expectEveryEntryAccounted(transport);
  });

  test('logger.end() delivers what is buffered before the transport finishes', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { capacity: 10 }));
    const logger = createLogger(transport);

    for (let index = 0; index < 13; index++) logger.info(`Info index = ${index}`);
    await endLogger(logger, transport);

    expect(server.mails.map((mail) => bodyLines(mail).length)).toEqual([10, 3]);
    expect(bodyLines(server.mails[1]!).map((line) => LINE.exec(line)?.[2])).toEqual(['10', '11', '12']);
    expectEveryEntryAccounted(transport);
  });

  test('close() flushes, and calling it again neither sends twice nor throws', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server));
    const logger = createLogger(transport);

    logger.info('last words');
    const first = transport.close();
    const second = transport.close();
    expect(second).toBe(first);
    await first;
    await transport.close();

    expect(server.mails).toHaveLength(1);
    expect(bodyLines(server.mails[0]!)[0]).toMatch(/ INFO {2}last words$/);
    expectEveryEntryAccounted(transport);
  });

  test('the default subject names the most severe level, the entry count, the host and the first message', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server));
    const logger = createLogger(transport);

    logger.info('one');
    logger.info('two');
    await transport.flush();
    logger.info('three');
    await transport.flush();

    expect(server.mails.map((mail) => mail.parsed.subject)).toEqual([
      `[INFO] 2 log entries from ${hostname()}: one`,
      `[INFO] 1 log entry from ${hostname()}: three`,
    ]);
    expectEveryEntryAccounted(transport);
  });

  test('a subject function receives the batch', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(
      optionsFor(server, { subject: (batch) => `${batch.count} entries, first: ${String(batch.entries[0]?.message)}` }),
    );
    const logger = createLogger(transport);

    logger.info('alpha');
    logger.info('beta');
    await transport.flush();

    expect(server.mails[0]?.parsed.subject).toBe('2 entries, first: alpha');
    expectEveryEntryAccounted(transport);
  });

  test('cc and bcc recipients are in the envelope, bcc not in the headers', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(
      optionsFor(server, { to: 'ops@example.com', cc: ['lead@example.com'], bcc: 'audit@example.com' }),
    );
    createLogger(transport).info('hello');
    await transport.flush();

    const [mail] = server.mails;
    expect(mail?.envelope.to).toEqual(['ops@example.com', 'lead@example.com', 'audit@example.com']);
    expect(mail?.parsed.headers.get('cc')).toMatchObject({ text: 'lead@example.com' });
    expect(mail?.parsed.headers.has('bcc')).toBe(false);
    expectEveryEntryAccounted(transport);
  });

  test("a transporter given by the user is used instead of SMTP, and stays open: it is the user's to close", async () => {
    const server = await startServer();
    const transporter = nodemailer.createTransport({
      host: server.host,
      port: server.port,
      requireTLS: true,
      auth: server.credentials,
      tls: { ca: server.ca },
    });
    const close = jest.spyOn(transporter, 'close');
    const { transport, warnings } = recordingTransport({
      transporter,
      from: 'app@example.com',
      to: 'ops@example.com',
      capacity: 2,
    });
    const logger = createLogger(transport);

    logger.info('through the user transporter 1');
    logger.info('through the user transporter 2');
    await endLogger(logger, transport);
    await transport.close();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(1);
    expect(bodyLines(server.mails[0]!)).toHaveLength(2);
    expect(close).not.toHaveBeenCalled();
    transporter.close();
    expectEveryEntryAccounted(transport);
  });
});

describe('timestamps', () => {
  afterEach(() => jest.useRealTimers());

  test('each line carries the time it was logged, not the time of the flush', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server));
    const logger = createLogger(transport);
    const loggedAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 123);
    // Only the wall clock is faked; timers and sockets stay real.
    jest.useFakeTimers({
      now: loggedAt,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });

    logger.info('first');
    jest.setSystemTime(loggedAt.getTime() + 1500);
    logger.info('second');
    jest.setSystemTime(loggedAt.getTime() + 3 * 3600_000);
    await transport.flush();

    const [mail] = server.mails;
    expect(bodyLines(mail!)).toEqual([
      `${loggedAt.toISOString()} INFO  first`,
      `${new Date(loggedAt.getTime() + 1500).toISOString()} INFO  second`,
    ]);
    expect(mail?.parsed.date?.getTime()).toBe(Math.floor((loggedAt.getTime() + 3 * 3600_000) / 1000) * 1000);
    expectEveryEntryAccounted(transport);
  });
});
