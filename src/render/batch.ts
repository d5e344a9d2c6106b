import { performance } from 'node:perf_hooks';
import { nextTurn } from '../clock';
import type { CapturedEntry } from '../entry';
import { renderContextHtml, renderContextText, type ContextBlock } from './context';
import type { LogEntry, MailAttachment, MailBatch, PartEncodings } from '../options';
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MAIL_BYTES } from './limits';
import { resolveFingerprint, type Fingerprint } from './fingerprint';
import { groupEntriesInSteps, type EntryGroup, type GroupingPlan } from './grouping';
import {
  displayLevel,
  displayTimestamp,
  HtmlSize,
  renderHtmlFoot,
  renderHtmlHead,
  renderHtmlNoteRow,
  renderHtmlRow,
} from './html';
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
  measureText,
  type TextMeasure,
} from './size';
import { firstLineOf, renderSubject, topSubject, type SubjectBatch, type TopKind } from './subject';
import { renderCollapseLine, renderSummaryHtml, renderSummaryText, shouldSummarise } from './summary';

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
  /** Where the mail comes from, shown at its foot: see `ContextSource`. */
  context?: ContextBlock;
  /** Told when the subject function fails; the default subject is used instead. */
  onSubjectError?: (error: Error) => void;
  /**
   * Names the kind of an entry, for the summary and for collapsing repeats; an entry for which it
   * throws or returns no string gets the default fingerprint.
   * @default the level, the message without its ids, numbers, addresses and times, and for an error its name and top frame
   */
  fingerprint?: Fingerprint;
  /** Told of the first failure of the fingerprint function in a batch. */
  onFingerprintError?: (error: Error) => void;
  /**
   * The least severe level whose repeats may be collapsed; info and debug lines are always listed.
   * @default 'warn' ('warning' for levels that have it and no 'warn')
   */
  collapseFromLevel?: string;
  /**
   * How many entries of a kind, at `collapseFromLevel` or more severe, a batch lists before the
   * rest are stated by one line and travel in the NDJSON attachment only; `Infinity` lists all.
   * @default 10
   */
  keepPerGroup?: number;
}

/** One mail of a rendered batch. */
export interface RenderedMail {
  /** The number of entries in this mail: listed, or collapsed and carried in its NDJSON attachment only. */
  count: number;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
  /** How the text and HTML parts are encoded when sent, as their size was measured. */
  transferEncodings?: PartEncodings;
  /** The most severe level among its entries, as the logger names it. */
  level?: string;
  /**
   * The conversation the mail belongs to: `problem:<id>` for the fingerprint of its top problem
   * (warn or worse), `digest:<UTC day>` otherwise.
   */
  threadKey?: string;
  /** What the conversation is about: the first line of the top problem, or the digest's host. */
  threadTopic?: string;
}

/** How `renderBatchInSlices` shares the event loop. */
export interface SliceOptions {
  /** How long rendering runs before it lets other work run, in milliseconds. @default 4 */
  sliceMs?: number;
}

/** What a mail gains from one entry, or from one collapse line and the entries it stands for. */
interface MailAddition {
  line: string;
  lineMeasure: TextMeasure;
  row: string;
  rowMeasure: TextMeasure;
  json: string;
  jsonBytes: number;
  /** The level and the first and last time as the HTML shows them. */
  level: string;
  timestamp: string;
  lastTimestamp: string;
  /** The entries it brings. */
  count: number;
}

/** Everything a mail shows of one entry, read once. */
interface RenderedEntry extends MailAddition {
  parts: CapturedEntry;
  /** The line before it was cut to `maxLineBytes`. */
  fullLine: string;
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
  const timestamp = displayTimestamp(parts.timestamp);
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
    timestamp,
    lastTimestamp: timestamp,
    count: 1,
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

/** The summary of a batch, as the first of its mails shows it. */
interface RenderedSummary {
  text: string;
  html: string;
}

/** One mail being filled, entry by entry, while it stays within the budget. */
class MailDraft {
  /** The entries it carries, listed or collapsed. */
  count = 0;
  /** Their indices in the batch: in order, but for collapsed entries, which follow their line. */
  readonly indices: number[] = [];
  readonly text = new ChunkedText();
  readonly rows = new ChunkedText();
  readonly json = new ChunkedText();
  jsonBytes = 0;
  sinceShown = '';
  untilShown = '';
  readonly levelCounts = new Map<string, number>();
  private textMeasure: TextMeasure;
  private readonly htmlSize: HtmlSize | undefined;

