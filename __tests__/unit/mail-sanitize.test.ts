import { sanitizeError, secretForms, type SmtpError } from '../../src/mail';
import { resolveOptions } from '../../src/options';

function formsFor(user: string, pass: string): string[] {
  const { smtp } = resolveOptions({
    smtp: { host: 'mail.example.com', auth: { user, pass } },
    from: 'a@b.c',
    to: 'd@e.f',
  });
  return secretForms(smtp);
}

/** Every way the password can travel, computed here rather than taken from `secretForms`. */
function everyFormOf(user: string, pass: string): Record<string, string> {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    raw: pass,
    'base64 (AUTH LOGIN)': base64(pass),
    'base64 without padding': base64(pass).replace(/=+$/, ''),
    'SASL PLAIN, empty authzid': base64(`\u0000${user}\u0000${pass}`),
    'SASL PLAIN, authzid = user': base64(`${user}\u0000${user}\u0000${pass}`),
    'URL-encoded': encodeURIComponent(pass),
  };
}

/** Every string a sanitized error exposes: message, stack, and each of its own properties. */
function everythingIn(error: SmtpError): string {
  return JSON.stringify({ ...error, message: error.message, stack: error.stack });
}

function serverError(text: string): SmtpError {
  return Object.assign(new Error(`Invalid login: ${text}`), {
    code: 'EAUTH',
    command: `AUTH PLAIN ${text}`,
    responseCode: 535,
    response: `535 ${text}`,
  });
}

describe('sanitizeError redacts the text that came from outside', () => {
  const user = 'app';
  const pass = 'S3cret pass/ü=';

  test.each(Object.entries(everyFormOf(user, pass)))(
    'the %s form is removed from message, reply and command',
    (_name, form) => {
      const clean = sanitizeError(serverError(`echo ${form} echo`), formsFor(user, pass), 'Could not mail 1 log entry');

      expect(everythingIn(clean)).not.toContain(form);
      expect(clean.message).toContain('Invalid login: echo [redacted] echo');
      expect(clean.response).toBe('535 echo [redacted] echo');
      expect(clean.command).toBe('AUTH PLAIN echo [redacted] echo');
    },
  );

  test('a password of four letters is still removed wherever the server wrote it, even inside a word', () => {
    const clean = sanitizeError(
      serverError('mail rejected for mailbox'),
      formsFor(user, 'mail'),
      'Could not mail 3 log entries',
      false,
    );

    expect(clean.message).toBe('Could not mail 3 log entries: Invalid login: [redacted] rejected for [redacted]box');
    expect(clean.response).toBe('535 [redacted] rejected for [redacted]box');
  });

  test('our own words are never rewritten: the context and the hint stay as written', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), {
      code: 'ESOCKET',
      originalCode: 'ECONNREFUSED',
      command: 'CONN',
    });
    // "mail", "port" and "smtp" all occur in the context or the hint.
    for (const password of ['mail', 'port', 'smtp', 'the']) {
      const clean = sanitizeError(refused, formsFor(user, password), 'Could not mail 3 log entries');
      expect(clean.message).toBe(
        'Could not mail 3 log entries: connect ECONNREFUSED 127.0.0.1:2525; check `smtp.host` and `smtp.port`, and that the server is reachable',
      );
    }
  });

  test('a password with the characters of a pattern matches only itself', () => {
    const clean = sanitizeError(new Error('a.b*c( axbbc( a.b*c('), ['a.b*c('], 'Context');
    expect(clean.message).toBe('Context: [redacted] axbbc( [redacted]');
  });

  test('a password that occurs in the marker is not redacted again inside it', () => {
    const clean = sanitizeError(new Error('red light'), ['red', 'dac'], 'Context');
    expect(clean.message).toBe('Context: [redacted] light');
  });

  test('a password cut by the length limit leaves no prefix behind', () => {
    const secret = 'Sup3rSecretValue';
    const clean = sanitizeError(new Error(`${'x'.repeat(1995)}${secret}${'y'.repeat(5000)}`), [secret], 'Context');
    expect(clean.message).not.toContain('Sup3r');
    expect(clean.message).toMatch(/^Context: x{1995}\[reda… \[cut\]$/);
    expect(clean.message.length).toBeLessThan(2100);
  });
});

describe('sanitizeError keeps what helps', () => {
  test('code, originalCode, responseCode, command, response, timeoutType and tlsMode are kept, the stack is one line', () => {
    const error = Object.assign(new Error('Greeting never received'), {
      code: 'ETIMEDOUT',
      originalCode: 'ECONNRESET',
      responseCode: 421,
      command: 'CONN',
      response: '421 busy',
      timeoutType: 'GREETING_TIMEOUT',
      tlsMode: 'starttls' as const,
      cert: { raw: 'not copied' },
    });
    const clean = sanitizeError(error, [], 'Could not mail 1 log entry', false);

    expect({ ...clean }).toEqual({
      code: 'ETIMEDOUT',
      originalCode: 'ECONNRESET',
      responseCode: 421,
      command: 'CONN',
      response: '421 busy',
      timeoutType: 'GREETING_TIMEOUT',
      tlsMode: 'starttls',
    });
    expect(clean.message).toBe('Could not mail 1 log entry: Greeting never received');
    expect(clean.stack).toBe('Error: Could not mail 1 log entry: Greeting never received');
  });

  test('the hint is added only when asked for, and an empty context leaves the message alone', () => {
    const error = Object.assign(new Error('Invalid login'), { code: 'EAUTH', responseCode: 535, response: '535 no' });
    expect(sanitizeError(error, [], '').message).toBe(
      'Invalid login; the server refused the login: check `smtp.auth.user` and `smtp.auth.pass`',
    );
    expect(sanitizeError(error, [], 'Context', false).message).toBe('Context: Invalid login');
  });

  test('control characters from the server are neutralized, line breaks and tabs kept', () => {
    const clean = sanitizeError(
      Object.assign(new Error('550 \u001b[31mred\u0007\r\nsecond\tline'), { response: '550 \u001b]0;title\u0007' }),
      [],
      'Context',
    );
    expect(clean.message).toBe('Context: 550 ?[31mred??\nsecond\tline');
    expect(clean.response).toBe('550 ?]0;title?');
  });
});

describe('sanitizeError takes anything that was thrown', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();

  test.each<[string, unknown, string]>([
    ['a string', 'plain words', 'Context: plain words'],
    ['undefined', undefined, 'Context: undefined'],
    ['an object without a message', { code: 'EX' }, 'Context: [object Object]'],
    ['a revoked Proxy', revoked.proxy, 'Context: Unknown error'],
    [
      'an object whose getters throw',
      Object.defineProperty({}, 'message', {
        get() {
          throw new Error('getter');
        },
      }),
      'Context: [object Object]',
    ],
  ])('%s', (_name, value, message) => {
    expect(sanitizeError(value, ['secret'], 'Context', false).message).toBe(message);
  });
});

describe('secretForms', () => {
  test('lists each form once, and nothing without a login', () => {
    const forms = formsFor('app', 'pass');
    expect(new Set(forms).size).toBe(forms.length);
    expect(forms).toContain('pass');
    expect(secretForms(undefined)).toEqual([]);
    expect(
      secretForms(resolveOptions({ smtp: { host: 'mail.example.com' }, from: 'a@b.c', to: 'd@e.f' }).smtp),
    ).toEqual([]);
  });
});
