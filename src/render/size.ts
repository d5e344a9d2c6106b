import type { CapturedEntry } from '../entry';
import type { TransferEncoding } from '../options';
import { DEFAULT_MAX_LINE_BYTES } from './limits';

// Lines longer than this are cut without counting their bytes first: counting costs about
// 5 ns a character, and the cut only needs the first `maxBytes` characters.
const COUNTED_LINE_CHARS = 256 * 1024;

/**
 * Cuts a line longer than `maxBytes` (UTF-8) at a character boundary, saying so and how long it
 * was (in bytes, or in characters for lines over 256 Ki characters). Only the first `maxBytes`
 * characters are encoded, whatever the length of the line.
 */
export function cutLine(line: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8.
  if (line.length * 3 <= maxBytes) return line;
  const bytes = line.length > COUNTED_LINE_CHARS ? undefined : Buffer.byteLength(line);
  if (bytes !== undefined && bytes <= maxBytes) return line;
  const marker = bytes === undefined ? ` … [cut: ${line.length} characters]` : ` … [cut: ${bytes} bytes]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker));
  // Decoding a prefix may end in half a character, which decodes as U+FFFD: drop it.
  const head = Buffer.from(line.slice(0, room))
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${head}${marker}`;
}

/**
 * What the size of a text part as sent depends on, counted over its UTF-16 code units the way
 * nodemailer counts them when it picks the transfer encoding (`MimeNode.getTransferEncoding`).
 */
export interface TextMeasure {
  /** UTF-16 code units. */
  readonly chars: number;
  /** UTF-8 bytes. */
  readonly bytes: number;
  /** UTF-8 bytes that quoted-printable writes as `=XX`. */
  readonly escapedBytes: number;
  /** Spaces and tabs before a line break or at the end, which quoted-printable writes as `=XX` too. */
  readonly spacesBeforeBreaks: number;
  /** LFs without a CR before them and CRs without an LF after them: SMTP sends each as CRLF. */
  readonly bareBreaks: number;
  /** Dots that start a line (or the text): SMTP doubles them. */
  readonly leadingDots: number;
  /** Letters A-Z and a-z. */
  readonly latin: number;
  /** Control characters other than tab, CR and LF, and code units from U+0080 up. */
  readonly nonLatin: number;
  /** Whether every character is printable ASCII, tab, CR or LF (nodemailer's `isPlainText`). */
  readonly plain: boolean;
  /** The longest run of code units between two line breaks; of the pieces, for a sum. */
  readonly longestLine: number;
}

export const EMPTY_MEASURE: TextMeasure = Object.freeze({
  chars: 0,
  bytes: 0,
  escapedBytes: 0,
  spacesBeforeBreaks: 0,
  bareBreaks: 0,
  leadingDots: 0,
  latin: 0,
  nonLatin: 0,
  plain: true,
  longestLine: 0,
});

const LF = 0x0a;
const CR = 0x0d;

/**
 * Measures `text` in one pass over its code units. Its end counts as a line end that may not
 * follow: a final CR counts as bare and final whitespace as escaped, which a sum may overcount.
 */
export function measureText(text: string): TextMeasure {
  const length = text.length;
  let bytes = 0;
  let escapedBytes = 0;
  let spacesBeforeBreaks = 0;
  let bareBreaks = 0;
  let leadingDots = 0;
  let latin = 0;
  let nonLatin = 0;
  let plain = true;
  let run = 0;
  let longestLine = 0;
  let previous = LF;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) {
      bytes++;
      if (code === LF || code === CR) {
        if (previous === 0x20 || previous === 0x09) spacesBeforeBreaks++;
        if (code === LF ? previous !== CR : text.charCodeAt(index + 1) !== LF) bareBreaks++;
        if (run > longestLine) longestLine = run;
        run = 0;
      } else {
        run++;
        if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) latin++;
        else if (code >= 0x20) {
          // '=' and DEL are the printable characters that quoted-printable escapes.
          if (code === 0x3d || code === 0x7f) escapedBytes++;
          else if (code === 0x2e && (previous === LF || previous === CR)) leadingDots++;
        } else if (code !== 0x09) {
          nonLatin++;
          plain = false;
          escapedBytes++;
        }
      }
      previous = code;
      continue;
    }
    run++;
    nonLatin++;
    plain = false;
    let size = code < 0x800 ? 2 : 3;
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < length) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        size = 4;
        index++;
        run++;
        nonLatin++;
      }
    }
    bytes += size;
    escapedBytes += size;
    previous = code;
  }
  if (run > longestLine) longestLine = run;
  if (previous === 0x20 || previous === 0x09) spacesBeforeBreaks++;
  return {
    chars: length,
    bytes,
    escapedBytes,
    spacesBeforeBreaks,
    bareBreaks,
    leadingDots,
    latin,
    nonLatin,
    plain,
    longestLine,
  };
}

/** The measure of two texts written one after the other, the first ending with a line break. */
export function addMeasures(a: TextMeasure, b: TextMeasure): TextMeasure {
  return {
    chars: a.chars + b.chars,
    bytes: a.bytes + b.bytes,
    escapedBytes: a.escapedBytes + b.escapedBytes,
    spacesBeforeBreaks: a.spacesBeforeBreaks + b.spacesBeforeBreaks,
    bareBreaks: a.bareBreaks + b.bareBreaks,
    leadingDots: a.leadingDots + b.leadingDots,
    latin: a.latin + b.latin,
    nonLatin: a.nonLatin + b.nonLatin,
    plain: a.plain && b.plain,
    longestLine: Math.max(a.longestLine, b.longestLine),
  };
}