  constructor(
    readonly notices: readonly string[],
    private readonly settings: Settings,
    readonly summary?: RenderedSummary,
  ) {
    this.textMeasure = EMPTY_MEASURE;
    for (const notice of notices) {
      const line = wellFormed(notice);
      this.text.append(`${line}\n`);
      this.textMeasure = addMeasures(this.textMeasure, measureLine(line));
    }
    if (summary !== undefined) {
      this.text.append(summary.text);
      this.textMeasure = addMeasures(this.textMeasure, measureText(summary.text));
    }
    this.htmlSize = settings.html
      ? new HtmlSize(settings.hostname, notices, settings.maxCount, summary?.html ?? '')
      : undefined;
  }

  /** Whether the mail, with `addition`, stays within the budget as sent. */
  fits(addition: MailAddition): boolean {
    let bytes = encodedTextBytes(addMeasures(this.textMeasure, addition.lineMeasure));
    if (this.htmlSize) {
      const unnumbered = this.htmlSize.measureWith(
        addition.rowMeasure,
        addition.level,
        addition.timestamp,
        addition.count,
        addition.lastTimestamp,
      );
      bytes += Math.max(
        encodedTextBytes(unnumbered),
        encodedTextBytes(addMeasures(unnumbered, this.htmlSize.partNumberMeasure)),
      );
    }
    // Only the bytes count: an attachment that is not text/* is always base64.
    const jsonBytes = this.jsonBytes + addition.jsonBytes;
    if (this.settings.attachJson || jsonBytes > 0) bytes += base64Bytes(jsonBytes);
    return bytes <= this.settings.bodyBudgetBytes;
  }

  /** The encodings the parts will be sent with, `textFoot` and `htmlFoot` at their end. */
  transferEncodings(textFoot = '', htmlFoot = ''): PartEncodings {
    const text = chooseTransferEncoding(addMeasures(this.textMeasure, measureText(textFoot)));
    return this.htmlSize
      ? { text, html: chooseTransferEncoding(addMeasures(this.htmlSize.measure(), measureText(htmlFoot))) }
      : { text };
  }

  add(addition: MailAddition): void {
    this.text.append(`${addition.line}\n`);
    this.textMeasure = addMeasures(this.textMeasure, addition.lineMeasure);
    if (this.htmlSize) {
      this.htmlSize.add(addition.rowMeasure, addition.level, addition.timestamp, addition.count);
      this.rows.append(addition.row);
      this.levelCounts.set(addition.level, (this.levelCounts.get(addition.level) ?? 0) + addition.count);
      if (this.count === 0) this.sinceShown = addition.timestamp;
      this.untilShown = addition.lastTimestamp;
    }
    if (addition.jsonBytes > 0) {
      this.json.append(addition.json);
      this.jsonBytes += addition.jsonBytes;
    }
    this.count += addition.count;
  }
}

/** A summary for the top of the first mail, when the batch is worth one, in the largest layout that takes at most a quarter of a mail. */
function chooseSummary(plan: GroupingPlan, settings: Settings): RenderedSummary | undefined {
  if (!shouldSummarise(plan)) return undefined;
  const sampleBytes = settings.maxLineBytes;
  const layouts = [
    { maxSampleBytes: sampleBytes },
    { maxSampleBytes: Math.floor(sampleBytes / 4) },
    { maxSamples: 1, maxSampleBytes: Math.floor(sampleBytes / 4) },
    { maxSamples: 0 },
    { maxSamples: 0, maxRows: 5 },
  ];
  for (const layout of layouts) {
    const options = { ...layout, lineOf: formatLine };
    const text = renderSummaryText(plan, options);
    const html = settings.html ? renderSummaryHtml(plan, options) : '';
    const bytes = encodedTextBytes(measureText(text)) + (settings.html ? encodedTextBytes(measureText(html)) : 0);
    if (bytes <= settings.bodyBudgetBytes / 4) return { text, html };
  }
  return undefined;
}

/** The collapsed entries of one kind, ready to be shared out among mails in portions. */
class CollapsedRunJson {
  readonly json: string[] = [];
  /** The bytes of the JSON lines before each position, and of all of them at the end. */
  readonly bytesBefore: number[] = [0];
  /** Per position, the nearest position at or after it whose entry has a timestamp. */
  private readonly timedFrom: number[];
  /** Per position, the nearest position before it whose entry has a timestamp; -1 for none. */
  private readonly timedBefore: number[];

