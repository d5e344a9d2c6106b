import { renderHtml } from './html';
import { entryCount, entryParts, renderLine, safeJson, wellFormed } from './line-format';
import type { LogEntry, MailAttachment, MailBatch } from './options';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MAIL_BYTES } from './options';

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

/** The longest subject we send, in characters; longer ones are cut and end with an ellipsis. */
export const MAX_SUBJECT_LENGTH = 200;
const FIRST_LENGTH = 80;

// winston's default levels, for entries rendered without a logger.
export const NPM_LEVELS: Readonly<Record<string, number>> = {
  error: 0,
  warn: 1,
  info: 2,
  http: 3,
  verbose: 4,
  debug: 5,
  silly: 6,
};

// Anything that could end a header line or confuse a mail client's display.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** How to render a batch; every field has a default, so `renderBatch(entries)` works. */
export interface RenderOptions {
  /** A template or a function, as the transport's `subject` option. */
  subject?: string | ((batch: MailBatch) => string);
  /** @default os.hostname() of the caller; '' here */
  hostname?: string;
  /** The logger's levels, to find the most severe entry. @default winston's npm levels */
  levels?: Readonly<Record<string, number>>;
  /** Add the text/html alternative. @default false */
  html?: boolean;
  /** Attach the entries as NDJSON. @default false */
  attachJson?: boolean;
  /** @default 8192 */
  maxLineBytes?: number;
  /** @default 4194304 */
  maxMailBytes?: number;
  /** Lines that go before the entries: drops, merged batches. */
  notices?: readonly string[];
  /** Entries dropped before this batch, for `{dropped}`. */
  dropped?: number;
  /** Told when the subject function fails; the default subject is used instead. */
  onSubjectError?: (error: Error) => void;
}

/** One mail of a rendered batch. */
export interface RenderedMail {
  /** The number of entries in this mail. */
  count: number;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
}

/** Makes any text safe for a one-line Subject header: no control characters, bounded length. */
export function sanitizeSubject(subject: string): string {
  const oneLine = wellFormed(subject).replace(UNSAFE_IN_HEADER, ' ').replace(/\s+/g, ' ').trim();
  return cutCharacters(oneLine, MAX_SUBJECT_LENGTH);
}

function cutCharacters(text: string, length: number): string {
  const characters = Array.from(text);
  return characters.length <= length ? text : `${characters.slice(0, length - 1).join('')}…`;
}

/** The subject used when none is configured: `[ERROR] 12 log entries from web-1: Payment declined`. */
export function defaultSubject(batch: MailBatch): string {
  const first = batch.first ? `: ${batch.first}` : '';
  return `[${batch.level.toUpperCase()}] ${entryCount(batch.count)} from ${batch.hostname}${first}`;
}

function fillTemplate(template: string, batch: MailBatch): string {
  const values: Record<string, string> = {
    count: String(batch.count),
    level: batch.level.toUpperCase(),
    first: batch.first,
    hostname: batch.hostname,
    since: batch.since,
    until: batch.until,
    dropped: String(batch.dropped),
  };
  return template.replace(/\{(\w+)\}/g, (token, name: string) => values[name] ?? token);
}

/**
 * The subject of a mail, always one safe line. A subject function that throws or returns
 * something other than a string is reported through `onError`, and the default is used.
 */
