import type { CapturedEntry } from '../entry';
import { entryCount, wellFormed } from './line';
import { addMeasures, cutLine, EMPTY_MEASURE, measureText, type TextMeasure } from './size';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

// Colours by severity, with enough contrast on white; unknown levels are grey.
const LEVEL_COLOURS = new Map<string, string>(
  Object.entries({
    emerg: '#8b0000',
    alert: '#8b0000',
    crit: '#8b0000',
    error: '#b00020',
    err: '#b00020',
    warn: '#9a5b00',
    warning: '#9a5b00',
    notice: '#0b5394',
    info: '#1a6b32',
    http: '#0b5394',
    verbose: '#555555',
    debug: '#555555',
    silly: '#777777',
  }),
);

/** The colour a level is shown in; grey for levels it does not know. */
export function levelColour(level: string): string {
  return LEVEL_COLOURS.get(level) ?? LEVEL_COLOURS.get(level.toLowerCase()) ?? '#555555';
}

// A timestamp is shown as it is, but a hostile one cannot take more than this.
const MAX_TIMESTAMP_BYTES = 100;

/** A timestamp as the HTML shows it: well formed, at most 100 bytes; '' for none. */
export function displayTimestamp(timestamp: string | undefined): string {
  return timestamp === undefined ? '' : wellFormed(cutLine(timestamp, MAX_TIMESTAMP_BYTES));
}

/** A level as the HTML shows it: well formed, at most 100 bytes. */
export function displayLevel(level: string): string {
  return cutText(level, MAX_TIMESTAMP_BYTES);
}

function cutText(text: string, maxBytes: number): string {
  return wellFormed(cutLine(text, maxBytes));
}

const CELL = 'padding:4px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top;text-align:left;';
const PRE =
  'margin:0;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;';

// The markup of a row, measured once: only the log text in it is measured for each row.
const ROW_START = `<tr><td style="${CELL}white-space:nowrap;font-family:Menlo,Consolas,monospace;font-size:12px;color:#555;">`;
const LEVEL_CELL = `</td><td style="${CELL}white-space:nowrap;font-weight:bold;color:`;
const LEVEL_TEXT = ';">';
const MESSAGE_CELL = `</td><td style="${CELL}"><pre style="${PRE}">`;
const PRE_END = '</pre>';
const STACK_START = `<pre style="${PRE}color:#666;margin-top:4px;">`;
const META_CELL = `</td><td style="${CELL}width:34%;min-width:220px;">`;
const META_START = `<pre style="${PRE}color:#333;">`;
const ROW_END = '</td></tr>\n';
const ROW_MARKUP = measureText(ROW_START + LEVEL_CELL + LEVEL_TEXT + MESSAGE_CELL + PRE_END + META_CELL + ROW_END);
const STACK_MARKUP = measureText(STACK_START + PRE_END);
const META_MARKUP = measureText(META_START + PRE_END);
const NOTE_START = `<tr><td colspan="4" style="${CELL}color:#555;font-style:italic;"><pre style="${PRE}">`;
const NOTE_END = '</pre></td></tr>\n';
const NOTE_MARKUP = measureText(NOTE_START + NOTE_END);

/** An HTML row and its measure. */
export interface HtmlRow {
  html: string;
  measure: TextMeasure;
}

/**
 * One table row of the HTML part, ending with a line break: time, level, message (and stack), meta.
 * Each piece is cut to `maxLineBytes` before it is escaped.
 */
