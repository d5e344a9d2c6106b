import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferedMailTransport, optionsFromEnv } from '../../src';

const base = {
  LOG_MAIL_SMTP_HOST: 'smtp.example.com',
  LOG_MAIL_SMTP_USER: 'app',
  LOG_MAIL_SMTP_PASS: 'Env-Secret-9',
  LOG_MAIL_FROM: 'app@example.com',
  LOG_MAIL_TO: 'ops@example.com, lead@example.com',
};

function errorOf(env: Record<string, string>): Error {
  try {
    optionsFromEnv(env);
  } catch (error) {
    return error as Error;
  }
  throw new Error('accepted');
}

describe('optionsFromEnv', () => {
  let folder: string | undefined;
  afterEach(() => {
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
    folder = undefined;
  });

  test('reads SMTP settings, addresses, capacity and the flush options', () => {
    folder = mkdtempSync(join(tmpdir(), 'wbm-env-'));
    writeFileSync(join(folder, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n...\n');
    const options = optionsFromEnv({
      ...base,
      LOG_MAIL_SMTP_PORT: '465',
      LOG_MAIL_SMTP_SECURE: 'true',
      LOG_MAIL_SMTP_CA_FILE: join(folder, 'ca.pem'),
      LOG_MAIL_CAPACITY: '50',
      LOG_MAIL_FLUSH_INTERVAL_MS: '60000',
      LOG_MAIL_FLUSH_LEVEL: 'error',
      LOG_MAIL_HTML: '1',
      LOG_MAIL_RATE_LIMIT_MAILS: '10',
      LOG_MAIL_RATE_LIMIT_PER_MS: '60000',
      UNRELATED: 'x',
    });
    expect(options).toEqual({
      smtp: {
        host: 'smtp.example.com',
        port: 465,
        secure: true,
        auth: { user: 'app', pass: 'Env-Secret-9' },
        tls: { ca: '-----BEGIN CERTIFICATE-----\n...\n' },
      },
      from: 'app@example.com',
      to: ['ops@example.com', 'lead@example.com'],
      capacity: 50,
      flushIntervalMs: 60000,
      flushLevel: 'error',
      html: true,
      rateLimit: { mails: 10, perMs: 60000 },
    });
    expect(() => new BufferedMailTransport(options)).not.toThrow();
  });

  test('LOG_MAIL_FLUSH_LEVEL=false turns the level trigger off, and LOG_MAIL_JOURNAL turns the journal on', () => {
    const options = optionsFromEnv({
      ...base,
      LOG_MAIL_FLUSH_LEVEL: 'false',
      LOG_MAIL_SPOOL_DIR: '/var/spool/app-mail',
      LOG_MAIL_JOURNAL: 'true',
    });
    expect(options).toMatchObject({ flushLevel: false, spoolDir: '/var/spool/app-mail', journal: true });
  });

  test('another prefix', () => {
    const options = optionsFromEnv(
      { APP_MAIL_SMTP_HOST: 'h.example.com', APP_MAIL_FROM: 'a@example.com', APP_MAIL_TO: 'b@example.com' },
      'APP_MAIL_',
    );
    expect(options).toMatchObject({ smtp: { host: 'h.example.com' }, to: ['b@example.com'] });
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'a port that is no number',
      { LOG_MAIL_SMTP_PORT: 'smtp' },
      'Expected `LOG_MAIL_SMTP_PORT` to be a whole number, got "smtp"',
    ],
    [
      'a port out of range',
      { LOG_MAIL_SMTP_PORT: '70000' },
      'Expected `LOG_MAIL_SMTP_PORT` to be an integer from 1 to 65535, got `70000` (number)',
    ],
    [
      'a capacity of 0',
      { LOG_MAIL_CAPACITY: '0' },
      'Expected `LOG_MAIL_CAPACITY` to be a positive integer, got `0` (number)',
    ],
    [
      'no recipient',
      { LOG_MAIL_TO: ' , ' },
      'Expected `LOG_MAIL_TO` to be an e-mail address or a non-empty array of them, got an array',
    ],
    [
      'a boolean that is neither',
      { LOG_MAIL_HTML: 'maybe' },
      'Expected `LOG_MAIL_HTML` to be true or false, got "maybe"',
    ],
    [
      'a missing CA file',
      { LOG_MAIL_SMTP_CA_FILE: '/nonexistent/ca.pem' },
      'Expected `LOG_MAIL_SMTP_CA_FILE` to name a readable PEM file, got "/nonexistent/ca.pem" (ENOENT)',
    ],
  ])('%s: the error names the variable', (_name, overrides, message) => {
    expect(errorOf({ ...base, ...overrides }).message).toBe(message);
  });

  test('no SMTP host at all says which variable to set', () => {
    const { LOG_MAIL_SMTP_HOST: _host, LOG_MAIL_SMTP_USER: _user, LOG_MAIL_SMTP_PASS: _pass, ...rest } = base;
    expect(errorOf(rest).message).toBe(
      'Expected exactly one of `LOG_MAIL_SMTP_HOST` (an SMTP server) and `transporter` (a nodemailer transporter), got neither',
    );
  });

  test('the password never appears in an error, whatever is wrong with it', () => {
    const error = errorOf({ ...base, LOG_MAIL_SMTP_PASS: 'Env-Secret-9', LOG_MAIL_CAPACITY: '-1' });
    expect(error.message).not.toContain('Env-Secret-9');
    const blank = errorOf({ ...base, LOG_MAIL_SMTP_USER: '', LOG_MAIL_SMTP_PASS: 'Env-Secret-9' });
    expect(blank.message).not.toContain('Env-Secret-9');
  });
});
