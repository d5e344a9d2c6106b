import type { CapturedEntry } from '../entry';
import type { SpoolRun } from '../spool/claim';

/** The format tag of a journal's first line; files without it are not read as journals. */
export const JOURNAL_FORMAT = 'winston-buffered-mail/journal@1';

/** What a journal's first line says about the run that wrote it. */
export interface JournalHeader {
  /** The host name as the system gave it (the file name holds only its hash). */
  readonly hostname: string;
  readonly pid: number;
  readonly runId: string;
  /** When the run started, in ms since the epoch. */
  readonly startedAtMs: number;
}

/** What a journal holds once its retirements are applied. */
export interface JournalContent {
  readonly header: JournalHeader;
  /** The entries never retired, in the order they were appended. */
  readonly entries: CapturedEntry[];
  /** Lines skipped: cut short by the end of the process, not JSON, or not of the expected shape. */
  readonly tornRecords: number;
  /** Of `entries`, those in a mail on its way to the server when the run ended: they may arrive twice. */
  readonly inFlight: number;
}

/** Why a file is not a journal at all (as opposed to a journal with some damaged lines). */
export class JournalFormatError extends Error {
  override readonly name = 'JournalFormatError';
}

const MAX_HOSTNAME_LENGTH = 253;
const HOSTNAME = /^[A-Za-z0-9._-]+$/;
// A level or a timestamp may reach a subject line: short, and no line breaks nor control characters.
const MAX_SHORT_FIELD_LENGTH = 256;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The first line of a journal, newline included; the host name is reduced to what a name may hold. */
export function formatHeader(run: SpoolRun, hostname: string): string {
  const header = {
    format: JOURNAL_FORMAT,
    hostname: hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, MAX_HOSTNAME_LENGTH) || 'unknown',
    pid: run.pid,
    runId: run.runId,
    startedAtMs: run.startedAtMs,
  };
  return `${JSON.stringify(header)}\n`;
}

/** One entry as a line of the journal, newline included; fields that are undefined or false are left out. */
export function formatRecord(seq: number, entry: CapturedEntry): string {
  return `${JSON.stringify({
    seq,
    level: entry.level,
    timestamp: entry.timestamp,
    message: entry.message,
    metaJson: entry.metaJson,
    stack: entry.stack,
    line: entry.line,
    crash: entry.crash ? true : undefined,
  })}\n`;
}

/**
 * The line that retires records, newline included: `seqs` as inclusive ranges, so that a mail
 * of a hundred entries costs one short line.
 */
export function formatAck(seqs: readonly number[]): string {
  return `${JSON.stringify({ ack: toRanges(seqs) })}\n`;
}

/**
 * The line that marks records as being in a mail on its way to the server, newline included: if
 * the run ends before their retirement is written, they may have been delivered, and may arrive twice.
 */
export function formatSending(seqs: readonly number[]): string {
  return `${JSON.stringify({ sending: toRanges(seqs) })}\n`;
}

function toRanges(seqs: readonly number[]): Array<[number, number]> {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const seq of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && seq <= last[1] + 1) last[1] = Math.max(last[1], seq);
    else ranges.push([seq, seq]);
  }
  return ranges;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSequence(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isShortText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SHORT_FIELD_LENGTH && !CONTROL.test(value);
}

function isOptionalText(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isMetaJson(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) || typeof value === 'string';
  } catch {
    return false;
  }
}

/** Reads the first line; anything that does not fit, or names another run than `owner`, is an error. */
export function parseHeader(line: string, owner: SpoolRun): JournalHeader {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new JournalFormatError('its first line is not JSON');
  }
  if (!isRecord(value) || value.format !== JOURNAL_FORMAT) {
    throw new JournalFormatError(`its first line does not name the format ${JOURNAL_FORMAT}`);
  }
  const { hostname, pid, runId, startedAtMs } = value;
  if (typeof hostname !== 'string' || hostname.length > MAX_HOSTNAME_LENGTH || !HOSTNAME.test(hostname)) {
    throw new JournalFormatError('`hostname` is not a host name');
  }
  if (pid !== owner.pid || runId !== owner.runId || startedAtMs !== owner.startedAtMs) {
    throw new JournalFormatError('its first line names another run than its file name');
  }
  return { hostname, pid: owner.pid, runId: owner.runId, startedAtMs: owner.startedAtMs };
}