export function renderSubject(
  subject: string | ((batch: MailBatch) => string) | undefined,
  batch: MailBatch,
  onError: (error: Error) => void = () => undefined,
): string {
  let text: string | undefined;
  if (typeof subject === 'string') text = fillTemplate(subject, batch);
  else if (typeof subject === 'function') {
    try {
      const value: unknown = subject(batch);
      if (typeof value === 'string' && value.trim() !== '') text = value;
      else
        onError(new TypeError(`Expected the \`subject\` function to return a non-empty string, got ${typeof value}`));
    } catch (error) {
      onError(new Error(`The \`subject\` function threw: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  const line = sanitizeSubject(text ?? '') || sanitizeSubject(defaultSubject(batch));
  return batch.parts > 1 ? `${cutCharacters(line, MAX_SUBJECT_LENGTH - 14)} (part ${batch.part}/${batch.parts})` : line;
}

/** Cuts a line longer than `maxBytes` (UTF-8) at a character boundary, saying so and how long it was. */
export function cutLine(line: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(line);
  if (bytes <= maxBytes) return line;
  const marker = ` … [cut: ${bytes} bytes]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker));
  // Decoding a prefix may end in half a character, which decodes as U+FFFD: drop it.
  const head = Buffer.from(line)
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${head}${marker}`;
}

/** The text of one entry: what the transport's format rendered, or a default line. */
export function entryText(entry: LogEntry, maxLineBytes = DEFAULT_MAX_LINE_BYTES): string {
  const rendered = entry[MESSAGE];
  return cutLine(wellFormed(typeof rendered === 'string' ? rendered : renderLine(entry)), maxLineBytes);
}

/** One JSON line of the NDJSON attachment: every field of the entry, the meta included. */
export function entryJson(entry: LogEntry, maxLineBytes = DEFAULT_MAX_LINE_BYTES): string {
  const parts = entryParts(entry);
  const record = {
    timestamp: parts.timestamp,
    level: parts.level,
    message: parts.message,
    ...parts.meta,
    stack: parts.stack,
  };
  const json = wellFormed(safeJson(record));
  const limit = Math.max(maxLineBytes, 64 * 1024);
  if (Buffer.byteLength(json) <= limit) return json;
  // Cut lines would no longer parse: say what was left out instead.
  return wellFormed(
    safeJson({
      timestamp: parts.timestamp,
      level: parts.level,
      message: cutLine(parts.message, maxLineBytes),
      truncated: true,
      originalBytes: Buffer.byteLength(json),
    }),
  );
}

/** When an entry was logged, as its timestamp says; undefined when it has none. */
export function timestampOf(entry: LogEntry | undefined): string | undefined {
  return typeof entry?.timestamp === 'string' ? entry.timestamp : undefined;
}

/** Entries dropped for lack of room, and when they were logged. */
export interface DropSummary {
  count: number;
  first: string | undefined;
  last: string | undefined;
}

/** The first line of the mail that follows dropped entries. */
export function dropNotice(dropped: DropSummary): string {
  const when = dropped.first && dropped.last ? `, logged between ${dropped.first} and ${dropped.last}` : '';
  return `[winston-buffered-mail] ${entryCount(dropped.count)} ${dropped.count === 1 ? 'was' : 'were'} dropped${when}: \`maxBufferedEntries\` was reached while mail could not be sent.`;
}

/** The line that says a mail holds several batches. */
export function mergeNotice(batches: number, heldByRateLimit: boolean): string {
  return `[winston-buffered-mail] This mail holds ${batches} batches merged into one${heldByRateLimit ? ' by `rateLimit`' : ''}.`;
}

/** What the subject and the HTML header say about a batch. */
export function describeBatch(
  entries: readonly LogEntry[],
  options: { hostname?: string; levels?: Readonly<Record<string, number>>; dropped?: number } = {},
): MailBatch {
  const levels = options.levels ?? NPM_LEVELS;
  let worst: LogEntry | undefined;
  let worstRank = Number.POSITIVE_INFINITY;
  for (const entry of entries) {
    const level = entry[LEVEL] ?? entry.level;
    const rank = (typeof level === 'string' ? levels[level] : undefined) ?? Number.POSITIVE_INFINITY;
    if (worst === undefined || rank < worstRank) {
      worst = entry;
      worstRank = rank;
    }
  }
  const worstParts = worst ? entryParts(worst) : undefined;
  const firstLine = worstParts?.message.split(/\r?\n/, 1)[0] ?? '';
  return {
    entries,
    count: entries.length,
    hostname: options.hostname ?? '',
    level: worstParts?.level ?? '',
    first: cutCharacters(firstLine.trim(), FIRST_LENGTH),
    since: timestampOf(entries[0]) ?? '',
    until: timestampOf(entries[entries.length - 1]) ?? '',
    dropped: options.dropped ?? 0,
    part: 1,
    parts: 1,
  };
}

// A mail as sent is bigger than its content: transfer encodings (base64, quoted-printable) add up
// to a third, plus line breaks; the headers and the MIME structure take the rest.
const ENCODING_FACTOR = 1.4;
const FIXED_OVERHEAD_BYTES = 8 * 1024;

/** Splits entries, in order, into groups whose mail stays within `maxMailBytes`. */
function splitBySize(costs: readonly number[], fixedBytes: number, maxMailBytes: number): Array<[number, number]> {
  const budget = (maxMailBytes - FIXED_OVERHEAD_BYTES) / ENCODING_FACTOR - fixedBytes;
  const groups: Array<[number, number]> = [];
  let start = 0;
  let used = 0;
  costs.forEach((cost, index) => {
    if (index > start && used + cost > budget) {
      groups.push([start, index]);
      start = index;
      used = 0;
    }
    used += cost;
  });
  groups.push([start, costs.length]);
  return groups;
}

/**
 * Renders a batch as the transport mails it: the subject, the text, and with the options the
 * HTML alternative and the NDJSON attachment. A batch bigger than `maxMailBytes` comes back as
 * several mails, in order. Pure: use it for previews and tests.
 */
export function renderBatch(entries: readonly LogEntry[], options: RenderOptions = {}): RenderedMail[] {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxMailBytes = options.maxMailBytes ?? DEFAULT_MAX_MAIL_BYTES;
  const notices = options.notices ?? [];
  const lines = entries.map((entry) => entryText(entry, maxLineBytes));
  const jsonLines = options.attachJson ? entries.map((entry) => entryJson(entry, maxLineBytes)) : [];
  // The HTML of an entry is about twice its line, the markup and the escaping included.
  const costs = lines.map(
    (line, index) =>
      Buffer.byteLength(line) * (options.html ? 3 : 1) +
      1 +
      (options.attachJson ? Buffer.byteLength(jsonLines[index] ?? '') + 1 : 0),
  );
  const noticeBytes = notices.reduce((sum, notice) => sum + Buffer.byteLength(notice) * (options.html ? 3 : 1), 0);
  const groups = splitBySize(costs, noticeBytes, maxMailBytes);
  const whole = describeBatch(entries, options);

  return groups.map(([start, end], index) => {
    const part = entries.slice(start, end);
    const partNotices = index === 0 ? notices : [];
    const batch: MailBatch = {
      ...describeBatch(part, options),
      first: whole.first,
      level: whole.level,
      part: index + 1,
      parts: groups.length,
    };
    const mail: RenderedMail = {
      count: part.length,
      subject: renderSubject(
        options.subject,
        groups.length > 1 ? batch : { ...whole, part: 1, parts: 1 },
        options.onSubjectError,
      ),
      text: `${[...partNotices, ...lines.slice(start, end)].join('\n')}\n`,
    };
    if (options.html) mail.html = renderHtml(part, { batch, notices: partNotices, maxLineBytes });
    if (options.attachJson) {
      const stamp = (batch.since || new Date().toISOString()).replace(/[^0-9A-Za-z-]/g, '');
      mail.attachments = [
        {
          filename: `logs-${stamp}${groups.length > 1 ? `-part${index + 1}` : ''}.ndjson`,
          content: `${jsonLines.slice(start, end).join('\n')}\n`,
          contentType: 'application/x-ndjson; charset=utf-8',
        },
      ];
    }
    return mail;
  });
}
