import nodemailer from 'nodemailer';
import {
  AUTOMATED_HEADERS,
  automatedHeaders,
  mailHeaders,
  mergeHeaders,
  priorityOf,
  resolveHeaders,
} from '../../src/mail/headers';
import { NPM_LEVELS } from '../../src/render/severity';

const SYSLOG_LEVELS = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };

/** The header lines nodemailer writes for a message, as the server would receive them. */
async function headerLinesOf(message: Record<string, unknown>): Promise<string[]> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const info = await transport.sendMail({ from: 'app@example.com', to: 'ops@example.com', text: 'x', ...message });
  const raw = (info as unknown as { message: Buffer }).message.toString('utf8');
  return raw.slice(0, raw.indexOf('\n\n')).split('\n');
}

describe('priorityOf', () => {
  test.each([
    ['error', 'high'],
    ['warn', 'normal'],
    ['info', 'normal'],
    ['silly', 'normal'],
    ['unknown', 'normal'],
  ])('npm level %s: %s', (level, priority) => {
    expect(priorityOf(level, NPM_LEVELS)).toBe(priority);
    expect(priorityOf(level)).toBe(priority);
  });

  test.each([
    ['emerg', 'high'],
    ['crit', 'high'],
    ['error', 'high'],
    ['warning', 'normal'],
    ['info', 'normal'],
  ])('syslog level %s: %s, judged by the logger’s own numbers', (level, priority) => {
    expect(priorityOf(level, SYSLOG_LEVELS)).toBe(priority);
  });

  test('an `err` level counts as `error`; levels with neither mark only their most severe one', () => {
    expect(priorityOf('err', { fatal: 0, err: 1, note: 2 })).toBe('high');
    expect(priorityOf('fatal', { fatal: 0, err: 1, note: 2 })).toBe('high');
    expect(priorityOf('note', { fatal: 0, err: 1, note: 2 })).toBe('normal');
    expect(priorityOf('bad', { bad: 0, worse: 1, ok: 2 })).toBe('high');
    expect(priorityOf('worse', { bad: 0, worse: 1, ok: 2 })).toBe('normal');
  });
});

describe('automatedHeaders', () => {
  test('every mail says it was sent by a program, and its priority follows its level', () => {
    expect(automatedHeaders('error')).toEqual({
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      priority: 'high',
    });
    expect(automatedHeaders('info', NPM_LEVELS).priority).toBe('normal');
  });

  test('plugs into a nodemailer message as it is', async () => {
    const { headers, priority } = automatedHeaders('error');

    const lines = await headerLinesOf({ headers, priority });

    expect(lines).toEqual(
      expect.arrayContaining([
        'Auto-Submitted: auto-generated',
        'X-Auto-Response-Suppress: All',
        'X-Priority: 1 (Highest)',
        'Importance: High',
      ]),
    );
  });

  test('a normal mail carries no priority header', async () => {
    const { headers, priority } = automatedHeaders('info');

    const lines = await headerLinesOf({ headers, priority });

    expect(lines).toContain('Auto-Submitted: auto-generated');
    expect(lines.filter((line) => /Priority|Importance/.test(line))).toEqual([]);
  });
});

describe('mergeHeaders and mailHeaders', () => {
  test('a later set replaces a field whatever the case of its name, so that nodemailer sends it once', () => {
    expect(mergeHeaders({ 'Auto-Submitted': 'auto-generated', A: '1' }, { 'auto-submitted': 'no', B: '2' })).toEqual({
      A: '1',
      'auto-submitted': 'no',
      B: '2',
    });
  });

  test('mailHeaders puts the automated ones first, then the thread’s, then the user’s', async () => {
    const user = resolveHeaders({ 'X-Team': 'payments', 'auto-submitted': 'auto-replied' });

    const { headers, priority } = mailHeaders('warn', NPM_LEVELS, user, { 'Thread-Index': 'AQID' });
    const lines = await headerLinesOf({ headers, priority });

    expect(headers).toEqual({
      'X-Auto-Response-Suppress': 'All',
      'Thread-Index': 'AQID',
      'X-Team': 'payments',
      'auto-submitted': 'auto-replied',
    });
    expect(priority).toBe('normal');
    expect(lines.filter((line) => /^auto-submitted:/i.test(line))).toEqual(['Auto-Submitted: auto-replied']);
  });

  test('the headers handed over are a new object every time, never the frozen defaults', () => {
    const first = automatedHeaders('info').headers;

    expect(first).not.toBe(AUTOMATED_HEADERS);
    expect(Object.isFrozen(first)).toBe(false);
    expect(mailHeaders('info', NPM_LEVELS, {}).headers).not.toBe(first);
  });
});

