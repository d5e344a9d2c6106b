import type { CapturedEntry } from '../../../src/entry';
import { groupEntries } from '../../../src/render/grouping';
import { formatCount } from '../../../src/render/line';
import {
  formatRange,
  renderCollapseLine,
  renderSummaryHtml,
  renderSummaryText,
  shouldSummarise,
} from '../../../src/render/summary';

function at(second: number, day = 24): string {
  return `2026-11-${day}T04:32:${String(second).padStart(2, '0')}.000Z`;
}

function captured(level: string, message: string, timestamp: string | null, stack?: string): CapturedEntry {
  return {
    level,
    timestamp: timestamp ?? undefined,
    message,
    metaJson: undefined,
    stack,
    line: undefined,
    crash: false,
  };
}

/** The line as the default format writes it; the summary shows what it is given. */
function lineOf(entry: CapturedEntry): string {
  const stack = entry.stack === undefined ? '' : `\n${entry.stack}`;
  return `${entry.timestamp ?? ''} ${entry.level.toUpperCase().padEnd(5)} ${entry.message}${stack}`;
}

const STACK = 'Error: connect ECONNREFUSED\n    at TCPConnectWrap.afterConnect (node:net:1595:16)';

function smallBatch(): CapturedEntry[] {
  return [
    captured('info', 'worker started', at(1)),
    ...Array.from({ length: 12 }, (_, index) =>
      captured('error', `Connection refused to db 10.0.0.${index}:5432`, at(2 + index), STACK),
    ),
    captured('warn', 'pool exhausted', at(20)),
    captured('warn', 'pool exhausted', at(21)),
  ];
}

describe('the text summary', () => {
  test('a row per kind, aligned, then the first entry of each problem in full', () => {
    expect(renderSummaryText(groupEntries(smallBatch()), { lineOf })).toBe(
      [
        'Summary: 15 log entries of 3 kinds, 2026-11-24 (UTC)',
        '',
        '  Count  Level  First seen     Last seen      Message',
        '     12  ERROR  04:32:02.000Z  04:32:13.000Z  Connection refused to db 10.0.0.0:5432',
        '      2  WARN   04:32:20.000Z  04:32:21.000Z  pool exhausted',
        '      1  INFO   04:32:01.000Z  04:32:01.000Z  worker started',
        '',
        'The first entry of each kind, in full:',
        '',
        '12× ERROR:',
        '2026-11-24T04:32:02.000Z ERROR Connection refused to db 10.0.0.0:5432',
        'Error: connect ECONNREFUSED',
        '    at TCPConnectWrap.afterConnect (node:net:1595:16)',
        '',
        '2× WARN:',
        '2026-11-24T04:32:20.000Z WARN  pool exhausted',
        '',
        'Log entries, in order:',
        '',
      ].join('\n'),
    );
  });

  test('timestamps of several days, in another format or missing are shown as written', () => {
    const entries = [
      captured('error', 'disk full', at(1, 24)),
      captured('error', 'disk full', at(2, 25)),
      captured('warn', 'clock skew', '24/11/2026 04:32'),
      captured('warn', 'no time', null),
    ];
    expect(renderSummaryText(groupEntries(entries), { lineOf, maxSamples: 0 })).toBe(
      [
        'Summary: 4 log entries of 3 kinds',
        '',
        '  Count  Level  First seen                Last seen                 Message',
        '      2  ERROR  2026-11-24T04:32:01.000Z  2026-11-25T04:32:02.000Z  disk full',
        '      1  WARN   24/11/2026 04:32          24/11/2026 04:32          clock skew',
        '      1  WARN   -                         -                         no time',
        '',
        'Log entries, in order:',
        '',
      ].join('\n'),
    );
  });

  test('at most maxRows kinds, the others counted in a last row; at most maxSamples samples, each cut', () => {
    const entries = Array.from({ length: 30 }, (_, index) =>
      captured('error', `failure kind ${String.fromCharCode(65 + (index % 25))} ${'x'.repeat(300)}`, at(index % 60)),
    );
    const text = renderSummaryText(groupEntries(entries), { lineOf, maxRows: 20, maxSamples: 3, maxSampleBytes: 100 });
    const lines = text.split('\n');
    expect(lines.filter((line) => /^ {6}[12] {2}ERROR/.test(line))).toHaveLength(20);
    expect(lines).toContain('  … and 5 more kinds (5 entries)');
    expect(lines.filter((line) => /^[12]× ERROR:$/.test(line))).toHaveLength(3);
    const samples = lines.filter((line) => line.startsWith('2026-'));
    expect(samples).toHaveLength(3);
    for (const sample of samples) {
      expect(Buffer.byteLength(sample)).toBeLessThanOrEqual(100);
      expect(sample).toMatch(/ … \[cut: \d+ bytes\]$/);
    }
  });

  test('the message column is the first line of the message, without control characters, at most 80 characters', () => {
    const entries = [
      captured('error', 'first\tline\u0007 here\r\nsecond line', at(1)),
      captured('error', 'y'.repeat(500), at(2)),
    ];
    const rows = renderSummaryText(groupEntries(entries), { lineOf, maxSamples: 0 }).split('\n').slice(3, 5);
    expect(rows).toEqual([
      `      1  ERROR  04:32:01.000Z  04:32:01.000Z  first line here`,
      `      1  ERROR  04:32:02.000Z  04:32:02.000Z  ${'y'.repeat(79)}…`,
    ]);
  });

  test('5,000 repeats of one error and a few others make a summary of a few hundred bytes', () => {
    const entries = [
      captured('info', 'worker started', at(0)),
      ...Array.from({ length: 5000 }, (_, index) =>
        captured(
          'error',
          `Connection refused to db 10.0.${index % 256}.1:5432 after ${index}ms`,
          at(index % 60),
          STACK,
        ),
      ),
      captured('warn', 'pool exhausted', at(59)),
    ];
    const text = renderSummaryText(groupEntries(entries), { lineOf });
    expect(text).toContain(
      '  5,000  ERROR  04:32:00.000Z  04:32:19.000Z  Connection refused to db 10.0.0.1:5432 after 0ms',
    );
    expect(Buffer.byteLength(text)).toBeLessThan(1024);
  });
});