export function renderHtmlRow(parts: CapturedEntry, maxLineBytes: number): HtmlRow {
  const timestamp = escapeHtml(displayTimestamp(parts.timestamp));
  const level = displayLevel(parts.level);
  const colour = levelColour(level);
  const levelText = escapeHtml(level.toUpperCase());
  const message = escapeHtml(cutText(parts.message, maxLineBytes));
  const stack =
    parts.stack === undefined || parts.stack === '' ? undefined : escapeHtml(cutText(parts.stack, maxLineBytes));
  const meta = parts.metaJson === undefined ? undefined : escapeHtml(cutText(indentJson(parts.metaJson), maxLineBytes));
  const html =
    ROW_START +
    timestamp +
    LEVEL_CELL +
    colour +
    LEVEL_TEXT +
    levelText +
    MESSAGE_CELL +
    message +
    PRE_END +
    (stack === undefined ? '' : STACK_START + stack + PRE_END) +
    META_CELL +
    (meta === undefined ? '' : META_START + meta + PRE_END) +
    ROW_END;
  // A sum of measures of pieces: enough here, since the head of the document has a line too long for 7bit.
  let measure = addMeasures(ROW_MARKUP, measureText(timestamp + colour + levelText));
  measure = addMeasures(measure, measureText(message));
  if (stack !== undefined) measure = addMeasures(addMeasures(measure, STACK_MARKUP), measureText(stack));
  if (meta !== undefined) measure = addMeasures(addMeasures(measure, META_MARKUP), measureText(meta));
  return { html, measure };
}

/** A table row across all columns that says something about the entries, such as those left out. */
export function renderHtmlNoteRow(text: string): HtmlRow {
  const note = escapeHtml(wellFormed(text));
  return { html: NOTE_START + note + NOTE_END, measure: addMeasures(NOTE_MARKUP, measureText(note)) };
}

const MAX_INDENTED_JSON_CHARS = 64 * 1024;

/** JSON laid out over several lines, for reading; as it is when it is too long to be worth it or does not parse. */
function indentJson(json: string): string {
  // Long runs of digits may be BigInts, which a round trip through a number would change.
  if (json.length > MAX_INDENTED_JSON_CHARS || /\d{16}/.test(json)) return json;
  try {
    return JSON.stringify(JSON.parse(json), undefined, 2);
  } catch {
    return json;
  }
}

/** What the top of the HTML part says about its mail. */
export interface HtmlHead {
  count: number;
  hostname: string;
  /** This mail's number and the number of mails of the batch. */
  part: number;
  parts: number;
  /** The levels of the mail's entries with their counts, most severe first. */
  levels: ReadonlyArray<readonly [string, number]>;
  /** As `displayTimestamp()` shows them; the range is left out when either is ''. */
  since: string;
  until: string;
  notices: readonly string[];
  /** HTML that goes after the notices, before the table: the summary of the batch. */
  intro?: string;
}

// The head is written in pieces so that `HtmlSize` can measure it while the mail is being filled.
const DOCUMENT_START =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>\n' +
  '<body style="margin:0;padding:16px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222;background:#ffffff;">\n' +
  '<h2 style="margin:0 0 4px 0;font-size:18px;">';
const TITLE_END = '</h2>\n<p style="margin:0 0 8px 0;">';
const SUMMARY_END = '</p>\n';
const TABLE_START =
  '<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse;width:100%;">\n' +
  `<thead><tr><th style="${CELL}">Time</th><th style="${CELL}">Level</th><th style="${CELL}">Message</th><th style="${CELL}">Meta</th></tr></thead><tbody>\n`;
const DOCUMENT_END = '</tbody></table></body></html>\n';
const SEPARATOR = ' &middot; ';

function renderFrom(hostname: string): string {
  return ` from ${escapeHtml(wellFormed(hostname))}`;
}

function renderPartNumber(part: number, parts: number): string {
  return parts > 1 ? `${SEPARATOR}part ${part} of ${parts}` : '';
}

function renderLevelCount(level: string, count: number): string {
  return `<span style="color:${levelColour(level)};font-weight:bold;">${escapeHtml(level.toUpperCase())} ${count}</span>`;
}

function renderRange(since: string, until: string): string {
  return since && until ? `${escapeHtml(since)} &ndash; ${escapeHtml(until)} (UTC)` : '';
}

function renderNotices(notices: readonly string[]): string {
  return notices
    .map(
      (notice) =>
        `<p style="margin:8px 0;padding:8px;background:#fff4e5;border-left:4px solid #9a5b00;">${escapeHtml(wellFormed(notice))}</p>\n`,
    )
    .join('');
}

