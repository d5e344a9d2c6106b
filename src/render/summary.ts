import type { CapturedEntry } from '../entry';
import type { CollapsedRun, EntryGroup, GroupingPlan } from './grouping';
import { escapeHtml, levelColour } from './html';
import { formatCount, wellFormed } from './line';
import { cutLine } from './size';
import { cutCharacters, firstLineOf, sanitizeSubject } from './subject';

/** How `renderSummaryText` and `renderSummaryHtml` lay out the summary of a batch. */
export interface SummaryOptions {
  /** The line of an entry as the mail lists it, before it is cut; the samples show it. */
  lineOf: (entry: CapturedEntry) => string;
  /** The most a sample may take, in bytes (UTF-8). @default 8192 */
  maxSampleBytes?: number;
  /** The most kinds listed; the others are counted in a last row. @default 20 */
  maxRows?: number;
  /** The most kinds shown with a sample: the first listed of those at the collapse level or more severe. @default 5 */
  maxSamples?: number;
}

/** The most kinds the summary lists when not told. */
export const DEFAULT_SUMMARY_ROWS = 20;
/** The most samples the summary shows when not told. */
export const DEFAULT_SUMMARY_SAMPLES = 5;

const DEFAULT_SAMPLE_BYTES = 8192;
const MAX_LEVEL_CHARACTERS = 12;
const MAX_TIME_CHARACTERS = 40;
const ISO_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/;

function plural(count: number, one: string, many: string): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/** A batch of at most this many entries is read at a glance: it needs no summary unless something in it was collapsed. */
export const MIN_SUMMARISED_ENTRIES = 11;

/**
 * Whether a batch is worth a summary: it has a problem (an entry at the collapse level or more
 * severe) that the summary brings to the top, and is too long to be read at a glance or has
 * entries collapsed. A batch of info and debug lines is the record, of which nothing is
 * collapsed: it reads best as it is.
 */
export function shouldSummarise(plan: GroupingPlan): boolean {
  return plan.severeCount > 0 && (plan.entryCount >= MIN_SUMMARISED_ENTRIES || plan.collapsedCount > 0);
}

/** Text for one cell or line: no control characters, no line breaks, at most `length` characters. */
function oneLine(text: string, length: number): string {
  return cutCharacters(sanitizeSubject(text), length);
}

/** The message a kind is shown by: the first line of its sample, at most 80 characters. */
function headlineOf(group: EntryGroup): string {
  return sanitizeSubject(firstLineOf(group.sample.message));
}

function levelOf(group: EntryGroup): string {
  return oneLine(group.level.toUpperCase(), MAX_LEVEL_CHARACTERS) || '-';
}

/** The date all the given timestamps share, when each is an ISO 8601 UTC timestamp; undefined otherwise. */
function sharedDate(timestamps: ReadonlyArray<string | undefined>): string | undefined {
  let date: string | undefined;
  for (const timestamp of timestamps) {
    if (timestamp === undefined) continue;
    const day = ISO_UTC.exec(timestamp)?.[1];
    if (day === undefined || (date !== undefined && day !== date)) return undefined;
    date = day;
  }
  return date;
}

/** A timestamp as a cell shows it: the time alone when the summary names the date. */
function timeOf(timestamp: string | undefined, dateShown: boolean): string {
  if (timestamp === undefined) return '-';
  if (dateShown) return ISO_UTC.exec(timestamp)?.[2] ?? timestamp;
  return oneLine(timestamp, MAX_TIME_CHARACTERS);
}

/** `2026-11-24T04:32:08.123Z – 04:32:12.999Z`: the date is not repeated on the same day; '' without timestamps. */
export function formatRange(first: string | undefined, last: string | undefined): string {
  if (first === undefined || last === undefined) return '';
  const since = oneLine(first, MAX_TIME_CHARACTERS);
  if (first === last) return since;
  const date = sharedDate([first, last]);
  return `${since} – ${date === undefined ? oneLine(last, MAX_TIME_CHARACTERS) : timeOf(last, true)}`;
}

interface SummaryTable {
  title: string;
  header: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
  /** `… and 3 more kinds (12 entries)`; '' when every kind is listed. */
  rest: string;
  samples: ReadonlyArray<{ heading: string; text: string }>;
}

function buildTable(plan: GroupingPlan, options: SummaryOptions): SummaryTable {
  const shown = plan.groups.slice(0, Math.max(0, options.maxRows ?? DEFAULT_SUMMARY_ROWS));
  const date = sharedDate(shown.flatMap((group) => [group.firstTimestamp, group.lastTimestamp]));
  const dateShown = date !== undefined;
  const hidden = plan.groups.length - shown.length;
  let hiddenEntries = plan.entryCount;
  for (const group of shown) hiddenEntries -= group.count;
  const sampleBytes = options.maxSampleBytes ?? DEFAULT_SAMPLE_BYTES;
  return {
    title: `Summary: ${plural(plan.entryCount, 'log entry', 'log entries')} of ${plural(plan.groups.length, 'kind', 'kinds')}${dateShown ? `, ${date} (UTC)` : ''}`,
    header: ['Count', 'Level', 'First seen', 'Last seen', 'Message'],
    rows: shown.map((group) => [
      formatCount(group.count),
      levelOf(group),
      timeOf(group.firstTimestamp, dateShown),
      timeOf(group.lastTimestamp, dateShown),
      headlineOf(group),
    ]),
    rest:
      hidden > 0
        ? `… and ${plural(hidden, 'more kind', 'more kinds')} (${plural(hiddenEntries, 'entry', 'entries')})`
        : '',
    samples: shown
      .filter((group) => group.severe)
      .slice(0, Math.max(0, options.maxSamples ?? DEFAULT_SUMMARY_SAMPLES))
      .map((group) => ({
        heading: `${formatCount(group.count)}× ${levelOf(group)}`,
        text: wellFormed(cutLine(options.lineOf(group.sample), sampleBytes)),
      })),
  };
}