  constructor(
    readonly group: EntryGroup,
    private readonly entries: readonly CapturedEntry[],
    readonly indices: readonly number[],
  ) {
    const length = indices.length;
    this.timedFrom = new Array<number>(length + 1).fill(length);
    this.timedBefore = new Array<number>(length + 1).fill(-1);
    for (let position = length - 1; position >= 0; position--) {
      this.timedFrom[position] = this.timestampAt(position) === undefined ? this.timedFrom[position + 1]! : position;
    }
    for (let position = 1; position <= length; position++) {
      this.timedBefore[position] =
        this.timestampAt(position - 1) === undefined ? this.timedBefore[position - 1]! : position - 1;
    }
  }

  timestampAt(position: number): string | undefined {
    return this.entries[this.indices[position]!]?.timestamp;
  }

  /** Adds the JSON line of the entry at the next position. */
  push(json: string): void {
    this.json.push(json);
    this.bytesBefore.push(this.bytesBefore[this.bytesBefore.length - 1]! + Buffer.byteLength(json));
  }

  /** The first and last timestamp of the entries at `from` up to `from + count`. */
  range(from: number, count: number): { first: string | undefined; last: string | undefined } {
    const first = this.timedFrom[from]!;
    const last = this.timedBefore[from + count]!;
    return {
      first: first < from + count ? this.timestampAt(first) : undefined,
      last: last >= from ? this.timestampAt(last) : undefined,
    };
  }
}

/** What a mail gains from the collapse line for `count` entries of `run` from `from`, with their JSON when given. */
function collapsedAddition(
  run: CollapsedRunJson,
  from: number,
  count: number,
  settings: Settings,
  json = '',
): MailAddition {
  const { first, last } = run.range(from, count);
  const line = wellFormed(
    cutLine(
      renderCollapseLine(run.group, { count, firstTimestamp: first, lastTimestamp: last }),
      settings.maxLineBytes,
    ),
  );
  const row = settings.html ? renderHtmlNoteRow(line) : undefined;
  return {
    line,
    lineMeasure: measureLine(line),
    row: row?.html ?? '',
    rowMeasure: row?.measure ?? EMPTY_MEASURE,
    json,
    jsonBytes: json === '' ? run.bytesBefore[from + count]! - run.bytesBefore[from]! : Buffer.byteLength(json),
    level: displayLevel(run.group.level),
    timestamp: displayTimestamp(first),
    lastTimestamp: displayTimestamp(last),
    count,
  };
}

/**
 * Renders a batch in steps, yielding at checkpoints between bounded pieces of work: after each
 * entry grouped, each entry rendered, each collapsed entry serialised, and each mail.
 * `renderEntries` runs it through at once, `renderEntriesInSlices` pauses at the checkpoints.
 */
function* renderSteps(
  entries: readonly CapturedEntry[],
  options: RenderOptions,
): Generator<void, RenderedMail[], void> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxMailBytes = options.maxMailBytes ?? DEFAULT_MAX_MAIL_BYTES;
  const notices = options.notices ?? [];
  // After the signature separator of RFC 3676, which mail clients show apart from the body.
  const contextText = options.context === undefined ? '' : `\n-- \n${renderContextText(options.context)}\n`;
  const contextHtml = options.context === undefined ? '' : renderContextHtml(options.context);
  const settings: Settings = {
    html: options.html === true,
    attachJson: options.attachJson === true,
    maxLineBytes,
    bodyBudgetBytes:
      maxMailBytes -
      HEADER_ALLOWANCE_BYTES -
      (options.headerBytes ?? DEFAULT_ADDRESS_HEADER_BYTES) -
      // The block is ASCII but for the user's values; three bytes each covers any encoding.
      3 * (Buffer.byteLength(contextText) + (options.html === true ? Buffer.byteLength(contextHtml) : 0)),
    hostname: options.hostname ?? '',
    maxCount: entries.length,
  };
  const levels = options.levels ?? NPM_LEVELS;
  const plan = yield* groupEntriesInSteps(entries, {
    levels,
    fingerprint: resolveFingerprint(options.fingerprint, options.onFingerprintError),
    collapseFromLevel: options.collapseFromLevel,
    keepPerGroup: options.keepPerGroup,
  });
  const summary = chooseSummary(plan, settings);
  const drafts = [new MailDraft(notices, settings, summary)];
  let draft = drafts[0]!;

