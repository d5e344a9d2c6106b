import { renderBatch, type LogEntry } from '../../../src';
import { entryJson } from '../../../src/render/ndjson';

const LEVEL = Symbol.for('level');

function entry(level: string, message: unknown, extra: Record<string, unknown> = {}): LogEntry {
  return { level, [LEVEL]: level, message, timestamp: '2026-11-24T04:32:08.123Z', ...extra };
}

describe('the NDJSON attachment', () => {
  test('one JSON object per entry with all its meta', () => {
    const [mail] = renderBatch(
      [entry('info', 'paid', { orderId: 1234, amount: { value: 9.5 } }), entry('warn', 'late')],
      { attachJson: true },
    );
    expect(mail!.attachments).toHaveLength(1);
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

  test('a hostile timestamp makes a short file name', () => {
    const [mail] = renderBatch([{ level: 'info', message: 'x', timestamp: `../../${'9'.repeat(10_000)}` }], {
      attachJson: true,
    });
    expect(mail!.attachments![0]!.filename).toMatch(/^logs-9{58}\.ndjson$/);
  });

  test('an entry too big for a line is replaced by a parsable stub', () => {
    const parsed = JSON.parse(entryJson(entry('info', 'huge', { blob: 'x'.repeat(200_000) }), 8192)) as Record<
      string,
      unknown
    >;
    expect(parsed).toEqual({
      timestamp: '2026-11-24T04:32:08.123Z',
      level: 'info',
      message: 'huge',
      truncated: true,
      originalBytes: 200_082,
    });
  });

  test('a huge message is cut without serialising the entry', () => {
    const parsed = JSON.parse(entryJson(entry('info', 'y'.repeat(1_000_000)), 8192)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'info', truncated: true });
    expect(parsed.message).toMatch(/^y+ … \[cut: 1000000 characters\]$/);
    expect(parsed.originalBytes).toBeUndefined();
  });

  test('a key named __proto__ is kept as data', () => {
    const hostile = JSON.parse('{"level":"info","message":"m","__proto__":{"polluted":true}}') as LogEntry;
    expect(JSON.parse(entryJson(hostile))).toEqual({ level: 'info', message: 'm', ['__proto__']: { polluted: true } });
  });
});
