import {
  cutLine,
  defaultSubject,
  describeBatch,
  entryJson,
  entryText,
  MAX_SUBJECT_LENGTH,
  renderBatch,
  renderSubject,
  sanitizeSubject,
} from '../src/render';
import { escapeHtml } from '../src/html';
import type { LogEntry } from '../src';

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

function entry(
  level: string,
  message: unknown,
  extra: Record<string, unknown> = {},
  at = '2026-11-24T04:32:08.123Z',
): LogEntry {
  return { level, [LEVEL]: level, message, timestamp: at, ...extra };
}

const batch = describeBatch(
  [
    entry('info', 'warming up', {}, '2026-11-24T04:00:00.000Z'),
    entry('error', 'Payment declined for order 1234\nat line 2'),
    entry('warn', 'slow', {}, '2026-11-24T04:59:59.999Z'),
  ],
  { hostname: 'web-1', dropped: 3 },
);

describe('subjects', () => {
  test('the default: the most severe level, the count, the host, the first line of the worst message', () => {
    expect(defaultSubject(batch)).toBe('[ERROR] 3 log entries from web-1: Payment declined for order 1234');
    expect(defaultSubject({ ...batch, count: 1 })).toBe(
      '[ERROR] 1 log entry from web-1: Payment declined for order 1234',
    );
  });

  test('templates fill every token', () => {
    expect(
      renderSubject('{level} x{count} on {hostname} ({since} .. {until}), {dropped} dropped: {first}', batch),
    ).toBe(
      'ERROR x3 on web-1 (2026-11-24T04:00:00.000Z .. 2026-11-24T04:59:59.999Z), 3 dropped: Payment declined for order 1234',
    );
  });

  test('{first} is cut to 80 characters', () => {
    const long = describeBatch([entry('error', 'x'.repeat(500))]);
    expect(Array.from(long.first)).toHaveLength(80);
    expect(long.first.endsWith('…')).toBe(true);
  });

  test('the most severe level follows the logger levels (syslog here)', () => {
    const syslog = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    const described = describeBatch([entry('warning', 'w'), entry('crit', 'disk gone'), entry('error', 'e')], {
      levels: syslog,
    });
    expect([described.level, described.first]).toEqual(['crit', 'disk gone']);
  });

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
    const cut = sanitizeSubject('😀'.repeat(MAX_SUBJECT_LENGTH + 50));
    expect(cut).toBe(`${'😀'.repeat(MAX_SUBJECT_LENGTH - 1)}…`);
  });

  test('subject text is never HTML-escaped', () => {
    expect(renderSubject('Info index = 0 <b>&</b>', batch)).toBe('Info index = 0 <b>&</b>');
  });

  test('a subject function that throws or returns a non-string falls back to the default and is reported', () => {
    const problems: string[] = [];
    const report = (error: Error) => problems.push(error.message);
    const expected = '[ERROR] 3 log entries from web-1: Payment declined for order 1234';
    expect(
      renderSubject(
        () => {
          throw new Error('oops');
        },
        batch,
        report,
      ),
    ).toBe(expected);
    expect(renderSubject(() => 42 as unknown as string, batch, report)).toBe(expected);
    expect(problems).toEqual([
      'The `subject` function threw: oops',
      'Expected the `subject` function to return a non-empty string, got number',
    ]);
  });
});

describe('text body and limits', () => {
  test('one entry per line, as the format rendered it, in order, after the notices', () => {
    const entries = [
      { level: 'info', message: 'a', [MESSAGE]: 'line A' },
      { level: 'info', message: 'b', [MESSAGE]: 'line B' },
    ];
    expect(renderBatch(entries, { notices: ['[notice]'] })[0]?.text).toBe('[notice]\nline A\nline B\n');
  });

  test('an entry whose format produced no line gets the default line', () => {
    expect(entryText({ level: 'warn', message: 'raw', timestamp: 'T' })).toBe('T WARN  raw');
  });

  test('a line over maxLineBytes is cut at a character boundary and says its original size', () => {
    const line = `${'é'.repeat(5000)}`; // 10000 bytes
    const cut = cutLine(line, 1000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1000);
    expect(cut).toMatch(/^é+ … \[cut: 10000 bytes\]$/);
    expect(cutLine('short', 1000)).toBe('short');
  });

  test('hostile entries all render, and none stops the others of the batch', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const hostile = [
      entry('info', 'circular', { circular }),
      entry('info', 'big', { big: 2n ** 70n }),
      entry('info', Symbol('symbol message')),
      entry('info', undefined),
      entry('info', { not: 'a string' }),
      entry('info', 'buffer', { data: Buffer.from('secret bytes') }),
      entry('error', new Error('as message')),
      entry('info', 'lone \uDC00 surrogate'),
      entry('info', 'x'.repeat(100_000)),
      entry('info', 'throws', {
        bad: {
          toJSON: () => {
            throw new Error('nope');
          },
        },
      }),
    ];
    const [mail] = renderBatch(hostile, { html: true, attachJson: true });
    const lines = mail!.text.trimEnd().split('\n');
    expect(lines.filter((line) => /^2026-11-24T04:32:08\.123Z /.test(line))).toHaveLength(hostile.length);
    expect(mail!.text).toContain('{"circular":{"self":"[Circular]"}}');
    expect(mail!.text).toContain('{"big":1180591620717411303424}');
    expect(mail!.text).toContain('Symbol(symbol message)');
    expect(mail!.text).toContain('{"data":"[Buffer: 12 bytes]"}');
    expect(mail!.text).toContain('ERROR Error: as message');
    expect(mail!.text).toContain('lone \uFFFD surrogate');
    expect(mail!.text).toContain('[cut: 100031 bytes]');
    expect(mail!.text).toContain('"[not serialisable: nope]"');
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(loneSurrogate.test(mail!.text)).toBe(false);
    expect(loneSurrogate.test(mail!.html!)).toBe(false);
    const json = mail!
      .attachments![0]!.content.trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(json).toHaveLength(hostile.length);
  });
});