const COLUMN_GAP = '  ';
const ENTRIES_HEADING = 'Log entries, in order:';

/**
 * The summary at the top of a mail's text, as aligned plain text: a row per kind (count, level,
 * first and last seen, first line of the message), most severe and most frequent first, then the
 * first entry of the top problems in full; ends with a heading for the entries that follow.
 */
export function renderSummaryText(plan: GroupingPlan, options: SummaryOptions): string {
  const table = buildTable(plan, options);
  const widths = table.header.map((title, column) =>
    Math.max(title.length, ...table.rows.map((row) => row[column]?.length ?? 0)),
  );
  const layOut = (cells: readonly string[]): string =>
    `  ${cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : column === 0 ? cell.padStart(widths[0]!) : cell.padEnd(widths[column]!),
      )
      .join(COLUMN_GAP)}`.trimEnd();
  const lines = [table.title, '', layOut(table.header), ...table.rows.map(layOut)];
  if (table.rest) lines.push(`  ${table.rest}`);
  if (table.samples.length > 0) {
    lines.push('', table.samples.length === 1 ? 'The first entry, in full:' : 'The first entry of each kind, in full:');
    for (const sample of table.samples) lines.push('', `${sample.heading}:`, sample.text);
  }
  lines.push('', ENTRIES_HEADING);
  return `${lines.join('\n')}\n`;
}

const CELL = 'padding:2px 8px;vertical-align:top;text-align:left;';
const PRE =
  'margin:0;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;';

function cell(content: string, style = ''): string {
  return `<td style="${CELL}${style}">${content}</td>`;
}

/** The summary at the top of a mail's HTML part: the same content as the text, as a table. */
export function renderSummaryHtml(plan: GroupingPlan, options: SummaryOptions): string {
  const table = buildTable(plan, options);
  const head = table.header.map((title) => `<th style="${CELL}">${escapeHtml(title)}</th>`).join('');
  const rows = table.rows
    .map(
      ([count = '', level = '', first = '', last = '', message = ''], index) =>
        `<tr>${cell(escapeHtml(count), 'text-align:right;white-space:nowrap;')}` +
        cell(
          escapeHtml(level),
          `font-weight:bold;white-space:nowrap;color:${levelColour(plan.groups[index]?.level ?? '')};`,
        ) +
        `${cell(escapeHtml(first), 'white-space:nowrap;')}${cell(escapeHtml(last), 'white-space:nowrap;')}${cell(escapeHtml(message))}</tr>\n`,
    )
    .join('');
  const rest = table.rest ? `<tr><td colspan="5" style="${CELL}color:#555;">${escapeHtml(table.rest)}</td></tr>\n` : '';
  const samples = table.samples
    .map(
      (sample) =>
        `<p style="margin:8px 0 2px 0;font-weight:bold;">${escapeHtml(sample.heading)}</p>\n` +
        `<pre style="${PRE}padding:6px;background:#f6f6f6;">${escapeHtml(sample.text)}</pre>\n`,
    )
    .join('');
  return (
    `<h3 style="margin:8px 0 4px 0;font-size:15px;">${escapeHtml(table.title)}</h3>\n` +
    '<table role="presentation" cellspacing="0" cellpadding="0" style="border-collapse:collapse;margin:0 0 8px 0;">\n' +
    `<thead><tr>${head}</tr></thead><tbody>\n${rows}${rest}</tbody></table>\n${samples}` +
    `<h3 style="margin:12px 0 4px 0;font-size:15px;">${ENTRIES_HEADING.slice(0, -1)}</h3>\n`
  );
}

/** Which of a kind's collapsed entries a collapse line states: all of them, or those one mail carries. */
export type CollapsedPortion = Pick<CollapsedRun, 'count' | 'firstTimestamp' | 'lastTimestamp'>;

/**
 * The line that stands for the collapsed entries of a kind (or `portion` of them), where the first
 * of them would have been: `… 4,990 more of "Connection refused" left out
 * (2026-11-24T04:32:08.123Z – 04:32:12.999Z), all in the attached NDJSON`; '' when none is.
 */
export function renderCollapseLine(group: EntryGroup, portion: CollapsedPortion | undefined = group.collapsed): string {
  const run = portion;
  if (run === undefined || run.count === 0) return '';
  const range = formatRange(run.firstTimestamp, run.lastTimestamp);
  return `… ${formatCount(run.count)} more of "${headlineOf(group)}" left out${range ? ` (${range})` : ''}, all in the attached NDJSON`;
}
