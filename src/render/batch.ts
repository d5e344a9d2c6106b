import { performance } from 'node:perf_hooks';
import { nextTurn } from '../clock';
import type { CapturedEntry } from '../entry';
import type { LogEntry, MailAttachment, MailBatch, PartEncodings } from '../options';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MAIL_BYTES } from '../options';
import { displayLevel, displayTimestamp, HtmlSize, renderHtmlFoot, renderHtmlHead, renderHtmlRow } from './html';
import { captureEntry, formatLine, wellFormed } from './line';
import { renderJsonLine, renderJsonStub } from './ndjson';
import { MostSevere, NPM_LEVELS, sortBySeverity } from './severity';
import {
  addMeasures,
  base64Bytes,
  cutLine,
  DEFAULT_ADDRESS_HEADER_BYTES,
  EMPTY_MEASURE,
  chooseTransferEncoding,
  encodedTextBytes,
  HEADER_ALLOWANCE_BYTES,
  measureLine,
  type TextMeasure,
} from './size';
import { firstLineOf, renderSubject } from './subject';

const MESSAGE = Symbol.for('message');

// Captured at load time, so that fake timers a test installs later cannot freeze the slicing.
const now = performance.now.bind(performance);

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
  /**
   * The largest mail as sent, headers and transfer encoding included, in bytes; a bigger batch
   * comes back as several mails. Holds for any batch when it is at least 16 KiB plus four times
   * `maxLineBytes`, the least the transport accepts.
   * @default 4194304
   */
  maxMailBytes?: number;
  /**
   * The size of the address headers (From, To, Cc) as the mail carries them, in bytes, counted
   * against `maxMailBytes` besides a fixed 4 KiB for the other headers and the MIME structure.
   * @default 1024
   */
  headerBytes?: number;
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
  /** How the text and HTML parts are encoded when sent, as their size was measured. */
  transferEncodings?: PartEncodings;
}

/** How `renderBatchInSlices` shares the event loop. */
export interface SliceOptions {
  /** How long rendering runs before it lets other work run, in milliseconds. @default 4 */
  sliceMs?: number;
}

/** Everything a mail shows of one entry, read once. */
interface RenderedEntry {
  parts: CapturedEntry;
  /** The line before it was cut to `maxLineBytes`. */
  fullLine: string;
  line: string;
  lineMeasure: TextMeasure;
  row: string;
  rowMeasure: TextMeasure;
  json: string;
  jsonBytes: number;
  /** The level and time as the HTML shows them. */
  level: string;
  timestamp: string;
}

interface Settings {
  html: boolean;
  attachJson: boolean;
  maxLineBytes: number;
  /** What the parts of a mail may take, its headers set aside. */
  bodyBudgetBytes: number;
  hostname: string;
  /** The widest count any mail of the batch may show. */
  maxCount: number;
}

function finishEntry(
  parts: CapturedEntry,
  fullLine: string,
  line: string,
  settings: Settings,
  rowParts = parts,
): RenderedEntry {
  const row = settings.html ? renderHtmlRow(rowParts, settings.maxLineBytes) : undefined;
  const json = settings.attachJson ? `${renderJsonLine(parts, settings.maxLineBytes)}\n` : '';
  return {
    parts,
    fullLine,
    line,
    lineMeasure: measureLine(line),
    row: row?.html ?? '',
    rowMeasure: row?.measure ?? EMPTY_MEASURE,
    json,
    jsonBytes: Buffer.byteLength(json),
    level: displayLevel(parts.level),
    timestamp: displayTimestamp(parts.timestamp),
  };
}

function renderEntry(entry: CapturedEntry, settings: Settings): RenderedEntry {
  const line = formatLine(entry);
  return finishEntry(entry, line, wellFormed(cutLine(line, settings.maxLineBytes)), settings);
}

/**
 * The entry again, smaller, for a mail it does not fit even alone: the line cut to half of
 * `maxLineBytes`, the HTML row and the JSON line to the time, level and an eighth of the message.
 */
function shrinkEntry(entry: RenderedEntry, settings: Settings): RenderedEntry {
  const eighth = Math.max(1, Math.floor(settings.maxLineBytes / 8));
  const shrunk = finishEntry(
    entry.parts,
    entry.fullLine,
    wellFormed(cutLine(entry.fullLine, Math.floor(settings.maxLineBytes / 2))),
    settings,
    { ...entry.parts, metaJson: undefined, stack: undefined, message: cutLine(entry.parts.message, eighth) },
  );
  if (settings.attachJson) {
    shrunk.json = `${renderJsonStub(entry.parts, eighth)}\n`;
    shrunk.jsonBytes = Buffer.byteLength(shrunk.json);
  }
  return shrunk;
}

// Pieces are joined into chunks of about this many characters: a string this big is allocated
// outside the young generation, so the garbage collector does not copy the mail's text again and
// again while it grows, and the many small pieces die young.
const CHUNK_CHARS = 256 * 1024;

