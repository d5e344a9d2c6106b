import winston from 'winston';
import { withoutFoot } from '../helpers/smtp';
import { BufferedMailTransport, type BufferedMailTransportOptions, type MailMessage } from '../../src';

const transports: BufferedMailTransport[] = [];

function recordingTransport(options: Partial<BufferedMailTransportOptions>): {
  transport: BufferedMailTransport;
  sent: MailMessage[];
} {
  const sent: MailMessage[] = [];
  const transport = new BufferedMailTransport({
    transporter: {
      sendMail: (message) => {
        sent.push(message);
        return Promise.resolve({});
      },
    },
    from: 'app@example.com',
    to: 'ops@example.com',
    flushOnExit: false,
    ...options,
  });
  transports.push(transport);
  return { transport, sent };
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

describe('`level`', () => {
  test('that is not a string is a TypeError from the constructor', () => {
    expect(() => recordingTransport({ level: 5 as unknown as string })).toThrow(
      new TypeError('Expected `level` to be a level name such as `info`, got `5` (number)'),
    );
    expect(() => recordingTransport({ level: '' })).toThrow(TypeError);
  });

  test('that the logger does not have is a RangeError when the transport is added', () => {
    const { transport } = recordingTransport({ level: 'notice' });
    expect(() => winston.createLogger({ transports: [transport] })).toThrow(
      new RangeError(
        'Expected `level` to be one of the logger\'s levels (error, warn, info, http, verbose, debug, silly), got `"notice"`',
      ),
    );
  });

  test("that the logger has is accepted, and judged by the logger's levels", async () => {
    const { transport, sent } = recordingTransport({ level: 'notice', capacity: 10 });
    const logger = winston.createLogger({
      levels: winston.config.syslog.levels,
      level: 'debug',
      transports: [transport],
    });
    logger.log('info', 'too verbose for the transport');
    logger.log('notice', 'kept');
    logger.log('crit', 'kept too');
    await transport.flush();
    expect(
      sent.map(
        (message) =>
          withoutFoot(message.text)
            .split('\n')
            .filter((line) => line !== '').length,
      ),
    ).toEqual([2]);
    expect(sent[0]?.text).not.toContain('too verbose');
  });

  test('a wrong `level` is reported before a wrong `flushLevel`', () => {
    const { transport } = recordingTransport({ level: 'verbose2', flushLevel: 'crit' });
    expect(() => winston.createLogger({ transports: [transport] })).toThrow(/^Expected `level` to be one of/);
  });
});

test("the transport has a name, as winston's transports do", () => {
  const { transport } = recordingTransport({});
  expect(transport.name).toBe('buffered-mail');
});

test('a `fingerprint` option that throws is told once, as EFINGERPRINT, and the default is used', async () => {
  const { transport } = recordingTransport({
    fingerprint: () => {
      throw new Error('no key for you');
    },
  });
  const warnings: Array<{ code?: string; message: string }> = [];
  transport.on('warn', (warning) => warnings.push(warning));
  const logger = winston.createLogger({ transports: [transport] });
  logger.error('first');
  logger.error('second');
  await transport.flush();
  expect(warnings.map((warning) => warning.code)).toEqual(['EFINGERPRINT']);
  expect(warnings[0]?.message).toMatch(
    /^The `fingerprint` option failed; the default fingerprint is used: .*no key for you/,
  );
});
