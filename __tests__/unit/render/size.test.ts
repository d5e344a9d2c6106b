import {
  base64Bytes,
  cutLine,
  encodedTextBytes,
  estimateEntryMailBytes,
  measureLine,
  measureText,
  addMeasures,
} from '../../../src/render/size';
import { captureEntry } from '../../../src/render/line';
import { attachmentBodyWireBytes, textBodyWireBytes } from '../../helpers/wire-size';

// A small deterministic generator, so that a failure can be replayed.
function randomNumbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pieces chosen for what changes nodemailer's choice of encoding and the size of each encoding.
const PIECES = [
  'a',
  'Z',
  'log',
  ' ',
  '\t',
  '=',
  '.',
  '\n',
  '\r',
  '\r\n',
  '\n.',
  ' \n',
  '0',
  '7',
  '{"k":1}',
  '<b>',
  'é',
  'ß',
  '–',
  '日本',
  '😀',
  '\u0001',
  '\u007f',
  '\u0085',
  'x'.repeat(90),
  '=C3',
  '. ',
];

function randomText(next: () => number, length: number): string {
  // Each text favours a few pieces, so that all the encodings and their boundaries come up.
  const favoured = Array.from({ length: 3 }, () => PIECES[Math.floor(next() * PIECES.length)]!);
  let text = '';
  while (text.length < length) {
    text += next() < 0.7 ? favoured[Math.floor(next() * favoured.length)] : PIECES[Math.floor(next() * PIECES.length)];
  }
  return text;
}

describe('encodedTextBytes()', () => {
  test.each([
    ['short ASCII lines, sent as 7bit', 'GET /health 200\n'.repeat(200)],
    ['long ASCII lines, sent as quoted-printable', `${'x'.repeat(5000)}\n`.repeat(3)],
    ['Latin-1-heavy text, quoted-printable', 'Größe ändert sich, Straße gesperrt\n'.repeat(300)],
    ['CJK, base64', '注文のサイズが上限を超えました\n'.repeat(300)],
    ['emoji, base64', '😀🚀✓ deploy\n'.repeat(300)],
    ['digits only: no latin letter, so base64', '1234567890 \n'.repeat(300)],
    ['as many latin letters as other characters', 'ab日本\n'.repeat(300)],
    ['one latin letter more than the others', `${'ab日本\n'.repeat(300)}a`],
    ['equal signs, quoted-printable escapes them', 'a=b=c=\n'.repeat(300)],
    ['lines that start with a dot, which SMTP doubles', '.\n..\n'.repeat(300)],
    ['spaces before line breaks, which quoted-printable escapes', 'ab   \n'.repeat(300)],
    ['bare CR and CRLF line ends', 'line one\rline two\r\nline three\n'.repeat(200)],
    ['control characters', 'tick\u0001\u0002\u0007 tock\n'.repeat(200)],
    ['an empty text', ''],
  ])('bounds what nodemailer sends: %s', async (_name, text) => {
    const bound = encodedTextBytes(measureText(text));
    const actual = await textBodyWireBytes(text);
    expect(actual).toBeLessThanOrEqual(bound);
    // Close enough that mails are not split for nothing.
    expect(bound).toBeLessThanOrEqual(actual * 1.15 + 16);
  });

  test('bounds what nodemailer sends for 300 random texts mixing every kind of character', async () => {
    const next = randomNumbers(20261124);
    const underestimated: string[] = [];
    for (let round = 0; round < 300; round++) {
      const text = randomText(next, Math.floor(next() * 3000));
      if ((await textBodyWireBytes(text)) > encodedTextBytes(measureText(text))) underestimated.push(text);
    }
    expect(underestimated).toEqual([]);
  });

  test('bounds the HTML part, a text/html part, the same way', async () => {
    const html = `<!DOCTYPE html><html><body>${'<tr><td>Größe &amp; 日本</td></tr>\n'.repeat(400)}</body></html>`;
    expect(await textBodyWireBytes(html, 'text/html')).toBeLessThanOrEqual(encodedTextBytes(measureText(html)));
  });

  test('with a latin slack, covers both encodings when the letters might not outnumber the rest', () => {
    const text = 'ab日本\na'; // 3 latin letters, 2 other characters: quoted-printable
    const measure = measureText(text);
    expect(encodedTextBytes(measure, 2)).toBeGreaterThanOrEqual(encodedTextBytes(measure));
    expect(encodedTextBytes(measure, 2)).toBeGreaterThanOrEqual(base64Bytes(measure.bytes));
  });
});