/** Builds a fresh entry from a parsed line, field by field; undefined when it is not of the shape. */
function readEntry(value: Record<string, unknown>): CapturedEntry | undefined {
  const { level, timestamp, message, metaJson, stack, line, crash } = value;
  if (!isShortText(level) || (timestamp !== undefined && !isShortText(timestamp))) return undefined;
  if (typeof message !== 'string' || !isOptionalText(stack) || !isOptionalText(line)) return undefined;
  if (crash !== undefined && typeof crash !== 'boolean') return undefined;
  // Rendered as the entry's fields: it must be what the transport wrote there, a JSON object, or
  // the JSON string that names why the fields could not be serialised.
  if (metaJson !== undefined && !(typeof metaJson === 'string' && isMetaJson(metaJson))) return undefined;
  return { level, timestamp, message, metaJson, stack, line, crash: crash === true };
}

function readRanges(value: unknown): Array<[number, number]> | undefined {
  if (!Array.isArray(value)) return undefined;
  const ranges: Array<[number, number]> = [];
  for (const range of value as unknown[]) {
    if (!Array.isArray(range) || range.length !== 2) return undefined;
    const [from, to] = range as unknown[];
    if (!isSequence(from) || !isSequence(to) || from > to) return undefined;
    ranges.push([from, to]);
  }
  return ranges;
}

/**
 * Reads a journal. Lines that are not records or retirements are skipped and counted, never a
 * reason to lose the others: the last line may have been cut short when the process ended.
 * Records must come in increasing sequence; one that does not is skipped as damaged.
 */
export function parseJournal(text: string, owner: SpoolRun): JournalContent {
  const lines = text.split('\n');
  // Text after the last newline is a line the process did not finish writing.
  const unfinished = lines.pop() ?? '';
  let tornRecords = unfinished === '' ? 0 : 1;
  const [first, ...rest] = lines;
  if (first === undefined) throw new JournalFormatError('it has no complete first line');
  const header = parseHeader(first, owner);
  const records: Array<{ seq: number; entry: CapturedEntry }> = [];
  const retired: Array<[number, number]> = [];
  const sending: Array<[number, number]> = [];
  let lastSeq = 0;
  for (const line of rest) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      tornRecords++;
      continue;
    }
    if (!isRecord(value)) {
      tornRecords++;
      continue;
    }
    if ('ack' in value) {
      const ranges = readRanges(value.ack);
      if (ranges) retired.push(...ranges);
      else tornRecords++;
      continue;
    }
    if ('sending' in value) {
      const ranges = readRanges(value.sending);
      if (ranges) sending.push(...ranges);
      else tornRecords++;
      continue;
    }
    const entry = readEntry(value);
    if (!entry || !isSequence(value.seq) || value.seq <= lastSeq) {
      tornRecords++;
      continue;
    }
    lastSeq = value.seq;
    records.push({ seq: value.seq, entry });
  }
  retired.sort((a, b) => a[0] - b[0]);
  const entries: CapturedEntry[] = [];
  let inFlight = 0;
  let range = 0;
  let sendingRange = 0;
  // A mail sent again marks its records again: the ranges are joined where they overlap.
  sending.sort((a, b) => a[0] - b[0]);
  const marks: Array<[number, number]> = [];
  for (const [from, to] of sending) {
    const last = marks[marks.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else marks.push([from, to]);
  }
  for (const { seq, entry } of records) {
    while (range < retired.length && retired[range]![1] < seq) range++;
    const current = retired[range];
    if (current && current[0] <= seq) continue;
    entries.push(entry);
    while (sendingRange < marks.length && marks[sendingRange]![1] < seq) sendingRange++;
    const marked = marks[sendingRange];
    if (marked && marked[0] <= seq) inFlight++;
  }
  return { header, entries, tornRecords, inFlight };
}
