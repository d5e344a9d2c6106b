import type { CapturedEntry } from '../../../src/entry';
import { MIN_MAIL_BYTES } from '../../../src/options';
import { renderEntries, renderEntriesInSlices, type RenderedMail } from '../../../src/render';
import { mailWireBytes } from '../../helpers/wire-size';

const MIN_MAX_MAIL_BYTES = MIN_MAIL_BYTES + 4 * 8192;
const START = Date.UTC(2026, 10, 24, 4, 32, 8);

function at(ms: number): string {
  return new Date(START + ms).toISOString();
}

function captured(level: string, message: string, ms: number, fields: Partial<CapturedEntry> = {}): CapturedEntry {
  return {
    level,
    timestamp: at(ms),
    message,
    metaJson: undefined,
    stack: undefined,
    line: undefined,
    crash: false,
    ...fields,
  };
}

function refused(index: number): CapturedEntry {
  const host = `10.0.0.${index % 250}`;
  return captured('error', `Connection refused to db ${host}:5432`, 1 + index, {
    metaJson: `{"requestId":${index}}`,
    stack: `Error: connect ECONNREFUSED ${host}:5432\n    at TCPConnectWrap.afterConnect (node:net:1595:16)`,
  });
}

/** 5,000 repeats of one error (ids and addresses differ) among a few other entries. */
function burst(): CapturedEntry[] {
  return [
    captured('info', 'worker started', 0),
    ...Array.from({ length: 5000 }, (_, index) => refused(index)),
    captured('warn', 'pool exhausted, waited 250ms', 5100),
    captured('warn', 'pool exhausted, waited 1.5s', 5200),
    captured('info', 'worker stopped', 5300),
  ];
}

/** The lines of the entries list, after the summary when there is one. */
function listedLines(mail: RenderedMail): string[] {
  const heading = 'Log entries, in order:\n';
  const start = mail.text.indexOf(heading);
  return mail.text
    .slice(start < 0 ? 0 : start + heading.length)
    .trimEnd()
    .split('\n');
}

