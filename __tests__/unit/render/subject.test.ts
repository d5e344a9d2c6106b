import {
  cutCharacters,
  defaultSubject,
  describeBatch,
  MAX_SUBJECT_LENGTH,
  renderSubject,
  sanitizeSubject,
  timestampOf,
  topSubject,
} from '../../../src/render/subject';
import type { LogEntry } from '../../../src';

const LEVEL = Symbol.for('level');

function entry(level: string, message: unknown, at = '2026-11-24T04:32:08.123Z'): LogEntry {
  return { level, [LEVEL]: level, message, timestamp: at };
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const batch = describeBatch(
  [
    entry('info', 'warming up', '2026-11-24T04:00:00.000Z'),
    entry('error', 'Payment declined for order 1234\nat line 2'),
    entry('warn', 'slow', '2026-11-24T04:59:59.999Z'),
  ],
  { hostname: 'web-1', dropped: 3 },
);

describe('the default subject', () => {
  test('the most severe level, the count, the host, the first line of the worst message', () => {
    expect(defaultSubject(batch)).toBe('[ERROR] 3 log entries from web-1: Payment declined for order 1234');
    expect(defaultSubject({ ...batch, count: 1 })).toBe(
      '[ERROR] 1 log entry from web-1: Payment declined for order 1234',
    );
  });

  test('the first most severe entry names the batch', () => {
    const described = describeBatch([entry('info', 'a'), entry('error', 'first error'), entry('error', 'second')]);
    expect([described.level, described.first]).toEqual(['error', 'first error']);
  });

  test('{first} is cut to 80 characters', () => {
    const long = describeBatch([entry('error', 'x'.repeat(500))]);
    expect(long.first).toBe(`${'x'.repeat(79)}…`);
  });

  test('the most severe level follows the logger levels (syslog here)', () => {
    const syslog = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    const described = describeBatch([entry('warning', 'w'), entry('crit', 'disk gone'), entry('error', 'e')], {
      levels: syslog,
    });
    expect([described.level, described.first]).toEqual(['crit', 'disk gone']);
  });

  test('entries that cannot be read do not stop the description', () => {
    const described = describeBatch(
      [revokedProxy() as LogEntry, entry('warn', 'late'), entry('error', revokedProxy())],
      {
        hostname: 'h',
      },
    );
    expect(described).toMatchObject({ count: 3, level: 'error', since: '', until: '2026-11-24T04:32:08.123Z' });
    expect(described.first).toMatch(/^\[entry could not be rendered: TypeError: Cannot perform 'getPrototypeOf'/);
  });
});

describe('subject templates', () => {
  test('fill every token', () => {
    expect(
      renderSubject('{level} x{count} on {hostname} ({since} .. {until}), {dropped} dropped: {first}', batch),
    ).toBe(
      'ERROR x3 on web-1 (2026-11-24T04:00:00.000Z .. 2026-11-24T04:59:59.999Z), 3 dropped: Payment declined for order 1234',
    );
  });

  test('leave unknown tokens as they are, even the names of Object.prototype', () => {
    expect(renderSubject('{constructor} {toString} {nope}', batch)).toBe('{constructor} {toString} {nope}');
  });

  test('subject text is never HTML-escaped', () => {
    expect(renderSubject('Info index = 0 <b>&</b>', batch)).toBe('Info index = 0 <b>&</b>');
  });

  test('the part number follows a subject cut short enough to keep it', () => {
    const subject = renderSubject('x'.repeat(300), { ...batch, part: 2, parts: 3 });
    expect(subject).toBe(`${'x'.repeat(MAX_SUBJECT_LENGTH - 15)}… (part 2/3)`);
  });
});

describe('the top problem', () => {
  const top = { top: 'Connection refused to db 10.0.0.1:5432', topCount: 5000, kinds: 3 };

  test('names the top kind, its count and how many other kinds there are', () => {
    expect(topSubject({ ...batch, ...top })).toBe(
      '[ERROR] 5,000× Connection refused to db 10.0.0.1:5432 (+2 more kinds) from web-1',
    );
    expect(topSubject({ ...batch, ...top, kinds: 2 })).toContain('(+1 more kind) from');
    expect(topSubject({ ...batch, ...top, kinds: 1 })).toBe(
      '[ERROR] 5,000× Connection refused to db 10.0.0.1:5432 from web-1',
    );
  });

  test('{top} and {topCount} fill a template with the most severe, most frequent kind', () => {
    expect(renderSubject('{topCount}× {top}', { ...batch, ...top })).toBe(
      '5000× Connection refused to db 10.0.0.1:5432',
    );
    expect(renderSubject('{topCount}× {top}', batch)).toBe('1× Payment declined for order 1234');
  });

  test('is the fallback the renderer passes, used when the subject function fails, and cleaned like any subject', () => {
    const fallback = () => topSubject({ ...batch, ...top, top: 'line\r\nBcc: x@example.com' });
    expect(
      renderSubject(
        () => '',
        batch,
        () => undefined,
        fallback,
      ),
    ).toBe('[ERROR] 5,000× line Bcc: x@example.com (+2 more kinds) from web-1');
  });
});

describe('subject functions', () => {
  test('one that throws or returns a non-string falls back to the default and is reported', () => {
    const problems: string[] = [];
    const report = (error: Error) => problems.push(error.message);
    const expected = '[ERROR] 3 log entries from web-1: Payment declined for order 1234';
    const throwing = () => {
      throw new Error('oops');
    };
    expect(renderSubject(throwing, batch, report)).toBe(expected);
    expect(renderSubject(() => 42 as unknown as string, batch, report)).toBe(expected);
    expect(problems).toEqual([
      'The `subject` function threw: oops',
      'Expected the `subject` function to return a non-empty string, got number',
    ]);
  });

  test('one that throws a revoked Proxy, to a listener that throws too, still gets the default', () => {
    const throwing = () => {
      // The function's own fault is what is being tested: it throws something that is not an Error.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw revokedProxy();
    };
    const listener = () => {
      throw new Error('listener failed');
    };
    expect(renderSubject(throwing, batch, listener)).toBe(
      '[ERROR] 3 log entries from web-1: Payment declined for order 1234',
    );
  });
});

describe('sanitizeSubject()', () => {
  test('line breaks and control characters cannot start a new header', () => {
    expect(sanitizeSubject('Payment failed\r\nBcc: victim@example.com')).toBe('Payment failed Bcc: victim@example.com');
    expect(sanitizeSubject('a\u0000b\u0007c\u2028d')).toBe('a b c d');
    const hostile = describeBatch([entry('error', 'x\r\nBcc: someone@example.com')], { hostname: 'h' });
    expect(renderSubject(undefined, hostile)).toBe('[ERROR] 1 log entry from h: x');
    expect(renderSubject('{first}', describeBatch([entry('error', 'a\rBcc: someone@example.com')]))).toBe(
      'a Bcc: someone@example.com',
    );
  });

  test('a very long subject is cut without splitting a character', () => {
    expect(sanitizeSubject('😀'.repeat(MAX_SUBJECT_LENGTH + 50))).toBe(`${'😀'.repeat(MAX_SUBJECT_LENGTH - 1)}…`);
  });

  test('a huge subject is cut after reading only its start', () => {
    expect(sanitizeSubject(`start ${'y'.repeat(5_000_000)}`)).toBe(`start ${'y'.repeat(MAX_SUBJECT_LENGTH - 7)}…`);
  });
});

describe('cutCharacters()', () => {
  test.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven char', 10, 'eleven ch…'],
    ['😀'.repeat(10), 10, '😀'.repeat(10)],
    ['😀'.repeat(11), 10, `${'😀'.repeat(9)}…`],
    [`${'😀'.repeat(9)}ab`, 10, `${'😀'.repeat(9)}…`],
  ])('%s to %i characters', (text, length, expected) => {
    expect(cutCharacters(text, length)).toBe(expected);
  });
});

describe('timestampOf()', () => {
  test('reads a string timestamp, and nothing else', () => {
    expect(timestampOf(entry('info', 'x'))).toBe('2026-11-24T04:32:08.123Z');
    expect(timestampOf({ level: 'info', message: 'x', timestamp: 12 })).toBeUndefined();
    expect(timestampOf(undefined)).toBeUndefined();
    expect(timestampOf(revokedProxy() as LogEntry)).toBeUndefined();
  });
});