describe('HTML part', () => {
  test('every piece of log text is escaped: markup in a message shows as text', () => {
    const [mail] = renderBatch(
      [entry('error', '<img src=x onerror=alert(1)>', { user: '"><script>alert(2)</script>' })],
      { html: true, hostname: '<h>' },
    );
    const html = mail!.html!;
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('from &lt;h&gt;');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  test('a header with the counts per level and the UTC range, a row per entry, inline styles only', () => {
    const [mail] = renderBatch(batch.entries, { html: true, hostname: 'web-1' });
    const html = mail!.html!;
    expect(html).toContain('3 log entries from web-1');
    // Most severe first.
    expect(html).toMatch(/ERROR 1<\/span> &middot; <span[^>]*>WARN 1<\/span> &middot; <span[^>]*>INFO 1/);
    expect(html).toContain('2026-11-24T04:00:00.000Z &ndash; 2026-11-24T04:59:59.999Z (UTC)');
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).not.toMatch(/<style|<link|class=/);
  });
});

describe('NDJSON attachment', () => {
  test('one JSON object per entry with all its meta', () => {
    const [mail] = renderBatch(
      [entry('info', 'paid', { orderId: 1234, amount: { value: 9.5 } }), entry('warn', 'late')],
      { attachJson: true },
    );
    const [attachment] = mail!.attachments!;
    expect(attachment?.contentType).toBe('application/x-ndjson; charset=utf-8');
    expect(attachment?.filename).toBe('logs-2026-11-24T043208123Z.ndjson');
    expect(
      attachment?.content
        .trimEnd()
        .split('\n')
        .map((line): unknown => JSON.parse(line)),
    ).toEqual([
      { timestamp: '2026-11-24T04:32:08.123Z', level: 'info', message: 'paid', orderId: 1234, amount: { value: 9.5 } },
      { timestamp: '2026-11-24T04:32:08.123Z', level: 'warn', message: 'late' },
    ]);
  });

  test('an entry too big for a line is replaced by a parsable stub', () => {
    const parsed = JSON.parse(entryJson(entry('info', 'huge', { blob: 'x'.repeat(200_000) }), 8192)) as Record<
      string,
      unknown
    >;
    expect(parsed).toMatchObject({ level: 'info', message: 'huge', truncated: true });
    expect(parsed.originalBytes).toBeGreaterThan(200_000);
  });
});

describe('maxMailBytes', () => {
  test('a batch over the limit is split in order, every part under it, subjects numbered', () => {
    const entries = Array.from({ length: 300 }, (_, index) => entry('info', `entry ${index} ${'y'.repeat(900)}`));
    const parts = renderBatch(entries, { maxMailBytes: 100_000, subject: 'Digest' });
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.map((part) => part.subject)).toEqual(
      parts.map((_, index) => `Digest (part ${index + 1}/${parts.length})`),
    );
    expect(parts.reduce((sum, part) => sum + part.count, 0)).toBe(300);
    const order = parts.flatMap((part) =>
      part.text
        .trimEnd()
        .split('\n')
        .map((line) => Number(/entry (\d+)/.exec(line)?.[1])),
    );
    expect(order).toEqual(Array.from({ length: 300 }, (_, index) => index));
    for (const part of parts) expect(Buffer.byteLength(part.text) * 1.4).toBeLessThan(100_000);
  });
});
