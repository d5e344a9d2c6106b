import { defaultSubject, entryText, MAX_SUBJECT_LENGTH, renderSubject, renderText, sanitizeSubject } from '../src/render';
import type { MailBatch } from '../src';

const batch: MailBatch = { entries: [], count: 3, hostname: 'web-1' };

describe('subjects', () => {
  test('the default names the count and the host, in singular and plural', () => {
    expect(defaultSubject(batch)).toBe('3 log entries from web-1');
    expect(defaultSubject({ ...batch, count: 1 })).toBe('1 log entry from web-1');
  });

  test('line breaks and control characters cannot start a new header', () => {
    expect(sanitizeSubject('Payment failed\r\nBcc: victim@example.com')).toBe('Payment failed Bcc: victim@example.com');
    expect(sanitizeSubject('a\u0000b\u0007c\u2028d')).toBe('a b c d');
  });

  test('a very long subject is cut without splitting a character', () => {
    const long = '😀'.repeat(MAX_SUBJECT_LENGTH + 50);
    const cut = sanitizeSubject(long);
    expect(Array.from(cut)).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).toBe(`${'😀'.repeat(MAX_SUBJECT_LENGTH - 1)}…`);
  });

  test('subject text is never HTML-escaped', () => {
    expect(renderSubject('Info index = 0 <b>&</b>', batch, () => undefined)).toBe('Info index = 0 <b>&</b>');
  });

  test('a subject function that throws or returns a non-string falls back to the default and is reported', () => {
    const problems: string[] = [];
    const report = (error: Error) => problems.push(error.message);
    expect(renderSubject(() => { throw new Error('oops'); }, batch, report)).toBe('3 log entries from web-1');
    expect(renderSubject(() => 42 as unknown as string, batch, report)).toBe('3 log entries from web-1');
    expect(problems).toEqual([
      'The `subject` function threw: oops',
      'Expected the `subject` function to return a non-empty string, got number',
    ]);
  });
});

describe('body', () => {
  test('one entry per line, as the format rendered it, in order', () => {
    const MESSAGE = Symbol.for('message');
    const entries = [
      { level: 'info', message: 'a', [MESSAGE]: 'line A' },
      { level: 'info', message: 'b', [MESSAGE]: 'line B' },
    ];
    expect(renderText(entries)).toBe('line A\nline B\n');
  });

  test('an entry whose format produced no line gets the default line', () => {
    expect(entryText({ level: 'warn', message: 'raw', timestamp: 'T' })).toBe('T WARN  raw');
  });
});