describe('resolveHeaders', () => {
  test('keeps valid headers as they are, frozen; Reply-To and List-Id are the user’s to set', () => {
    const resolved = resolveHeaders({
      'X-Team': 'payments',
      'Reply-To': 'oncall@example.com',
      'List-Id': 'App logs <logs.app.example.com>',
      'X-Note': 'naïve\tvalue',
    });

    expect(resolved).toEqual({
      'X-Team': 'payments',
      'Reply-To': 'oncall@example.com',
      'List-Id': 'App logs <logs.app.example.com>',
      'X-Note': 'naïve\tvalue',
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(resolveHeaders(undefined)).toEqual({});
  });

  test.each([
    ['To', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['bcc', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['FROM', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['Sender', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['Resent-To', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['Return-Path', 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`'],
    ['Subject', 'the subject comes from `subject`'],
    ['Message-ID', 'the transport sets it for each mail'],
    ['In-Reply-To', 'the transport sets it for each mail'],
    ['References', 'the transport sets it for each mail'],
    ['Date', 'the transport sets it for each mail'],
    ['Thread-Index', 'the transport sets it for each mail'],
    ['X-Priority', 'it follows the most severe level of each mail'],
    ['Importance', 'it follows the most severe level of each mail'],
    ['MIME-Version', 'it describes the MIME structure that nodemailer builds'],
    ['Content-Type', 'it describes the MIME structure that nodemailer builds'],
    ['content-transfer-encoding', 'it describes the MIME structure that nodemailer builds'],
  ])('refuses `%s`: %s', (name, reason) => {
    expect(() => resolveHeaders({ [name]: 'x' })).toThrow(
      new TypeError(`Expected \`headers.${name}\` not to be set: ${reason}`),
    );
  });

  test.each<[unknown, string, ErrorConstructor]>([
    ['X-Team: a', 'Expected `headers` to be an object of header names to values, got a string', TypeError],
    [[['X-Team', 'a']], 'Expected `headers` to be an object of header names to values, got an array', TypeError],
    [
      { 'X Team': 'a' },
      'Expected `headers` to have RFC 5322 field names (printable ASCII without spaces or `:`), got "X Team"',
      TypeError,
    ],
    [
      { 'X-Team:': 'a' },
      'Expected `headers` to have RFC 5322 field names (printable ASCII without spaces or `:`), got "X-Team:"',
      TypeError,
    ],
    [
      { 'X-Tëam': 'a' },
      'Expected `headers` to have RFC 5322 field names (printable ASCII without spaces or `:`), got "X-Tëam"',
      TypeError,
    ],
    [
      { [`X-${'a'.repeat(63)}`]: 'a' },
      `Expected \`headers.X-${'a'.repeat(63)}\` to be a field name of at most 64 characters`,
      RangeError,
    ],
    [
      { 'X-Team': 'a', 'x-team': 'b' },
      'Expected `headers` to name each field once, got `X-Team` and `x-team`',
      TypeError,
    ],
    [{ 'X-Token': 42 }, 'Expected `headers.X-Token` to be a non-empty string, got a number', TypeError],
    [{ 'X-Token': '  ' }, 'Expected `headers.X-Token` to be a non-empty string, got an empty string', TypeError],
    [
      { 'X-Token': 'abc\r\nBcc: victim@example.com' },
      'Expected `headers.X-Token` to be one line without control characters',
      TypeError,
    ],
    [{ 'X-Token': 'abc\u0000' }, 'Expected `headers.X-Token` to be one line without control characters', TypeError],
    [{ 'X-Long': 'a'.repeat(901) }, 'Expected `headers.X-Long` to be at most 900 characters, got 901', RangeError],
    [
      Object.fromEntries(Array.from({ length: 31 }, (_, index) => [`X-H${index}`, 'v'])),
      'Expected `headers` to have at most 30 headers, got 31',
      RangeError,
    ],
  ])('refuses %p', (option, message, type) => {
    expect(() => resolveHeaders(option)).toThrow(type);
    expect(() => resolveHeaders(option)).toThrow(message);
  });

  test('never repeats a value, which may be a relay’s credential', () => {
    const secret = 'sk_live_abc123';

    expect(() => resolveHeaders({ 'X-Api-Key': `${secret}\n` })).toThrow(
      /^Expected `headers.X-Api-Key` to be one line without control characters$/,
    );
  });

  test('a header named __proto__ stays a header, and sets no prototype', () => {
    const resolved = resolveHeaders(JSON.parse('{"__proto__":"x"}'));

    expect(Object.getOwnPropertyNames(resolved)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
  });
});
