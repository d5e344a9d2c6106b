import winston from 'winston';
import { runFixture } from '../helpers/child';
import { memoryTransport } from '../helpers/memory-transport';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { deadPort } from '../helpers/ports';
import { bodyLines, gate, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

describe('delivery failures', () => {
  test('no server listening: a warn with a connection code, and the logger keeps working', async () => {
    const port = await deadPort();
    const { transport, warnings, sent } = recordingTransport({
      smtp: { host: '127.0.0.1', port, auth: { user: 'app', pass: 'S3cret-pass' } },
      from: 'app@example.com',
      to: 'ops@example.com',
      capacity: 2,
      // Retries are tested with an injected clock elsewhere; here each batch fails once.
      retry: false,
    });
    const { transport: memory, messages: seen } = memoryTransport();
    const loggerErrors: unknown[] = [];
    const logger = winston.createLogger({ transports: [memory, transport] });
    logger.on('error', (error) => loggerErrors.push(error));

    logger.info('one');
    logger.info('two');
    await transport.flush();
    logger.info('three');
    await transport.flush();

    expect(sent).toEqual([]);
    expect(warnings.map((warning) => [warning.code, warning.originalCode, warning.count])).toEqual([
      ['ESOCKET', 'ECONNREFUSED', 2],
      ['ESOCKET', 'ECONNREFUSED', 1],
    ]);
    expect(warnings[0]?.message).toContain('smtp.port');
    expect(warnings[0]?.message).not.toContain('S3cret-pass');
    expect(loggerErrors).toEqual([]);
    expect(seen).toEqual(['one', 'two', 'three']);
    expect(transport.stats()).toMatchObject({ mailsGivenUp: 2, entriesGivenUp: 3, entriesPending: 0 });
    expectEveryEntryAccounted(transport);
  });

  test('a program with no listeners and no server neither crashes nor hangs', async () => {
    const port = await deadPort();
    const result = await runFixture('unreachable-server.ts', { DEAD_PORT: String(port) });
    expect(result.stdout).toBe('still alive\n');
    expect(result.status).toBe(0);
    // Nobody listens to 'warn': the refusal is shown once, as Node shows its own warnings,
    // naming the refusal and the address, never the password.
    const warnings = result.stderr.split('\n').filter((line) => line.includes('WinstonBufferedMailWarning'));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\(node:\\d+\\) \\[ESOCKET\\] WinstonBufferedMailWarning: Could not mail 2 log entries after 2 tries: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`,
        ),
      ),
    ]);
    expect(result.stderr).not.toContain('S3cret-pass');
  });

  test('logger.info() returns while the server has not yet answered', async () => {
    const held = gate();
    const reached = gate();
    const server = await startServer({
      serverOptions: {
        onMailFrom(_address, _session, callback) {
          reached.open();
          void held.promise.then(() => callback());
        },
      },
    });
    const { transport, warnings } = recordingTransport(optionsFor(server, { capacity: 5 }));
    let logged = 0;
    transport.on('logged', () => logged++);
    const logger = winston.createLogger({ transports: [transport] });

    for (let index = 0; index < 5; index++) logger.info(`before ${index}`);
    await reached.promise;
    // The server is now holding its reply to MAIL FROM; logging goes on regardless.
    for (let index = 0; index < 12; index++) logger.info(`during ${index}`);
    expect(logged).toBe(17);
    expect(server.mails).toHaveLength(0);

    held.open();
    await transport.flush();
    expect(warnings).toEqual([]);
    expect(server.mails.flatMap(bodyLines).map((line) => line.replace(/^\S+ INFO {2}/, ''))).toEqual([
      ...Array.from({ length: 5 }, (_, index) => `before ${index}`),
      ...Array.from({ length: 12 }, (_, index) => `during ${index}`),
    ]);
    expectEveryEntryAccounted(transport);
  });
});
