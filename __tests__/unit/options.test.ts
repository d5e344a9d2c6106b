import winston from 'winston';
import { BufferedMailTransport, type BufferedMailTransportOptions } from '../../src';
import { resolveOptions } from '../../src/options';

const smtp = { host: 'smtp.example.com', auth: { user: 'app', pass: 'Hunter2-secret' } };
const valid: BufferedMailTransportOptions = { smtp, from: 'app@example.com', to: 'ops@example.com' };

function constructionError(options: unknown): Error {
  try {
    new BufferedMailTransport(options as BufferedMailTransportOptions);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the constructor accepted the options');
}

describe('configuration errors are thrown by the constructor and name the option', () => {
  test.each<[string, unknown, ErrorConstructor, string]>([
    [
      'missing from',
      { smtp, to: 'ops@example.com' },
      TypeError,
      'Expected `from` to be an e-mail address, got `undefined` (undefined)',
    ],
    [
      'missing to',
      { smtp, from: 'app@example.com' },
      TypeError,
      'Expected `to` to be an e-mail address or a non-empty array of them, got `undefined` (undefined)',
    ],
    [
      'empty to list',
      { ...valid, to: [] },
      TypeError,
      'Expected `to` to be an e-mail address or a non-empty array of them, got an array',
    ],
    [
      'a to entry that is no address',
      { ...valid, to: ['ops@example.com', 'nobody'] },
      TypeError,
      'Expected `to[1]` to be an e-mail address, got `"nobody"` (string)',
    ],
    [
      'a line break in from',
      { ...valid, from: 'app@example.com\r\nBcc: x@evil.test' },
      TypeError,
      'Expected `from` to be an e-mail address without line breaks or control characters',
    ],
    [
      'neither smtp nor transporter',
      { from: 'app@example.com', to: 'ops@example.com' },
      TypeError,
      'Expected exactly one of `smtp` (an SMTP server) and `transporter` (a nodemailer transporter), got neither',
    ],
    [
      'a store that is a URL',
      { ...valid, store: 'redis://127.0.0.1:6379' },
      TypeError,
      'Expected `store` to be a shared store such as `new RedisStore({ url })` from \'winston-buffered-mail/redis\', got `"redis://127.0.0.1:6379"` (string)',
    ],
    [
      'a store that is an ioredis client',
      { ...valid, store: { get: () => undefined, sendCommand: () => undefined, status: 'ready' } },
      TypeError,
      "Expected `store` to be a shared store, got a Redis client: pass `new RedisStore({ client })` from 'winston-buffered-mail/redis'",
    ],
    [
      'both smtp and transporter',
      { ...valid, transporter: { sendMail: () => Promise.resolve({}) } },
      TypeError,
      'Expected exactly one of `smtp` and `transporter`, got both',
    ],
    [
      'capacity 0',
      { ...valid, capacity: 0 },
      RangeError,
      'Expected `capacity` to be a positive integer, got `0` (number)',
    ],
    [
      'capacity -5',
      { ...valid, capacity: -5 },
      RangeError,
      'Expected `capacity` to be a positive integer, got `-5` (number)',
    ],
    [
      'capacity 2.5',
      { ...valid, capacity: 2.5 },
      TypeError,
      'Expected `capacity` to be a positive integer, got `2.5` (number)',
    ],
    [
      'capacity as a string',
      { ...valid, capacity: '10' },
      TypeError,
      'Expected `capacity` to be a positive integer, got `"10"` (string)',
    ],
    [
      'port 0',
      { ...valid, smtp: { ...smtp, port: 0 } },
      RangeError,
      'Expected `smtp.port` to be an integer from 1 to 65535, got `0` (number)',
    ],
    [
      'port 70000',
      { ...valid, smtp: { ...smtp, port: 70000 } },
      RangeError,
      'Expected `smtp.port` to be an integer from 1 to 65535, got `70000` (number)',
    ],
    [
      'empty host',
      { ...valid, smtp: { ...smtp, host: '' } },
      TypeError,
      'Expected `smtp.host` to be a non-empty host name, got `""` (string)',
    ],
    [
      'blank host',
      { ...valid, smtp: { ...smtp, host: '   ' } },
      TypeError,
      'Expected `smtp.host` to be a non-empty host name, got `"   "` (string)',
    ],
    [
      'transporter without sendMail',
      { from: 'app@example.com', to: 'ops@example.com', transporter: {} },
      TypeError,
      'Expected `transporter` to be an object with a `sendMail(message)` method, got an object',
    ],
    [
      'subject of another type',
      { ...valid, subject: 42 },
      TypeError,
      'Expected `subject` to be a string or a function of the batch, got `42` (number)',
    ],
    [
      'secure as a string',
      { ...valid, smtp: { ...smtp, secure: 'yes' } },
      TypeError,
      'Expected `smtp.secure` to be a boolean, got `"yes"` (string)',
    ],
    [
      'negative socket timeout',
      { ...valid, smtp: { ...smtp, socketTimeoutMs: -1 } },
      RangeError,
      'Expected `smtp.socketTimeoutMs` to be a whole number of milliseconds from 1 to 2147483647 (about 24.8 days, the longest a Node.js timer waits), got `-1` (number)',
    ],
    [
      'closeTimeoutMs beyond what a timer can wait',
      { ...valid, closeTimeoutMs: Number.MAX_SAFE_INTEGER },
      RangeError,
      `Expected \`closeTimeoutMs\` to be a whole number of milliseconds from 1 to 2147483647 (about 24.8 days, the longest a Node.js timer waits), got \`${Number.MAX_SAFE_INTEGER}\` (number)`,
    ],
    [
      'a 30-day flushIntervalMs',
      { ...valid, flushIntervalMs: 30 * 24 * 3600 * 1000 },
      RangeError,
      'Expected `flushIntervalMs` to be a whole number of milliseconds from 1 to 2147483647 (about 24.8 days, the longest a Node.js timer waits), got `2592000000` (number)',
    ],
    [
      'retry.maxDelayMs beyond what a timer can wait',
      { ...valid, retry: { maxDelayMs: 2 ** 31 } },
      RangeError,
      'Expected `retry.maxDelayMs` to be a whole number of milliseconds from 1 to 2147483647 (about 24.8 days, the longest a Node.js timer waits), got `2147483648` (number)',
    ],
    [
      'rateLimit.perMs beyond what a timer can wait',
      { ...valid, rateLimit: { mails: 1, perMs: 2 ** 32 } },
      RangeError,
      'Expected `rateLimit.perMs` to be a whole number of milliseconds from 1 to 2147483647 (about 24.8 days, the longest a Node.js timer waits), got `4294967296` (number)',
    ],
    [
      'maxBufferedBytes too small',
      { ...valid, maxBufferedBytes: 1000 },
      RangeError,
      'Expected `maxBufferedBytes` to be an integer of at least 65536, got `1000` (number)',
    ],
    [
      'unknown TLS version',
      { ...valid, smtp: { ...smtp, tls: { minVersion: 'SSLv3' } } },
      TypeError,
      'Expected `smtp.tls.minVersion` to be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, got `"SSLv3"` (string)',
    ],
    [
      'an unknown subject token',
      { ...valid, subject: '{level} from {host}' },
      TypeError,
      'Expected `subject` to use only the tokens {count}, {level}, {first}, {hostname}, {since}, {until}, {dropped}, {top}, {topCount}, got `{host}`',
    ],
    [
      'maxMailBytes too small',
      { ...valid, maxMailBytes: 1000 },
      RangeError,
      'Expected `maxMailBytes` to be at least 49152 (room for the headers and a few lines of `maxLineBytes`), got `1000` (number)',
    ],
    [
      'maxBufferedEntries below capacity',
      { ...valid, capacity: 500, maxBufferedEntries: 100 },
      RangeError,
      'Expected `maxBufferedEntries` to be at least `capacity` (500), got `100` (number)',
    ],
    [
      'retry.attempts 0',
      { ...valid, retry: { attempts: 0 } },
      RangeError,
      'Expected `retry.attempts` to be a positive integer, got `0` (number)',
    ],
    [
      'rateLimit without perMs',
      { ...valid, rateLimit: { mails: 5 } },
      TypeError,
      'Expected `rateLimit.perMs` to be a whole number of milliseconds, got `undefined` (undefined)',
    ],
    [
      'context mode without flushLevel',
      { ...valid, mode: 'context', flushLevel: false },
      TypeError,
      "Expected a `flushLevel` with `mode: 'context'` (the level that sends the context), got `false`",
    ],
    [
      'an unknown mode',
      { ...valid, mode: 'burst' },
      TypeError,
      "Expected `mode` to be `'batch'` or `'context'`, got `\"burst\"` (string)",
    ],
    ['html as a string', { ...valid, html: 'yes' }, TypeError, 'Expected `html` to be a boolean, got `"yes"` (string)'],
    [
      'a blank spoolDir',
      { ...valid, spoolDir: ' ' },
      TypeError,
      'Expected `spoolDir` to be a folder path, got `" "` (string)',
    ],
    [
      'no options at all',
      undefined,
      TypeError,
      'Expected `options` to be an object with `from`, `to` and `smtp` or `transporter`, got `undefined` (undefined)',
    ],
  ])('%s', (_name, options, type, message) => {
    const error = constructionError(options);
    expect(error).toBeInstanceOf(type);
    expect(error.message).toBe(message);
  });

  test.each<[string, unknown]>([
    ['empty', ''],
    ['a number', 12345],
    ['an object', { secret: 'Hunter2-secret' }],
  ])('a password that is %s is rejected without echoing it', (_name, pass) => {
    const error = constructionError({ ...valid, smtp: { ...smtp, auth: { user: 'app', pass } } });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('Expected `smtp.auth.pass` to be a non-empty string');
    expect(error.message).not.toContain('12345');
    expect(error.message).not.toContain('Hunter2');
  });

  test('no error about another option echoes the password', () => {
    const error = constructionError({ ...valid, capacity: 0 });
    expect(error.message).not.toContain('Hunter2-secret');
  });
});

describe('resolveOptions', () => {
  test('applies the defaults: port 587, STARTTLS, verified certificates, TLS 1.2 at least, capacity 100', () => {
    const resolved = resolveOptions(valid);
    expect(resolved.capacity).toBe(100);
    expect(resolved.smtp).toMatchObject({
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      connectionTimeoutMs: 10_000,
      greetingTimeoutMs: 10_000,
      socketTimeoutMs: 60_000,
    });
    expect(resolved.to).toEqual(['ops@example.com']);
    expect(resolved.cc).toEqual([]);
  });

  test('freezes the result and leaves the caller options untouched', () => {
    const options = { ...valid, to: ['ops@example.com'], smtp: { ...smtp, tls: { ca: 'PEM' } } };
    const copy: unknown = JSON.parse(JSON.stringify(options));
    const resolved = resolveOptions(options);
    expect(options).toEqual(copy);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.to)).toBe(true);
    expect(Object.isFrozen(resolved.smtp)).toBe(true);
    options.to.push('late@example.com');
    expect(resolved.to).toEqual(['ops@example.com']);
  });

  test('keeps explicit values: secure true and a chosen port', () => {
    const resolved = resolveOptions({ ...valid, smtp: { ...smtp, port: 465, secure: true } });
    expect(resolved.smtp).toMatchObject({ port: 465, secure: true });
  });
});

describe('flushLevel is checked against the logger it is added to', () => {
  test('a flushLevel that the logger does not have is a clear error when the transport is added', () => {
    const transport = new BufferedMailTransport({ ...valid, flushLevel: 'crit' });
    expect(() => winston.createLogger({ transports: [transport] })).toThrow(
      'Expected `flushLevel` to be one of the logger\'s levels (error, warn, info, http, verbose, debug, silly), got `"crit"`',
    );
  });

  test("a flushLevel among the logger's own levels is accepted", () => {
    const transport = new BufferedMailTransport({ ...valid, flushLevel: 'crit' });
    expect(() => winston.createLogger({ levels: winston.config.syslog.levels, transports: [transport] })).not.toThrow();
  });
});