describe('measureText()', () => {
  test('counts UTF-8 bytes, letters and the characters nodemailer counts against them', () => {
    expect(measureText('aZ9 é日😀\u0001=\n')).toEqual({
      chars: 11,
      bytes: 1 + 1 + 1 + 1 + 2 + 3 + 4 + 1 + 1 + 1,
      escapedBytes: 2 + 3 + 4 + 1 + 1,
      spacesBeforeBreaks: 0,
      bareBreaks: 1,
      leadingDots: 0,
      latin: 2,
      nonLatin: 1 + 1 + 2 + 1,
      plain: false,
      longestLine: 10,
    });
  });

  test('a lone surrogate counts as the three bytes of U+FFFD', () => {
    expect(measureText('\uD800').bytes).toBe(Buffer.byteLength('\uD800'));
    expect(measureText('\uDC00x').bytes).toBe(Buffer.byteLength('\uDC00x'));
  });

  test('measures of lines add up to the measure of the joined text', () => {
    const lines = ['first line', 'zweite Zeile äöü', '三行目', ''];
    const sum = lines.map(measureLine).reduce(addMeasures);
    expect(sum).toEqual(measureText(`${lines.join('\n')}\n`));
  });
});

describe('base64Bytes()', () => {
  test.each([1, 2, 3, 56, 57, 58, 1000, 4096])('matches nodemailer for %i bytes of an attachment', async (bytes) => {
    expect(base64Bytes(bytes)).toBe(await attachmentBodyWireBytes(bytes));
  });
});

describe('cutLine()', () => {
  test('a line over maxBytes is cut at a character boundary and says its original size', () => {
    const line = 'é'.repeat(5000); // 10000 bytes
    const cut = cutLine(line, 1000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1000);
    expect(cut).toMatch(/^é+ … \[cut: 10000 bytes\]$/);
    expect(cutLine('short', 1000)).toBe('short');
  });

  test('an emoji is never split', () => {
    const cut = cutLine('😀'.repeat(1000), 999);
    expect(cut).toMatch(/^(😀)+ … \[cut: 4000 bytes\]$/u);
  });

  test('a huge line is cut without measuring all of it, and says how many characters it had', () => {
    const cut = cutLine('x'.repeat(3_000_000), 100);
    expect(cut).toBe(`${'x'.repeat(100 - ' … [cut: 3000000 characters]'.length - 2)} … [cut: 3000000 characters]`);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(100);
  });
});

describe('estimateEntryMailBytes()', () => {
  const line = (length: number) => ({ ...captureEntry({ level: 'info', message: 'x' }), line: 'x'.repeat(length) });

  test('grows with the line and with each part of the mail', () => {
    const short = line(100);
    expect(estimateEntryMailBytes(line(1000))).toBeGreaterThan(estimateEntryMailBytes(short));
    expect(estimateEntryMailBytes(short, { html: true })).toBeGreaterThan(estimateEntryMailBytes(short));
    expect(estimateEntryMailBytes(short, { attachJson: true })).toBeGreaterThan(estimateEntryMailBytes(short));
  });

  test.each([1, 100, 997, 998, 5000])(
    'covers what an ASCII line of %i characters takes in the text part as nodemailer sends it',
    async (length) => {
      expect(estimateEntryMailBytes(line(length))).toBeGreaterThanOrEqual(
        await textBodyWireBytes(`${'x'.repeat(length)}\n`),
      );
    },
  );

  test('counts a line longer than maxLineBytes as cut', () => {
    expect(estimateEntryMailBytes(line(1_000_000), { maxLineBytes: 8192 })).toBe(
      estimateEntryMailBytes(line(8192), { maxLineBytes: 8192 }),
    );
    expect(estimateEntryMailBytes(line(8193), { maxLineBytes: 8192 })).toBe(
      estimateEntryMailBytes(line(8192), { maxLineBytes: 8192 }),
    );
    expect(estimateEntryMailBytes(line(8191), { maxLineBytes: 8192 })).toBeLessThan(
      estimateEntryMailBytes(line(8192), { maxLineBytes: 8192 }),
    );
  });
});