/** A long text built from many pieces, in chunks, without joining it all into one flat string. */
class ChunkedText {
  private pieces: string[] = [];
  private pendingChars = 0;
  private chunks = '';

  append(piece: string): void {
    this.pieces.push(piece);
    this.pendingChars += piece.length;
    if (this.pendingChars >= CHUNK_CHARS) this.flush();
  }

  /** The whole text; its chunks are concatenated, which costs nothing until somebody reads it. */
  toString(): string {
    this.flush();
    return this.chunks;
  }

  private flush(): void {
    if (this.pieces.length === 0) return;
    this.chunks += this.pieces.join('');
    this.pieces = [];
    this.pendingChars = 0;
  }
}

/** One mail being filled, entry by entry, while it stays within the budget. */
class MailDraft {
  count = 0;
  readonly text = new ChunkedText();
  readonly rows = new ChunkedText();
  readonly json = new ChunkedText();
  firstTimestamp: string | undefined;
  lastTimestamp: string | undefined;
  sinceShown = '';
  untilShown = '';
  readonly levelCounts = new Map<string, number>();
  private textMeasure: TextMeasure;
  private readonly htmlSize: HtmlSize | undefined;
  private jsonBytes = 0;

  constructor(
    readonly start: number,
    readonly notices: readonly string[],
    private readonly settings: Settings,
  ) {
    this.textMeasure = EMPTY_MEASURE;
    for (const notice of notices) {
      const line = wellFormed(notice);
      this.text.append(`${line}\n`);
      this.textMeasure = addMeasures(this.textMeasure, measureLine(line));
    }
    this.htmlSize = settings.html ? new HtmlSize(settings.hostname, notices, settings.maxCount) : undefined;
  }

  /** Whether the mail, with `entry` added, stays within the budget as sent. */
  fits(entry: RenderedEntry): boolean {
    let bytes = encodedTextBytes(addMeasures(this.textMeasure, entry.lineMeasure));
    if (this.htmlSize) {
      const unnumbered = this.htmlSize.measureWith(entry.rowMeasure, entry.level, entry.timestamp);
      bytes += Math.max(
        encodedTextBytes(unnumbered),
        encodedTextBytes(addMeasures(unnumbered, this.htmlSize.partNumberMeasure)),
      );
    }
    // Only the bytes count: an attachment that is not text/* is always base64.
    if (this.settings.attachJson) bytes += base64Bytes(this.jsonBytes + entry.jsonBytes);
    return bytes <= this.settings.bodyBudgetBytes;
  }

  /** The encodings the parts will be sent with. */
  transferEncodings(): PartEncodings {
    const text = chooseTransferEncoding(this.textMeasure);
    return this.htmlSize ? { text, html: chooseTransferEncoding(this.htmlSize.measure()) } : { text };
  }

  add(entry: RenderedEntry): void {
    this.text.append(`${entry.line}\n`);
    this.textMeasure = addMeasures(this.textMeasure, entry.lineMeasure);
    if (this.htmlSize) {
      this.htmlSize.add(entry.rowMeasure, entry.level, entry.timestamp);
      this.rows.append(entry.row);
      this.levelCounts.set(entry.level, (this.levelCounts.get(entry.level) ?? 0) + 1);
      if (this.count === 0) this.sinceShown = entry.timestamp;
      this.untilShown = entry.timestamp;
    }
    if (this.settings.attachJson) {
      this.json.append(entry.json);
      this.jsonBytes += entry.jsonBytes;
    }
    if (this.count === 0) this.firstTimestamp = entry.parts.timestamp;
    this.lastTimestamp = entry.parts.timestamp;
    this.count++;
  }
}

/**
 * Renders a batch in steps, yielding at checkpoints between bounded pieces of work: after each
 * entry and after each mail. `renderBatch` runs it through at once, `renderBatchInSlices` pauses
 * at the checkpoints.
 */