function records(mail: RenderedMail): Array<Record<string, unknown>> {
  const content = mail.attachments?.[0]?.content ?? '';
  return content === ''
    ? []
    : content
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function collapseCounts(mail: RenderedMail): number[] {
  return [...mail.text.matchAll(/^… ([\d,]+) more of /gm)].map((match) => Number(match[1]!.replace(/,/g, '')));
}

describe('a burst of one error', () => {
  test('one readable mail states the 5,000 repeats; the 4,990 left out travel in full in collapsed-….ndjson', async () => {
    const entries = burst();
    const mails = renderEntries(entries, { hostname: 'web-1', html: true });
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail!.count).toBe(5004);
    expect(mail!.subject).toBe('[ERROR] 5,000× Connection refused to db 10.0.0.0:5432 (+3 more kinds) from web-1');
    expect(mail!.text.split('\n').slice(0, 8)).toEqual([
      'Summary: 5,004 log entries of 4 kinds, 2026-11-24 (UTC)',
      '',
      '  Count  Level  First seen     Last seen      Message',
      '  5,000  ERROR  04:32:08.001Z  04:32:13.000Z  Connection refused to db 10.0.0.0:5432',
      '      2  WARN   04:32:13.100Z  04:32:13.200Z  pool exhausted, waited 250ms',
      '      1  INFO   04:32:08.000Z  04:32:08.000Z  worker started',
      '      1  INFO   04:32:13.300Z  04:32:13.300Z  worker stopped',
      '',
    ]);
    const listed = listedLines(mail!).filter((line) => !line.startsWith('Error: ') && !line.startsWith('    at '));
    expect(listed).toEqual([
      `${at(0)} INFO  worker started`,
      ...Array.from(
        { length: 10 },
        (_, index) => `${at(1 + index)} ERROR ${entries[1 + index]!.message} {"requestId":${index}}`,
      ),
      '… 4,990 more of "Connection refused to db 10.0.0.0:5432" left out (2026-11-24T04:32:08.011Z – 04:32:13.000Z), all in the attached NDJSON',
      `${at(5100)} WARN  pool exhausted, waited 250ms`,
      `${at(5200)} WARN  pool exhausted, waited 1.5s`,
      `${at(5300)} INFO  worker stopped`,
    ]);

    expect(mail!.attachments?.map((attachment) => attachment.filename)).toEqual([
      'collapsed-2026-11-24T043208000Z.ndjson',
    ]);
    const collapsed = records(mail!);
    expect(collapsed).toHaveLength(4990);
    expect(collapsed.map((record) => record.requestId)).toEqual(Array.from({ length: 4990 }, (_, index) => 10 + index));
    expect(collapsed[0]).toEqual({
      timestamp: at(11),
      level: 'error',
      message: 'Connection refused to db 10.0.0.10:5432',
      requestId: 10,
      stack: entries[11]!.stack,
    });

    const html = mail!.html!;
    expect(html).toContain('>Summary: 5,004 log entries of 4 kinds, 2026-11-24 (UTC)</h3>');
    expect(html).toContain('… 4,990 more of &quot;Connection refused to db 10.0.0.0:5432&quot; left out');
    expect(html).toContain('ERROR 5000</span>');

    const readableBytes = await mailWireBytes({ ...mail!, attachments: [] });
    const wholeBytes = await mailWireBytes(mail!);
    expect(readableBytes).toBeLessThan(32 * 1024);
    expect(wholeBytes).toBeLessThan(4 * 1024 * 1024);
  });

  test('with attachJson, the logs attachment holds every entry once, the collapsed ones after their line', () => {
    const [mail] = renderEntries(burst(), { attachJson: true });
    expect(mail!.attachments?.map((attachment) => attachment.filename)).toEqual(['logs-2026-11-24T043208000Z.ndjson']);
    const all = records(mail!);
    expect(all.map((record) => record.requestId ?? record.message)).toEqual([
      'worker started',
      ...Array.from({ length: 5000 }, (_, index) => index),
      'pool exhausted, waited 250ms',
      'pool exhausted, waited 1.5s',
      'worker stopped',
    ]);
  });

  test('split by maxMailBytes: the summary is in part 1 only, every mail stays within the limit, every entry travels once', async () => {
    const entries = burst();
    const mails = renderEntries(entries, { html: true, maxMailBytes: MIN_MAX_MAIL_BYTES, hostname: 'web-1' });
    expect(mails.length).toBeGreaterThan(2);
    for (const mail of mails) expect(await mailWireBytes(mail)).toBeLessThanOrEqual(MIN_MAX_MAIL_BYTES);
    expect(mails[0]!.text.startsWith('Summary: 5,004 log entries of 4 kinds')).toBe(true);
    expect(mails.slice(1).some((mail) => mail.text.includes('Summary:') || mail.html!.includes('Summary:'))).toBe(
      false,
    );
    expect(mails.map((mail) => mail.subject)).toEqual(
      mails.map(
        (_, index) =>
          `[ERROR] 5,000× Connection refused to db 10.0.0.0:5432 (+3 more kinds) from web-1 (part ${index + 1}/${mails.length})`,
      ),
    );

    const seen: Array<number | string> = [];
    for (const mail of mails) {
      const listed = listedLines(mail)
        .map((line) => /"requestId":(\d+)/.exec(line)?.[1] ?? /(worker \w+|pool exhausted.*)$/.exec(line)?.[1])
        .filter((found) => found !== undefined);
      const attached = records(mail).map((record) => record.requestId as number);
      // Each mail's collapse lines state exactly the entries its attachment carries.
      expect(collapseCounts(mail).reduce((sum, count) => sum + count, 0)).toBe(attached.length);
      expect(mail.count).toBe(listed.length + attached.length);
      seen.push(...listed.map((found) => (/^\d+$/.test(found) ? Number(found) : found)), ...attached);
    }
    expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(5004);
    expect(new Set(seen).size).toBe(5004);
    expect(seen.filter((found) => typeof found === 'number').sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 5000 }, (_, index) => index),
    );
  });

  test.each([
    ['CJK', (index: number) => `${index} 注文のサイズが上限を超えました。在庫を確認してください`.repeat(20)],
    ['emoji', (index: number) => `${index} 😀🚀✓ deploy failed 🎉`.repeat(40)],
    ['markup', (index: number) => `${index} <b>&amp;</b> "quoted" 'single'`.repeat(40)],
  ])(
    '%s problems at the smallest maxMailBytes, with HTML and JSON: every mail within the limit',
    async (_kind, text) => {
      const entries = Array.from({ length: 1500 }, (_, index) =>
        captured(index % 3 === 0 ? 'warn' : 'error', text(index % 5 === 0 ? index : index % 7), index),
      );
      const mails = renderEntries(entries, { html: true, attachJson: true, maxMailBytes: MIN_MAX_MAIL_BYTES });
      expect(mails[0]!.text.startsWith('Summary: 1,500 log entries')).toBe(true);
      for (const mail of mails) expect(await mailWireBytes(mail)).toBeLessThanOrEqual(MIN_MAX_MAIL_BYTES);
      expect(mails.reduce((sum, mail) => sum + records(mail).length, 0)).toBe(1500);
    },
  );

  test('a collapsed entry too big for a mail even alone travels as a stub, never in a mail over the limit', async () => {
    const big = (index: number) =>
      captured('error', `lost ${index}`, index, { metaJson: `{"blob":"${'z'.repeat(50_000)}"}` });
    const entries = Array.from({ length: 13 }, (_, index) => big(index));
    const mails = renderEntries(entries, { maxMailBytes: MIN_MAX_MAIL_BYTES });
    for (const mail of mails) expect(await mailWireBytes(mail)).toBeLessThanOrEqual(MIN_MAX_MAIL_BYTES);
    const stubs = mails.flatMap(records);
    expect(stubs.map((record) => [record.message, record.truncated])).toEqual([
      ['lost 10', true],
      ['lost 11', true],
      ['lost 12', true],
    ]);
    expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(13);
  });

  test('renders in slices exactly as at once', async () => {
    const entries = burst();
    expect(await renderEntriesInSlices(entries, { html: true }, { sliceMs: 0 })).toEqual(
      renderEntries(entries, { html: true }),
    );
  });
});