describe('whether a batch gets a summary', () => {
  const infos = (count: number) =>
    Array.from({ length: count }, (_, index) => captured('info', `tick ${index}`, at(0)));

  test('not for info and debug lines however many, nor for a batch read at a glance', () => {
    expect(shouldSummarise(groupEntries(infos(500)))).toBe(false);
    expect(shouldSummarise(groupEntries([...infos(9), captured('error', 'disk full', at(1))]))).toBe(false);
    expect(shouldSummarise(groupEntries([captured('error', 'alone', at(1))]))).toBe(false);
    expect(shouldSummarise(groupEntries([]))).toBe(false);
  });

  test('when a longer batch has a problem, an entry at warn or more severe', () => {
    expect(shouldSummarise(groupEntries([...infos(10), captured('warn', 'disk almost full', at(1))]))).toBe(true);
  });

  test('when entries were collapsed, however short the batch', () => {
    const errors = [captured('error', 'lost 1', at(1)), captured('error', 'lost 2', at(2))];
    expect(shouldSummarise(groupEntries(errors, { keepPerGroup: 0 }))).toBe(true);
  });
});

describe('the HTML summary', () => {
  test('the same rows and samples as a table, escaped', () => {
    const html = renderSummaryHtml(groupEntries(smallBatch()), { lineOf });
    expect(html).toContain('>Summary: 15 log entries of 3 kinds, 2026-11-24 (UTC)</h3>');
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).toContain('white-space:nowrap;">12</td>');
    expect(html).toContain('>Connection refused to db 10.0.0.0:5432</td></tr>');
    expect(html).toContain('color:#b00020;">ERROR</td>');
    expect(html).toContain('>12× ERROR</p>');
    expect(html).toContain(
      '>2026-11-24T04:32:02.000Z ERROR Connection refused to db 10.0.0.0:5432\nError: connect ECONNREFUSED\n',
    );
  });

  test('hostile messages, levels and timestamps stay text', () => {
    const entries = [
      captured('error', '<script>alert(1)</script>\r\nBcc: victim@example.com', '<img src=x onerror=alert(1)>'),
      captured('<b>', '<script>alert(2)</script>', '"><svg onload=alert(1)>'),
      captured('error', `a & b ' " </td></tr></table>`, at(1)),
    ];
    const html = renderSummaryHtml(groupEntries(entries), { lineOf });
    for (const raw of ['<script', '<img', '<svg', '<b>', '</td></tr></table>']) {
      expect(html).not.toContain(raw);
    }
    expect(html).toContain('>&lt;script&gt;alert(1)&lt;/script&gt;</td></tr>');
    expect(html).toContain('>&lt;img src=x onerror=alert(1)&gt; ERROR &lt;script&gt;alert(1)&lt;/script&gt;\r\nBcc:');
    expect(html).toContain('a &amp; b &#39; &quot; &lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;');
    const rows = renderSummaryText(groupEntries(entries), { lineOf, maxSamples: 0 }).split('\n');
    expect(rows).toContain(
      '      1  ERROR  <img src=x onerror=alert(1)>  <img src=x onerror=alert(1)>  <script>alert(1)</script>',
    );
  });
});

describe('the collapse line', () => {
  function collapsedGroup(timestamps: ReadonlyArray<string | null>) {
    const entries = timestamps.map((timestamp, index) => captured('error', `lost job ${index}\nat depth`, timestamp));
    return groupEntries(entries, { keepPerGroup: 1 }).groups[0]!;
  }

  test('states the count, the first line of the message and the range of the entries left out', () => {
    expect(renderCollapseLine(collapsedGroup([at(0), at(1), at(2), at(59)]))).toBe(
      '… 3 more of "lost job 0" left out (2026-11-24T04:32:01.000Z – 04:32:59.000Z), all in the attached NDJSON',
    );
  });

  test('the date is repeated when it changes; a range without times is left out', () => {
    expect(renderCollapseLine(collapsedGroup([at(0), at(1, 24), at(2, 25)]))).toBe(
      '… 2 more of "lost job 0" left out (2026-11-24T04:32:01.000Z – 2026-11-25T04:32:02.000Z), all in the attached NDJSON',
    );
    expect(renderCollapseLine(collapsedGroup([null, null, null]))).toBe(
      '… 2 more of "lost job 0" left out, all in the attached NDJSON',
    );
  });

  test('nothing for a kind with nothing collapsed', () => {
    expect(renderCollapseLine(collapsedGroup([at(0)]))).toBe('');
  });

  test('or states the portion of them that one mail carries', () => {
    const group = collapsedGroup([at(0), at(1), at(2), at(3)]);
    expect(renderCollapseLine(group, { count: 2, firstTimestamp: at(2), lastTimestamp: at(3) })).toBe(
      '… 2 more of "lost job 0" left out (2026-11-24T04:32:02.000Z – 04:32:03.000Z), all in the attached NDJSON',
    );
  });

  test('counts and ranges', () => {
    expect(formatCount(4990)).toBe('4,990');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRange(at(1), at(1))).toBe('2026-11-24T04:32:01.000Z');
    expect(formatRange('a\r\nb', 'c')).toBe('a b – c');
    expect(formatRange(undefined, at(1))).toBe('');
  });
});
