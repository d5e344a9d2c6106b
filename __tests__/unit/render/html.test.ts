import { renderBatch, type LogEntry } from '../../../src';
import { escapeHtml, HtmlSize, renderHtmlHead, renderHtmlNoteRow, renderHtmlRow } from '../../../src/render/html';
import { captureEntry } from '../../../src/render/line';
import { measureText } from '../../../src/render/size';

const LEVEL = Symbol.for('level');

function entry(
  level: string,
  message: unknown,
  extra: Record<string, unknown> = {},
  at = '2026-11-24T04:32:08.123Z',
): LogEntry {
  return { level, [LEVEL]: level, message, timestamp: at, ...extra };
}

const entries = [
  entry('info', 'warming up', {}, '2026-11-24T04:00:00.000Z'),
  entry('error', 'Payment declined for order 1234'),
  entry('warn', 'slow', {}, '2026-11-24T04:59:59.999Z'),
];

describe('the HTML part', () => {
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

  test('a header with the counts per level, most severe first, and the UTC range; a row per entry', () => {
    const [mail] = renderBatch(entries, { html: true, hostname: 'web-1' });
    const html = mail!.html!;
    expect(html).toContain('3 log entries from web-1</h2>');
    expect(html).toMatch(
      /<span[^>]*>ERROR 1<\/span> &middot; <span[^>]*>WARN 1<\/span> &middot; <span[^>]*>INFO 1<\/span> &middot; 2026-11-24T04:00:00\.000Z &ndash; 2026-11-24T04:59:59\.999Z \(UTC\)<\/p>/,
    );
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).not.toMatch(/<style|<link|class=/);
    expect(html).toMatch(/^<!DOCTYPE html>.*<\/html>\n$/s);
  });

  test('the counts follow the logger levels; levels it does not know come last, in order of appearance', () => {
    const syslog = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    const [mail] = renderBatch(
      [entry('custom', 'a'), entry('notice', 'b'), entry('crit', 'c'), entry('other', 'd'), entry('notice', 'e')],
      { html: true, levels: syslog },
    );
    const summary = [...mail!.html!.matchAll(/<span[^>]*>([A-Z]+ \d+)<\/span>/g)].map((match) => match[1]);
    expect(summary).toEqual(['CRIT 1', 'NOTICE 2', 'CUSTOM 1', 'OTHER 1']);
  });

  test('a level named like a property of Object gets the grey of unknown levels', () => {
    const [mail] = renderBatch([entry('constructor', 'x')], { html: true });
    expect(mail!.html).toContain('color:#555555;">CONSTRUCTOR</td>');
  });

  test('each part says which part it is; notices show on the first', () => {
    const many = Array.from({ length: 200 }, (_, index) => entry('info', `entry ${index} ${'y'.repeat(900)}`));
    const mails = renderBatch(many, { html: true, maxMailBytes: 100_000, notices: ['[n] dropped'] });
    expect(mails.length).toBeGreaterThan(2);
    expect(mails.map((mail) => /&middot; part (\d+) of (\d+)<\/h2>/.exec(mail.html!)?.slice(1))).toEqual(
      mails.map((_, index) => [String(index + 1), String(mails.length)]),
    );
    expect(mails.map((mail) => mail.html!.includes('[n] dropped'))).toEqual(mails.map((_, index) => index === 0));
  });

  test('stack and meta show in their own blocks, each cut to maxLineBytes before escaping', () => {
    const [mail] = renderBatch(
      [entry('error', 'boom', { stack: 'Error: boom\n    at main', detail: '<'.repeat(5000) })],
      {
        html: true,
        maxLineBytes: 1000,
      },
    );
    const html = mail!.html!;
    expect(html).toContain('>Error: boom\n    at main</pre>');
    const meta = /<pre style="[^"]*color:#333;">([^<]*)<\/pre>/.exec(html)?.[1] ?? '';
    expect(meta).toMatch(/^\{\n {2}&quot;detail&quot;: &quot;(&lt;)+ … \[cut: 5018 bytes\]$/);
  });
});

describe('renderHtmlRow()', () => {
  test('measures the row it renders', () => {
    const parts = captureEntry(entry('warn', 'Größe 注文 😀 = . ', { meta: 'x\r\n.y ', list: [1, 2] }));
    const row = renderHtmlRow({ ...parts, stack: 'Error: e\n    at f' }, 8192);
    const exact = measureText(row.html);
    expect(row.measure).toMatchObject({
      chars: exact.chars,
      bytes: exact.bytes,
      escapedBytes: exact.escapedBytes,
      latin: exact.latin,
      nonLatin: exact.nonLatin,
      plain: exact.plain,
    });
    // Measured in pieces, a row may count a few more dots and spaces at line ends, never fewer.
    expect(row.measure.leadingDots).toBeGreaterThanOrEqual(exact.leadingDots);
    expect(row.measure.spacesBeforeBreaks).toBeGreaterThanOrEqual(exact.spacesBeforeBreaks);
    expect(row.measure.bareBreaks).toBeGreaterThanOrEqual(exact.bareBreaks);
  });
});

describe('renderHtmlNoteRow()', () => {
  test('one escaped row across the columns, measured as rendered', () => {
    const row = renderHtmlNoteRow('… 4,990 more of "<b>x</b>" left out');
    expect(row.html).toMatch(
      /^<tr><td colspan="4" [^>]*><pre [^>]*>… 4,990 more of &quot;&lt;b&gt;x&lt;\/b&gt;&quot; left out<\/pre><\/td><\/tr>\n$/,
    );
    expect(row.measure).toMatchObject({ chars: row.html.length, bytes: Buffer.byteLength(row.html) });
  });
});

describe('HtmlSize', () => {
  test('measures a head with an intro and rows that stand for several entries', () => {
    const intro = '<h3>Summary</h3>\n<p>注文 😀</p>\n';
    const size = new HtmlSize('web-1', ['[notice]'], 5000, intro);
    const note = renderHtmlNoteRow('… 4,990 more of "x" left out');
    const measured = size.measureWith(note.measure, 'error', 'T1', 4990, 'T2');
    const head = renderHtmlHead({
      count: 4990,
      hostname: 'web-1',
      part: 1,
      parts: 1,
      levels: [['error', 4990]],
      since: 'T1',
      until: 'T2',
      notices: ['[notice]'],
      intro,
    });
    const exact = measureText(`${head}${note.html}</tbody></table></body></html>\n`);
    expect(head).toContain('[notice]</p>\n<h3>Summary</h3>');
    expect(measured.bytes).toBe(exact.bytes);
    expect(measured.chars).toBe(exact.chars);
  });
});