  /**
   * Makes room for what does not fit the mail being filled: a new mail when this one has entries;
   * otherwise this one without its summary, which never takes the place of an entry. False when
   * the mail is already as empty as it gets.
   */
  const makeRoom = (): boolean => {
    if (draft.count > 0) {
      draft = new MailDraft([], settings);
      drafts.push(draft);
      return true;
    }
    if (draft.summary !== undefined) {
      draft = new MailDraft(draft.notices, settings);
      drafts[drafts.length - 1] = draft;
      return true;
    }
    return false;
  };

  function* placeCollapsed(group: EntryGroup, indices: readonly number[]): Generator<void, void, void> {
    const run = new CollapsedRunJson(group, entries, indices);
    for (const index of indices) {
      run.push(`${renderJsonLine(entries[index]!, maxLineBytes)}\n`);
      yield;
    }
    let from = 0;
    while (from < indices.length) {
      // The most entries of the run, from `from`, that the mail takes with their line.
      let fitting = 0;
      let tooMany = indices.length - from + 1;
      if (draft.fits(collapsedAddition(run, from, tooMany - 1, settings))) fitting = tooMany - 1;
      while (tooMany - fitting > 1) {
        const middle = (fitting + tooMany) >>> 1;
        if (draft.fits(collapsedAddition(run, from, middle, settings))) fitting = middle;
        else tooMany = middle;
      }
      if (fitting === 0 && makeRoom()) continue;
      if (fitting === 0) {
        // Alone in a mail and still too big: its JSON line goes smaller, as a listed entry's would.
        const eighth = Math.max(1, Math.floor(maxLineBytes / 8));
        const stub = `${renderJsonStub(entries[indices[from]!]!, eighth)}\n`;
        draft.add(collapsedAddition(run, from, 1, settings, stub));
        fitting = 1;
      } else {
        draft.add(collapsedAddition(run, from, fitting, settings, run.json.slice(from, from + fitting).join('')));
      }
      for (let position = from; position < from + fitting; position++) draft.indices.push(indices[position]!);
      from += fitting;
    }
  }

  const severity = new MostSevere<CapturedEntry>(levels);
  for (let index = 0; index < entries.length; index++) {
    const captured = entries[index]!;
    severity.offer(captured, captured.level);
    if (plan.listed[index] === true) {
      let entry = renderEntry(captured, settings);
      while (!draft.fits(entry)) {
        if (!makeRoom()) {
          // A mail holds at least one entry: one that does not fit alone goes smaller.
          entry = shrinkEntry(entry, settings);
          break;
        }
      }
      draft.add(entry);
      draft.indices.push(index);
    } else {
      const group = plan.collapseLines.get(index);
      if (group?.collapsed !== undefined) yield* placeCollapsed(group, group.collapsed.indices);
    }
    yield;
  }

