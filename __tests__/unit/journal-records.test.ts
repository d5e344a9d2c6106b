import {
  formatAck,
  formatHeader,
  formatRecord,
  formatSending,
  JournalFormatError,
  parseJournal,
} from '../../src/journal/records';
import { makeEntry, otherRun, recordLines } from '../helpers/journal-folder';

const run = otherRun(4242);
const header = formatHeader(run, 'web-1');

function messagesOf(text: string): { messages: string[]; tornRecords: number } {
  const { entries, tornRecords } = parseJournal(text, run);
  return { messages: entries.map((entry) => entry.message), tornRecords };
}

describe('reading a journal back', () => {
  it('gives back every field as it was appended', () => {
    const entries = [
      makeEntry('plain'),
      makeEntry('line one\nline two "quoted" \u2028 é 😀 \ud800 lone half', {
        level: 'error',
        timestamp: undefined,
        metaJson: undefined,
        stack: 'Error: boom\n    at main (app.js:1:1)',
        line: 'custom format line',
        crash: true,
      }),
      makeEntry('', { level: '' }),
      makeEntry('meta that could not be serialised', { metaJson: '"[not serialisable: Error: no JSON for you]"' }),
    ];
    const text = header + entries.map((entry, index) => formatRecord(index + 1, entry)).join('');
    const { header: read, entries: back, tornRecords } = parseJournal(text, run);
    expect(back).toEqual(entries);
    expect(tornRecords).toBe(0);
    expect(read).toEqual({ hostname: 'web-1', pid: 4242, runId: run.runId, startedAtMs: run.startedAtMs });
  });

  it('writes a host name that is not a plain name as one', () => {
    const text = formatHeader(run, 'wéb 1\r\nBcc: x') + formatRecord(1, makeEntry('a'));
    expect(parseJournal(text, run).header.hostname).toBe('w-b-1--Bcc--x');
  });

  it('skips a last line cut short, and keeps the rest', () => {
    const full = recordLines(1, 4).join('');
    const text = header + full.slice(0, full.length - 20);
    expect(messagesOf(text)).toEqual({ messages: ['entry 1', 'entry 2', 'entry 3'], tornRecords: 1 });
  });

  it('skips lines that are not JSON objects, wherever they are, and counts them', () => {
    const [one, two, three] = recordLines(1, 3);
    const garbage = ['\u0000\u0000\u0000\u0000\n', 'not json\n', '[1,2]\n', '42\n', 'null\n', '\n', '{"seq":\n'];
    const text = header + one! + garbage.join('') + two! + '\u0000'.repeat(512) + '\n' + three!;
    expect(messagesOf(text)).toEqual({ messages: ['entry 1', 'entry 2', 'entry 3'], tornRecords: garbage.length + 1 });
  });

  it.each([
    ['a sequence number that is text', { seq: '2' }],
    ['a sequence number that is not a positive integer', { seq: 1.5 }],
    ['no sequence number', { seq: undefined }],
    ['a level that is not text', { level: 3 }],
    ['a level with a line break', { level: 'info\r\nBcc: someone@example.com' }],
    ['a level longer than 256 characters', { level: 'x'.repeat(257) }],
    ['a timestamp that is not text', { timestamp: 1714557600000 }],
    ['no message', { message: undefined }],
    ['a message that is an object', { message: { toString: 'x' } }],
    ['a stack that is a number', { stack: 1 }],
    ['a line that is null', { line: null }],
    ['a crash flag that is text', { crash: 'yes' }],
    ['fields that are neither a JSON object nor the string naming why', { metaJson: '[1,2]' }],
    ['fields that are not JSON', { metaJson: '{"a":' }],
    ['fields that are an object, not text', { metaJson: { a: 1 } }],
  ])('skips a record with %s, and counts it', (_name, change) => {
    const bad = { ...(JSON.parse(formatRecord(2, makeEntry('bad'))) as object), ...change };
    const [one, three] = [formatRecord(1, makeEntry('entry 1')), formatRecord(3, makeEntry('entry 3'))];
    const text = header + one + JSON.stringify(bad) + '\n' + three;
    expect(messagesOf(text)).toEqual({ messages: ['entry 1', 'entry 3'], tornRecords: 1 });
  });

  it('builds entries field by field: unknown keys, `__proto__` included, are left behind', () => {
    const line = '{"seq":1,"level":"info","message":"m","__proto__":{"polluted":true},"path":"/etc/passwd"}\n';
    const [entry] = parseJournal(header + line, run).entries;
    expect(entry).toEqual({
      level: 'info',
      timestamp: undefined,
      message: 'm',
      metaJson: undefined,
      stack: undefined,
      line: undefined,
      crash: false,
    });
    expect(Object.getPrototypeOf(entry)).toBe(Object.prototype);
    expect((entry as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('skips a record whose sequence number does not grow, as damaged', () => {
    const lines = recordLines(1, 3);
    const text = header + lines[0]! + lines[1]! + lines[0]! + lines[2]!;
    expect(messagesOf(text)).toEqual({ messages: ['entry 1', 'entry 2', 'entry 3'], tornRecords: 1 });
  });

  it('leaves out what acks retired, whatever their order and overlap', () => {
    const text =
      header +
      recordLines(1, 6).join('') +
      formatAck([5, 2, 3]) +
      recordLines(7, 12).join('') +
      '{"ack":[[8,11],[9,9]]}\n' +
      '{"ack":[[1,1]]}\n';
    expect(messagesOf(text)).toEqual({ messages: ['entry 4', 'entry 6', 'entry 7', 'entry 12'], tornRecords: 0 });
  });

  it('writes retirements as ranges', () => {
    expect(formatAck([7, 3, 4, 5, 1, 8, 4])).toBe('{"ack":[[1,1],[3,5],[7,8]]}\n');
  });

  it.each([
    ['not an array', '{"ack":"1-3"}'],
    ['a range reversed', '{"ack":[[3,1]]}'],
    ['a range of three', '{"ack":[[1,2,3]]}'],
    ['a range of text', '{"ack":[["1","3"]]}'],
    ['a range from zero', '{"ack":[[0,3]]}'],
  ])('ignores an ack that is %s, and counts it: its records stay', (_name, line) => {
    const text = header + recordLines(1, 3).join('') + line + '\n';
    expect(messagesOf(text)).toEqual({ messages: ['entry 1', 'entry 2', 'entry 3'], tornRecords: 1 });
  });

  it.each([
    ['not JSON', 'garbage\n'],
    ['of another format', '{"format":"something-else@1"}\n'],
    ['of another run', formatHeader(otherRun(4242), 'web-1')],
    ['with a host name that is not one', header.replace('"web-1"', '"web 1\\r\\n"')],
  ])('refuses a file whose first line is %s', (_name, first) => {
    expect(() => parseJournal(first + recordLines(1, 2).join(''), run)).toThrow(JournalFormatError);
  });
});

describe('records in a mail on its way', () => {
  it('are counted among the entries recovered, unless retired after', () => {
    const text =
      header +
      recordLines(1, 4).join('') +
      formatSending([1, 2, 3]) +
      formatAck([1]) +
      formatSending([2, 3]) +
      recordLines(5, 5).join('');
    const { entries, inFlight } = parseJournal(text, run);
    expect(entries.map((entry) => entry.message)).toEqual(['entry 2', 'entry 3', 'entry 4', 'entry 5']);
    expect(inFlight).toBe(2);
  });
});
