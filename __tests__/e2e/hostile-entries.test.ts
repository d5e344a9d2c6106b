import winston from 'winston';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { bodyLines, optionsFor, recordingTransport, startServer } from '../helpers/smtp';
import { createSpoolFolder, type SpoolFolder } from '../helpers/spool-folder';

const text = (line: string) => line.replace(/^\S+ \S+\s+/, '');

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

let folder: SpoolFolder | undefined;
afterEach(() => {
  folder?.remove();
  folder = undefined;
});

describe('one entry never costs the others', () => {
  test.each([
    ['without a spool', false],
    ['with a spool', true],
  ])(
    'a revoked Proxy, throwing getters and a throwing toJSON render as placeholders; the batch is delivered (%s)',
    async (_name, withSpool) => {
      folder = withSpool ? createSpoolFolder() : undefined;
      const server = await startServer();
      const { transport, warnings } = recordingTransport(
        optionsFor(server, { capacity: 5, html: true, attachJson: true, ...(folder && { spoolDir: folder.dir }) }),
      );
      // The logger itself passes entries through untouched (its default JSON format would throw on
      // a revoked Proxy before the transport sees it); the transport's own format renders them.
      const logger = winston.createLogger({ format: winston.format((info) => info)(), transports: [transport] });
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        logger.info('before');
        // What an immer draft becomes once its producer returned.
        logger.log({ level: 'info', message: revoked() as unknown as string });
        logger.info('getter', {
          detail: Object.defineProperty({}, 'boom', {
            enumerable: true,
            get() {
              throw new Error('getter threw');
            },
          }),
        });
        logger.info('json', {
          detail: {
            toJSON() {
              throw new Error('toJSON threw');
            },
          },
        });
        logger.info('after');
        await transport.flush();
      } finally {
        process.off('uncaughtException', onUncaught);
      }

      expect(uncaught).toEqual([]);
      expect(warnings).toEqual([]);
      expect(server.mails).toHaveLength(1);
      const lines = bodyLines(server.mails[0]!);
      expect(lines.map(text)).toEqual([
        'before',
        expect.any(String),
        'getter {"detail":{"boom":"[unreadable: Error]"}}',
        'json {"detail":"[unreadable: Error]"}',
        'after',
      ]);
      // Redaction reads the message first: it keeps the entry's time and level, and names the error's kind.
      expect(lines[1]).toMatch(/^\S+Z INFO {2}\[unreadable: TypeError\]$/);
      expect(transport.stats()).toMatchObject({ entriesMailed: 5, entriesGivenUp: 0 });
      expectEveryEntryAccounted(transport.stats());
    },
  );
});

describe('maxMailBytes holds on the mail as sent', () => {
  test.each([
    ['CJK text', '日本語のログメッセージ'.repeat(40)],
    ['Latin-1 accents', 'Überprüfung fehlgeschlagen für Straße '.repeat(20)],
    ['emoji', '🔥🚀✅ '.repeat(60)],
  ])('%s with html and attachJson: every mail within maxMailBytes', async (_name, message) => {
    const server = await startServer();
    const maxMailBytes = 128 * 1024;
    const { transport, warnings } = recordingTransport(
      optionsFor(server, { capacity: 500, html: true, attachJson: true, maxMailBytes, rateLimit: false }),
    );
    const logger = winston.createLogger({ transports: [transport] });
    for (let index = 0; index < 500; index++) logger.info(`${index} ${message}`);
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails.length).toBeGreaterThan(1);
    for (const mail of server.mails) expect(mail.raw.length).toBeLessThanOrEqual(maxMailBytes);
    const delivered = server.mails.flatMap((mail) => bodyLines(mail).map((line) => text(line).split(' ')[0]));
    expect(delivered).toEqual(Array.from({ length: 500 }, (_, index) => String(index)));
    expectEveryEntryAccounted(transport.stats());
  });
});

describe('an Error whose stack cannot be read', () => {
  test('is mailed as a placeholder; logger.error() does not throw, and the entries after it are delivered', async () => {
    const server = await startServer();
    const { transport, warnings } = recordingTransport(optionsFor(server, { flushLevel: false }));
    const logger = winston.createLogger({ transports: [transport] });
    const error = new Error('no stack for you');
    Object.defineProperty(error, 'stack', {
      get() {
        throw new Error('prepareStackTrace failed');
      },
    });
    expect(() => logger.error(error)).not.toThrow();
    for (const index of [1, 2, 3]) logger.info(`after ${index}`);
    await transport.flush();
    expect(warnings).toEqual([]);
    const lines = bodyLines(server.mails[0]!).map(text);
    expect(lines).toEqual([
      '[entry could not be rendered: Error: prepareStackTrace failed]',
      'after 1',
      'after 2',
      'after 3',
    ]);
  });
});
