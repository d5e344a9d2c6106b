import winston from 'winston';
import { BufferedMailTransport } from '../../src';
import { OPTION_KEYS } from '../../src/option-keys';
import { resolveOptions, type BufferedMailTransportOptions } from '../../src/options';

const SECRET = 'Typo-Held-Secret-73';
const valid = {
  smtp: { host: 'smtp.example.com', auth: { user: 'app', pass: 'app-password' } },
  from: 'app@example.com',
  to: 'ops@example.com',
};

function resolutionError(options: unknown): Error {
  try {
    resolveOptions(options as BufferedMailTransportOptions);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the options were accepted');
}

function listOf(level: keyof typeof OPTION_KEYS): string {
  return OPTION_KEYS[level].map((key) => `\`${key}\``).join(', ');
}

describe('a key that is not an option is a TypeError naming it and the option probably meant', () => {
  test.each<[string, unknown, string]>([
    ['a misspelling', { ...valid, capasity: 10 }, 'Unknown option `capasity`; did you mean `capacity`?'],
    [
      'two letters swapped',
      { ...valid, flushLevle: 'error' },
      'Unknown option `flushLevle`; did you mean `flushLevel`?',
    ],
    ['another case', { ...valid, FlushLevel: 'error' }, 'Unknown option `FlushLevel`; did you mean `flushLevel`?'],
    [
      'the unit left out',
      { ...valid, flushInterval: 60_000 },
      'Unknown option `flushInterval`; did you mean `flushIntervalMs`?',
    ],
    [
      'in `retry`',
      { ...valid, retry: { attemps: 3 } },
      'Unknown option `retry.attemps`; did you mean `retry.attempts`?',
    ],
    [
      'in `rateLimit`, a prefix',
      { ...valid, rateLimit: { mails: 5, per: 60_000 } },
      'Unknown option `rateLimit.per`; did you mean `rateLimit.perMs`?',
    ],
    [
      'in `smtp.tls`, British spelling',
      { ...valid, smtp: { ...valid.smtp, tls: { rejectUnauthorised: false } } },
      'Unknown option `smtp.tls.rejectUnauthorised`; did you mean `smtp.tls.rejectUnauthorized`?',
    ],
    [
      'in `smtp`, nodemailer’s name without the unit',
      { ...valid, smtp: { ...valid.smtp, connectionTimeout: 5000 } },
      'Unknown option `smtp.connectionTimeout`; did you mean `smtp.connectionTimeoutMs`?',
    ],
    [
      'winston’s Http transport batching name',
      { ...valid, batchCount: 10 },
      'Unknown option `batchCount`; did you mean `capacity`?',
    ],
    [
      'winston’s Http transport batching interval',
      { ...valid, batchInterval: 5000 },
      'Unknown option `batchInterval`; did you mean `flushIntervalMs`?',
    ],
  ])('%s', (_what, options, message) => {
    const error = resolutionError(options);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });
});

describe('an option at the wrong level says where it belongs', () => {
  test.each<[string, unknown, string]>([
    [
      '`smtp.user`',
      { ...valid, smtp: { host: 'smtp.example.com', user: 'app' } },
      'Unknown option `smtp.user`; `user` belongs in `smtp.auth.user`',
    ],
    [
      '`smtp.rejectUnauthorized`',
      { ...valid, smtp: { ...valid.smtp, rejectUnauthorized: false } },
      'Unknown option `smtp.rejectUnauthorized`; `rejectUnauthorized` belongs in `smtp.tls.rejectUnauthorized`',
    ],
    [
      '`host` at the top',
      { ...valid, host: 'smtp.example.com' },
      'Unknown option `host`; `host` belongs in `smtp.host`',
    ],
    [
      '`smtp.from`',
      { ...valid, smtp: { ...valid.smtp, from: 'app@example.com' } },
      'Unknown option `smtp.from`; `from` belongs at the top level of the options',
    ],
  ])('%s', (_what, options, message) => {
    const error = resolutionError(options);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });
});

describe('a key with nothing close lists the options of its level', () => {
  test('in `retry`', () => {
    expect(resolutionError({ ...valid, retry: { backoff: 'exponential' } }).message).toBe(
      'Unknown option `retry.backoff`; the options of `retry` are `attempts`, `minDelayMs`, `maxDelayMs`',
    );
  });

  test('at the top, every option', () => {
    const { message } = resolutionError({ ...valid, verbosity: 3 });
    expect(message).toMatch(/^Unknown option `verbosity`; the options are `smtp`, `transporter`, `from`, /);
    expect(message).toBe(`Unknown option \`verbosity\`; the options are ${listOf('')}`);
  });
});

describe('the value of an unknown key is never shown', () => {
  test('a password under a misspelt key', () => {
    const error = resolutionError({
      ...valid,
      smtp: { host: 'smtp.example.com', auth: { user: 'app', passwd: SECRET } },
    });
    expect(error.message).toBe('Unknown option `smtp.auth.passwd`; did you mean `smtp.auth.pass`?');
    expect(error.message).not.toContain(SECRET);
  });

  test('nodemailer’s and other libraries’ names for the credentials', () => {
    const error = resolutionError({
      ...valid,
      smtp: { host: 'smtp.example.com', auth: { username: 'app', password: SECRET } },
    });
    expect(error.message).toBe('Unknown option `smtp.auth.username`; did you mean `smtp.auth.user`?');
    expect(resolutionError({ ...valid, smtp: { host: 'h', auth: { user: 'app', password: SECRET } } }).message).toBe(
      'Unknown option `smtp.auth.password`; did you mean `smtp.auth.pass`?',
    );
  });

  test('a key that does not look like an option name is not repeated', () => {
    expect(resolutionError({ ...valid, [`app:${SECRET}`]: true }).message).toBe(
      'Unknown option: a key that is not an option name (not shown: it may hold a password)',
    );
    const auth = { user: 'app', pass: 'app-password', [`pass\n${SECRET}`]: 'x' };
    expect(resolutionError({ ...valid, smtp: { host: 'smtp.example.com', auth } }).message).toBe(
      'Unknown option in `smtp.auth`: a key that is not an option name (not shown: it may hold a password)',
    );
    expect(resolutionError({ ...valid, ['x'.repeat(65)]: true }).message).toBe(
      'Unknown option: a key that is not an option name (not shown: it may hold a password)',
    );
  });
});

describe('which keys count', () => {
  test('a key whose value is undefined is a typo all the same', () => {
    expect(resolutionError({ ...valid, capasity: undefined }).message).toBe(
      'Unknown option `capasity`; did you mean `capacity`?',
    );
  });

  test('unknown keys are reported before the values of known ones are checked', () => {
    expect(resolutionError({ ...valid, capacity: 0, retry: { attemps: 3 } }).message).toBe(
      'Unknown option `retry.attemps`; did you mean `retry.attempts`?',
    );
  });

  test('every key of both forms of credentials is known at `smtp.auth`', () => {
    const oauthKeys = ['type', 'accessToken', 'refreshToken', 'clientId', 'clientSecret'];
    const moreKeys = ['serviceClient', 'privateKey', 'expires', 'accessUrl'];
    for (const key of ['user', 'pass', ...oauthKeys, ...moreKeys]) {
      const auth = { user: 'app', pass: 'app-password', [key]: key === 'expires' ? 1 : 'x' };
      expect(() => resolveOptions({ ...valid, smtp: { host: 'smtp.example.com', auth } })).not.toThrow(
        /^Unknown option/,
      );
    }
  });

  test('the objects given as `transporter`, `clock` and `format` are the user’s, and are not checked', () => {
    const transporter = { sendMail: () => Promise.resolve({}), pool: true, anything: 1 };
    const clock = { now: () => 0, setTimeout: () => ({}), clearTimeout: () => undefined, extra: true };
    const format = Object.assign(winston.format.json(), { anything: true });
    expect(() =>
      resolveOptions({ transporter, clock, format, from: 'app@example.com', to: 'ops@example.com' }),
    ).not.toThrow();
  });

  test('every documented option, at every level, is accepted', () => {
    expect(() =>
      resolveOptions({
        smtp: {
          host: 'smtp.example.com',
          port: 465,
          secure: true,
          auth: { user: 'app', pass: 'app-password' },
          tls: { ca: 'PEM', servername: 'smtp.example.com', rejectUnauthorized: true, minVersion: 'TLSv1.3' },
          connectionTimeoutMs: 1000,
          greetingTimeoutMs: 1000,
          socketTimeoutMs: 1000,
          name: 'app.example.com',
        },
        from: 'app@example.com',
        to: 'ops@example.com',
        cc: [],
        bcc: [],
        subject: '{count}',
        html: true,
        attachJson: true,
        maxLineBytes: 1000,
        maxMailBytes: 100_000,
        capacity: 10,
        flushIntervalMs: 1000,
        flushLevel: 'error',
        mode: 'batch',
        flushOnExit: false,
        closeTimeoutMs: 1000,
        retry: { attempts: 2, minDelayMs: 10, maxDelayMs: 100 },
        maxBufferedBytes: 1_000_000,
        maxBufferedEntries: 100,
        rateLimit: { mails: 5, perMs: 1000 },
        spoolDir: '/tmp/spool',
        level: 'info',
        silent: false,
        handleExceptions: false,
        handleRejections: false,
      }),
    ).not.toThrow();
  });
});

describe('the constructor and configuration files get the same check', () => {
  test('the constructor throws the TypeError', () => {
    expect(() => new BufferedMailTransport({ ...valid, capasity: 10 } as BufferedMailTransportOptions)).toThrow(
      new TypeError('Unknown option `capasity`; did you mean `capacity`?'),
    );
  });

  test('options read from a JSON file, as `send --config` reads them', () => {
    const file = JSON.stringify({
      smtp: { host: 'smtp.example.com', port: 587, auth: { user: 'app', passwd: SECRET } },
      from: 'app@example.com',
      to: ['ops@example.com'],
    });
    const options = JSON.parse(file) as BufferedMailTransportOptions;
    expect(() => new BufferedMailTransport(options)).toThrow(
      new TypeError('Unknown option `smtp.auth.passwd`; did you mean `smtp.auth.pass`?'),
    );
  });
});