/** The top of the HTML part, up to the first table row: title, counts per level, time range, notices, intro. */
export function renderHtmlHead(head: HtmlHead): string {
  const summary = head.levels.map(([level, count]) => renderLevelCount(level, count)).join(SEPARATOR);
  const range = renderRange(head.since, head.until);
  return (
    DOCUMENT_START +
    entryCount(head.count) +
    renderFrom(head.hostname) +
    renderPartNumber(head.part, head.parts) +
    TITLE_END +
    summary +
    (range ? SEPARATOR : '') +
    range +
    SUMMARY_END +
    renderNotices(head.notices) +
    (head.intro ?? '') +
    TABLE_START
  );
}

/** The end of the HTML part, after the last row. */
export function renderHtmlFoot(after = ''): string {
  return after === '' ? DOCUMENT_END : `</tbody></table>\n${after}</body></html>\n`;
}

/**
 * The measure of the HTML part of a mail being filled, row by row, without rendering its head:
 * exact but for the digits of the counts and of the part number, which are taken at their widest.
 */
export class HtmlSize {
  private rows: TextMeasure = EMPTY_MEASURE;
  private summary: TextMeasure = EMPTY_MEASURE;
  private readonly levels = new Set<string>();
  private count = 0;
  private since = '';
  private readonly fixed: TextMeasure;
  private readonly widest: number;
  /** The measure of the part number in the title, at its widest, for a batch sent as several mails. */
  readonly partNumberMeasure: TextMeasure;

  /**
   * An empty HTML part of a batch of at most `maxCount` entries from `hostname`, with `notices`
   * and `intro` (as `HtmlHead.intro`) on top.
   */
  constructor(hostname: string, notices: readonly string[], maxCount: number, intro = '') {
    this.fixed = measureText(
      `${DOCUMENT_START}${renderFrom(hostname)}${TITLE_END}${SUMMARY_END}${renderNotices(notices)}${intro}${TABLE_START}${DOCUMENT_END}`,
    );
    this.widest = 10 ** String(Math.max(1, maxCount)).length - 1;
    this.partNumberMeasure = measureText(renderPartNumber(this.widest, this.widest));
  }

  /**
   * The measure of the whole part if a row were added for `count` entries of `level` (as
   * `displayLevel()` shows it), logged from `timestamp` to `lastTimestamp` (as `displayTimestamp()`
   * shows them); without the part number, which `partNumberMeasure` holds.
   */
  measureWith(row: TextMeasure, level: string, timestamp: string, count = 1, lastTimestamp = timestamp): TextMeasure {
    const range = renderRange(this.count === 0 ? timestamp : this.since, lastTimestamp);
    const variable = entryCount(this.count + count) + (range ? SEPARATOR : '') + range;
    return addMeasures(
      addMeasures(this.fixed, addMeasures(this.rows, row)),
      addMeasures(this.summaryWith(level), measureText(variable)),
    );
  }

  /** The measure of the part as it stands, but for the digits of the head: enough to choose its encoding. */
  measure(): TextMeasure {
    return addMeasures(this.fixed, addMeasures(this.rows, this.summary));
  }

  /** Adds a row, as measured by `measureWith`. */
  add(row: TextMeasure, level: string, timestamp: string, count = 1): void {
    this.summary = this.summaryWith(level);
    this.levels.add(level);
    this.rows = addMeasures(this.rows, row);
    if (this.count === 0) this.since = timestamp;
    this.count += count;
  }

  private summaryWith(level: string): TextMeasure {
    if (this.levels.has(level)) return this.summary;
    const span = measureText(renderLevelCount(level, this.widest));
    return addMeasures(this.summary, this.levels.size > 0 ? addMeasures(span, SEPARATOR_MEASURE) : span);
  }
}

const SEPARATOR_MEASURE = measureText(SEPARATOR);
