import winston from 'winston';
import { BufferedMailTransport, type BufferedMailTransportOptions, type LogEntry } from '../../src';

const MESSAGE = Symbol.for('message');
const transports: BufferedMailTransport[] = [];

function loggedLines(options: Partial<BufferedMailTransportOptions>, log: (logger: winston.Logger) => void): unknown[] {
  const transport = new BufferedMailTransport({
    transporter: { sendMail: () => Promise.resolve({}) },
    from: 'app@example.com',
    to: 'ops@example.com',
    flushOnExit: false,
    ...options,
  });
  transports.push(transport);
  const lines: unknown[] = [];
  transport.on('logged', (info: LogEntry) => lines.push(info[MESSAGE]));
  log(winston.createLogger({ transports: [transport] }));
  return lines;
}

beforeEach(() =>
  jest.useFakeTimers({ now: new Date('2026-11-24T04:32:08.123Z'), doNotFake: ['nextTick', 'setImmediate'] }),
);
afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

describe("the 'logged' event", () => {
  test('carries the default line, redacted, though the transport keeps the entry without making it', () => {
    const lines = loggedLines({}, (logger) => {
      logger.info('signed in', { user: 'ada', password: 'hunter2' });
      logger.warn('slow', { durationMs: 1200 });
    });
    expect(lines).toEqual([
      '2026-11-24T04:32:08.123Z INFO  signed in {"user":"ada","password":"[redacted]"}',
      '2026-11-24T04:32:08.123Z WARN  slow {"durationMs":1200}',
    ]);
  });

  test('carries the default line with redaction off, not the logger’s own JSON line', () => {
    const lines = loggedLines({ redact: false }, (logger) => logger.info('signed in', { password: 'hunter2' }));
    expect(lines).toEqual(['2026-11-24T04:32:08.123Z INFO  signed in {"password":"hunter2"}']);
  });

  test('hands over an info object that another transport, logging it again, reads afresh', async () => {
    const sent: string[] = [];
    const second = new BufferedMailTransport({
      transporter: {
        sendMail: (message) => {
          sent.push(String(message.text));
          return Promise.resolve({});
        },
      },
      from: 'app@example.com',
      to: 'ops@example.com',
      flushOnExit: false,
      format: winston.format.printf((info) => `custom ${String(info.message)}`),
    });
    transports.push(second);
    const relogger = winston.createLogger({ transports: [second] });
    loggedLines({}, (logger) => {
      transports.at(-1)?.on('logged', (info: LogEntry) => relogger.log({ ...info } as winston.LogEntry));
      logger.info('signed in');
    });
    await second.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('custom signed in');
  });

  test('carries the line a custom format made', () => {
    const format = winston.format.printf((info) => `custom ${String(info.message)}`);
    const lines = loggedLines({ format }, (logger) => logger.info('signed in'));
    expect(lines).toEqual(['custom signed in']);
  });
});