/** The measure of a text followed by one line feed, without building the longer string. */
export function measureLine(text: string): TextMeasure {
  const measure = measureText(text);
  // The LF is bare unless the text ends with a CR, which is then no longer bare itself.
  const endsWithCr = text.charCodeAt(text.length - 1) === CR;
  return {
    ...measure,
    chars: measure.chars + 1,
    bytes: measure.bytes + 1,
    bareBreaks: measure.bareBreaks + (endsWithCr ? -1 : 1),
  };
}

// nodemailer's limits (mime-node and mime-funcs): 7bit only for plain text whose lines hold at
// most 76 characters, and lines are not even looked at in texts over 128 Ki characters.
const SEVEN_BIT_LINE_CHARS = 76;
const SEVEN_BIT_MAX_CHARS = 128 * 1024;
const BASE64_LINE_CHARS = 76;
// Quoted-printable's wrap() breaks a line after 76 characters, earlier at a space within the last
// 25 or before an `=XX` sequence, so every soft break follows at least 52 encoded characters.
const QP_CHARS_PER_SOFT_BREAK = 51;

/**
 * The bytes the content of a text part takes on the wire, as an upper bound: nodemailer sends it as 7bit, as
 * quoted-printable when latin letters outnumber other characters, or as base64; then SMTP turns
 * each bare LF or CR into CRLF and doubles a dot that starts a line. `latinSlack` is how many of
 * the latin letters counted may be missing from the text sent, when the measure is of a text
 * that may still lose a few words.
 */
export function encodedTextBytes(measure: TextMeasure, latinSlack = 0): number {
  const { bytes, plain, latin, nonLatin } = measure;
  // SMTP's additions, and the CRLF nodemailer ends a part with when its content does not.
  const smtpAdded = measure.bareBreaks + measure.leadingDots + 2;
  const sevenBit = bytes + smtpAdded;
  if (plain && measure.chars <= SEVEN_BIT_MAX_CHARS && measure.longestLine <= SEVEN_BIT_LINE_CHARS) return sevenBit;
  let bound = plain ? sevenBit : 0;
  if (nonLatin < latin) {
    // Every escaped byte takes 3 characters instead of 1.
    const encoded = bytes + 2 * (measure.escapedBytes + measure.spacesBeforeBreaks);
    const softBreaks = Math.floor(encoded / QP_CHARS_PER_SOFT_BREAK);
    // `=` CR LF per soft break, and a dot that starts the next line may be doubled.
    bound = Math.max(bound, encoded + 4 * softBreaks + smtpAdded);
  }
  if (nonLatin >= latin - latinSlack) bound = Math.max(bound, base64Bytes(bytes));
  return bound;
}

/**
 * The transfer encoding nodemailer chooses for a text of this measure (see `encodedTextBytes`):
 * named in advance, so that nodemailer need not scan a large part, in one go, to choose it.
 */
export function chooseTransferEncoding(measure: TextMeasure): TransferEncoding {
  if (measure.plain && measure.chars <= SEVEN_BIT_MAX_CHARS && measure.longestLine <= SEVEN_BIT_LINE_CHARS) {
    return '7bit';
  }
  return measure.nonLatin < measure.latin ? 'quoted-printable' : 'base64';
}

/** The bytes `bytes` bytes of content take in base64, in lines of 76 characters ending with CRLF. */
export function base64Bytes(bytes: number): number {
  const characters = 4 * Math.ceil(bytes / 3);
  // The last line ends with a CRLF too, which nodemailer adds after the content.
  return characters + 2 * Math.ceil(characters / BASE64_LINE_CHARS);
}

/**
 * Room kept in every mail for its MIME structure and headers other than the addresses: Date,
 * Message-ID, MIME-Version, the Subject (200 characters of 4-byte UTF-8 take about 1.6 KiB once
 * encoded), the boundaries and the headers of each part and of the attachment.
 */
export const HEADER_ALLOWANCE_BYTES = 4 * 1024;

/** The room kept for the address headers when the caller does not say, in bytes. */
export const DEFAULT_ADDRESS_HEADER_BYTES = 1024;

/** Options of `estimateEntryMailBytes()`. */
export interface EntryEstimateOptions {
  /** Whether the mail has the text/html alternative. @default false */
  html?: boolean;
  /** Whether the mail has the NDJSON attachment. @default false */
  attachJson?: boolean;
  /** @default 8192 */
  maxLineBytes?: number;
}

// The HTML row of an entry: its markup (about 700 bytes), then its message and meta escaped.
const HTML_ROW_MARKUP_BYTES = 800;
// A line's time, level and separators, around its message and meta.
const LINE_FRAME_CHARS = 34;

/**
 * A quick estimate of the bytes one entry adds to a mail as sent, from the length of its text,
 * in O(1): twice the line for the text part (UTF-8 and transfer encoding), three times the line
 * plus the row's markup for the HTML part, twice the line for the NDJSON attachment. For planning
 * before rendering; `renderBatch` measures what it renders and keeps each mail within `maxMailBytes`.
 */
export function estimateEntryMailBytes(entry: CapturedEntry, options: EntryEstimateOptions = {}): number {
  const length =
    entry.line?.length ??
    LINE_FRAME_CHARS + entry.message.length + (entry.metaJson?.length ?? 0) + (entry.stack?.length ?? 0);
  const chars = Math.min(length, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES) + 1;
  return 2 * chars + (options.html ? 3 * chars + HTML_ROW_MARKUP_BYTES : 0) + (options.attachJson ? 2 * chars : 0);
}