function* renderSteps(
  entries: readonly CapturedEntry[],
  options: RenderOptions,
): Generator<void, RenderedMail[], void> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxMailBytes = options.maxMailBytes ?? DEFAULT_MAX_MAIL_BYTES;
  const notices = options.notices ?? [];
  const settings: Settings = {
    html: options.html === true,
    attachJson: options.attachJson === true,
    maxLineBytes,
    bodyBudgetBytes: maxMailBytes - HEADER_ALLOWANCE_BYTES - (options.headerBytes ?? DEFAULT_ADDRESS_HEADER_BYTES),
    hostname: options.hostname ?? '',
    maxCount: entries.length,
  };
  const levels = options.levels ?? NPM_LEVELS;
  const severity = new MostSevere<CapturedEntry>(levels);
  const drafts = [new MailDraft(0, notices, settings)];
  let draft = drafts[0]!;

  for (let index = 0; index < entries.length; index++) {
    let entry = renderEntry(entries[index]!, settings);
    severity.offer(entry.parts, entry.parts.level);
    if (!draft.fits(entry)) {
      if (draft.count > 0) {
        draft = new MailDraft(index, [], settings);
        drafts.push(draft);
      }
      // A mail holds at least one entry: one that does not fit alone goes smaller.
      if (!draft.fits(entry)) entry = shrinkEntry(entry, settings);
    }
    draft.add(entry);
    yield;
  }

  const worst = severity.best;
  const whole = withEntries(entries, {
    count: entries.length,
    hostname: settings.hostname,
    level: worst?.level ?? '',
    first: firstLineOf(worst?.message ?? ''),
    since: drafts[0]!.firstTimestamp ?? '',
    until: drafts[drafts.length - 1]!.lastTimestamp ?? '',
    dropped: options.dropped ?? 0,
    part: 1,
    parts: 1,
  });
  const mails: RenderedMail[] = [];
  for (const [index, part] of drafts.entries()) {
    const batch: MailBatch =
      drafts.length === 1
        ? whole
        : withEntries(entries.slice(part.start, part.start + part.count), {
            hostname: whole.hostname,
            level: whole.level,
            first: whole.first,
            dropped: whole.dropped,
            count: part.count,
            since: part.firstTimestamp ?? '',
            until: part.lastTimestamp ?? '',
            part: index + 1,
            parts: drafts.length,
          });
    const mail: RenderedMail = {
      count: part.count,
      subject: renderSubject(options.subject, batch, options.onSubjectError),
      text: part.text.toString(),
      transferEncodings: part.transferEncodings(),
    };
    if (settings.html) {
      const head = renderHtmlHead({
        count: part.count,
        hostname: settings.hostname,
        part: index + 1,
        parts: drafts.length,
        levels: sortBySeverity(Array.from(part.levelCounts.keys()), levels).map(
          (level) => [level, part.levelCounts.get(level) ?? 0] as const,
        ),
        since: part.sinceShown,
        until: part.untilShown,
        notices: part.notices,
      });
      mail.html = head + part.rows.toString() + renderHtmlFoot();
    }
    if (settings.attachJson) {
      const stamp = (batch.since || new Date().toISOString()).slice(0, 64).replace(/[^0-9A-Za-z-]/g, '');
      mail.attachments = [
        {
          filename: `logs-${stamp}${drafts.length > 1 ? `-part${index + 1}` : ''}.ndjson`,
          content: part.json.toString(),
          contentType: 'application/x-ndjson; charset=utf-8',
        },
      ];
    }
    mails.push(mail);
    yield;
  }
  return mails;
}

/**
 * The batch as a `subject` function sees it: its entries are plain info objects (level, message,
 * timestamp, the meta, the stack), made only when the function reads them.
 */
function withEntries(entries: readonly CapturedEntry[], fields: Omit<MailBatch, 'entries'>): MailBatch {
  let view: readonly LogEntry[] | undefined;
  return Object.defineProperty({ ...fields }, 'entries', {
    get: () => (view ??= entries.map(entryAsInfo)),
    enumerable: true,
  }) as MailBatch;
}

function entryAsInfo(entry: CapturedEntry): LogEntry {
  let meta: Record<string, unknown> = {};
  try {
    const parsed: unknown = entry.metaJson === undefined ? {} : JSON.parse(entry.metaJson);
    meta = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { meta: parsed };
  } catch {
    // Meta that did not survive as JSON is shown as it was rendered, in the line.
  }
  const info: LogEntry = { ...meta, level: entry.level, message: entry.message };
  if (entry.timestamp !== undefined) info.timestamp = entry.timestamp;
  if (entry.stack !== undefined) info.stack = entry.stack;
  info[MESSAGE] = formatLine(entry);
  return info;
}

/**
 * Renders a batch as the transport mails it: the subject, the text, and with the options the
 * HTML alternative and the NDJSON attachment. A batch bigger than `maxMailBytes` comes back as
 * several mails, in order. Pure and synchronous: use it for previews and tests. Never throws,
 * whatever the entries hold: an entry that cannot be read renders as a line naming the error.
 */
export function renderBatch(entries: readonly LogEntry[], options: RenderOptions = {}): RenderedMail[] {
  return renderEntries(entries.map(captureEntry), options);
}

/** `renderBatch` for entries in the form the transport keeps them. */
export function renderEntries(entries: readonly CapturedEntry[], options: RenderOptions = {}): RenderedMail[] {
  const steps = renderSteps(entries, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Renders a batch exactly as `renderEntries` does, but lets the event loop run other work whenever
 * a slice of rendering has taken `sliceMs`, so that a big batch does not hold up the application.
 */
export async function renderEntriesInSlices(
  entries: readonly CapturedEntry[],
  options: RenderOptions = {},
  slicing: SliceOptions = {},
): Promise<RenderedMail[]> {
  const sliceMs = slicing.sliceMs ?? 4;
  const steps = renderSteps(entries, options);
  let sliceStart = now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = now();
    }
  }
}