describe('what is never collapsed or summarised', () => {
  test('info lines are the record: 500 repeats are all listed, without a summary or an attachment', () => {
    const entries = Array.from({ length: 500 }, (_, index) => captured('info', `served request ${index}`, index));
    const [mail] = renderEntries(entries);
    expect(mail!.text.split('\n').filter((line) => line.includes(' INFO  served request '))).toHaveLength(500);
    expect(mail!.text).not.toContain('Summary:');
    expect(mail!.attachments).toBeUndefined();
    expect(mail!.subject).toBe('[INFO] 500 log entries from : served request 0');
  });

  test('keepPerGroup: Infinity lists every repeat; the summary still leads', () => {
    const [mail] = renderEntries(burst().slice(0, 40), { keepPerGroup: Number.POSITIVE_INFINITY });
    expect(mail!.text.startsWith('Summary: 40 log entries of 2 kinds')).toBe(true);
    expect(collapseCounts(mail!)).toEqual([]);
    expect(mail!.attachments).toBeUndefined();
  });

  test('collapseFromLevel: error leaves warnings listed', () => {
    const warnings = Array.from({ length: 30 }, (_, index) => captured('warn', `slow query ${index}`, index));
    const [mail] = renderEntries(warnings, { collapseFromLevel: 'error' });
    expect(collapseCounts(mail!)).toEqual([]);
    expect(collapseCounts(renderEntries(warnings)[0]!)).toEqual([20]);
  });
});

describe('subjects and fingerprints', () => {
  test('{top} and {topCount} name the top problem of the whole batch', () => {
    const [mail] = renderEntries(burst(), { subject: '{topCount}× {top} on {hostname}', hostname: 'web-1' });
    expect(mail!.subject).toBe('5000× Connection refused to db 10.0.0.0:5432 on web-1');
  });

  test('a summarised batch whose top problem occurs once keeps the usual subject', () => {
    const entries = [
      captured('error', 'disk full', 0),
      ...Array.from({ length: 12 }, (_, index) => captured('info', `step ${index}`, index)),
    ];
    const [mail] = renderEntries(entries, { hostname: 'web-1' });
    expect(mail!.text.startsWith('Summary: 13 log entries of 2 kinds')).toBe(true);
    expect(mail!.subject).toBe('[ERROR] 13 log entries from web-1: disk full');
  });

  test("the user's fingerprint decides the kinds; a failing one falls back to the default, reported once", () => {
    const entries = Array.from({ length: 30 }, (_, index) =>
      captured('error', `failed ${index % 2 === 0 ? 'checkout' : 'login'} for user ${index}`, index, {
        metaJson: `{"route":"/${index % 3}"}`,
      }),
    );
    const [byRoute] = renderEntries(entries, { fingerprint: (entry) => String(entry.meta.route) });
    expect(byRoute!.text.split('\n').slice(3, 6)).toEqual([
      '     10  ERROR  04:32:08.000Z  04:32:08.027Z  failed checkout for user 0',
      '     10  ERROR  04:32:08.001Z  04:32:08.028Z  failed login for user 1',
      '     10  ERROR  04:32:08.002Z  04:32:08.029Z  failed checkout for user 2',
    ]);

    const errors: Error[] = [];
    const [fallback] = renderEntries(entries, {
      fingerprint: () => {
        throw new Error('no fingerprint');
      },
      onFingerprintError: (error) => errors.push(error),
    });
    expect(errors.map((error) => error.message)).toEqual(['The `fingerprint` function threw: Error: no fingerprint']);
    expect(fallback!.text.split('\n').slice(3, 5)).toEqual([
      '     15  ERROR  04:32:08.000Z  04:32:08.028Z  failed checkout for user 0',
      '     15  ERROR  04:32:08.001Z  04:32:08.029Z  failed login for user 1',
    ]);
    expect(collapseCounts(fallback!)).toEqual([5, 5]);
  });

  test('hostile repeated messages stay text in the summary, the collapse row and the subject', () => {
    const entries = Array.from({ length: 20 }, (_, index) =>
      captured('error', `<script>alert(${index})</script>\r\nBcc: victim@example.com`, index),
    );
    const [mail] = renderEntries(entries, { html: true, hostname: 'web-1' });
    expect(mail!.html).not.toContain('<script');
    expect(mail!.html).toContain('… 10 more of &quot;&lt;script&gt;alert(0)&lt;/script&gt;&quot; left out');
    expect(mail!.subject).toBe('[ERROR] 20× <script>alert(0)</script> from web-1');
    expect(mail!.text).toContain('… 10 more of "<script>alert(0)</script>" left out');
  });
});