  const worst = severity.best;
  const top = plan.groups[0];
  const topKind: TopKind = {
    top: firstLineOf(top?.sample.message ?? ''),
    topCount: top?.count ?? 0,
    kinds: plan.groups.length,
  };
  const whole = withEntries(entries, {
    count: entries.length,
    hostname: settings.hostname,
    level: worst?.level ?? '',
    first: firstLineOf(worst?.message ?? ''),
    since: entries[0]?.timestamp ?? '',
    until: entries[entries.length - 1]?.timestamp ?? '',
    dropped: options.dropped ?? 0,
    part: 1,
    parts: 1,
    ...topKind,
  });
  // With a summary, the default subject names the top problem, when it repeats.
  const fallback =
    summary === undefined || topKind.topCount < 2
      ? undefined
      : () => topSubject({ ...topKind, level: whole.level, hostname: whole.hostname });
  const thread =
    top?.severe === true
      ? { threadKey: `problem:${top.id}`, threadTopic: topKind.top }
      : {
          threadKey: `digest:${new Date(Date.parse(whole.since) || Date.now()).toISOString().slice(0, 10)}`,
          threadTopic: whole.hostname === '' ? 'Log digest' : `Log digest of ${whole.hostname}`,
        };
  const mails: RenderedMail[] = [];
  for (const [index, part] of drafts.entries()) {
    const indices = drafts.length === 1 ? [] : part.indices.sort((a, b) => a - b);
    const partEntries = indices.map((position) => entries[position]!);
    const batch: SubjectBatch =
      drafts.length === 1
        ? whole
        : withEntries(partEntries, {
            hostname: whole.hostname,
            level: whole.level,
            first: whole.first,
            dropped: whole.dropped,
            count: part.count,
            since: partEntries[0]?.timestamp ?? '',
            until: partEntries[partEntries.length - 1]?.timestamp ?? '',
            part: index + 1,
            parts: drafts.length,
            ...topKind,
          });
    const mail: RenderedMail = {
      count: part.count,
      subject: renderSubject(options.subject, batch, options.onSubjectError, fallback),
      text: part.text.toString() + contextText,
      transferEncodings: part.transferEncodings(contextText, contextHtml),
      level: whole.level,
      ...thread,
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
        intro: part.summary?.html ?? '',
      });
      mail.html = head + part.rows.toString() + renderHtmlFoot(contextHtml);
    }
    if (settings.attachJson || part.jsonBytes > 0) {
      const stamp = (batch.since || new Date().toISOString()).slice(0, 64).replace(/[^0-9A-Za-z-]/g, '');
      // Without `attachJson`, the attachment holds the collapsed entries only.
      const name = settings.attachJson ? 'logs' : 'collapsed';
      mail.attachments = [
        {
          filename: `${name}-${stamp}${drafts.length > 1 ? `-part${index + 1}` : ''}.ndjson`,
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
function withEntries(entries: readonly CapturedEntry[], fields: Omit<SubjectBatch, 'entries'>): SubjectBatch {
  let view: readonly LogEntry[] | undefined;
  return Object.defineProperty({ ...fields }, 'entries', {
    get: () => (view ??= entries.map(entryAsInfo)),
    enumerable: true,
  }) as SubjectBatch;
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
 * HTML alternative and the NDJSON attachment. A batch with a problem (an entry at
 * `collapseFromLevel` or more severe) that is longer than 10 entries, or has repeats collapsed,
 * starts with a summary of its kinds; repeats of a problem beyond `keepPerGroup` are stated by one
 * line and travel in full in the NDJSON attachment (`collapsed-….ndjson` without `attachJson`).
 * A batch bigger than `maxMailBytes` comes back as several mails, in order, the summary in the
 * first. Pure and synchronous: use it for previews and tests. Never throws, whatever the entries
 * hold: an entry that cannot be read renders as a line naming the error.
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
