import { renderLine } from './line-format';
import type { LogEntry, MailBatch } from './options';

const MESSAGE = Symbol.for('message');

/** The longest subject we send, in characters; longer ones are cut and end with an ellipsis. */
export const MAX_SUBJECT_LENGTH = 200;

// Anything that could end a header line or confuse a mail client's display.
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Makes any text safe for a one-line Subject header: no control characters, bounded length. */
export function sanitizeSubject(subject: string): string {
  const oneLine = subject.replace(UNSAFE_IN_HEADER, ' ').replace(/\s+/g, ' ').trim();
  const characters = Array.from(oneLine);
  if (characters.length <= MAX_SUBJECT_LENGTH) return oneLine;
  return `${characters.slice(0, MAX_SUBJECT_LENGTH - 1).join('')}…`;
}

/** The subject used when none is configured: `12 log entries from web-1`. */
export function defaultSubject(batch: MailBatch): string {
  return `${batch.count} log ${batch.count === 1 ? 'entry' : 'entries'} from ${batch.hostname}`;
}

/**
 * The subject of a batch's mail. A subject function that throws or returns something other than
 * a string is reported through `onError` and the default subject is used, so the mail still goes.
 */
export function renderSubject(
  subject: string | ((batch: MailBatch) => string) | undefined,
  batch: MailBatch,
  onError: (error: Error) => void,
): string {
  if (typeof subject === 'string') return sanitizeSubject(subject) || defaultSubject(batch);
  if (subject === undefined) return sanitizeSubject(defaultSubject(batch));
  try {
    const value: unknown = subject(batch);
    if (typeof value === 'string' && value.trim() !== '') return sanitizeSubject(value);
    onError(new TypeError(`Expected the \`subject\` function to return a non-empty string, got ${typeof value}`));
  } catch (error) {
    onError(new Error(`The \`subject\` function threw: ${error instanceof Error ? error.message : String(error)}`));
  }
  return sanitizeSubject(defaultSubject(batch));
}

/** The text of one entry: what the transport's format rendered, or a default line. */
export function entryText(entry: LogEntry): string {
  const rendered = entry[MESSAGE];
  return typeof rendered === 'string' ? rendered : renderLine(entry);
}

/** The text/plain body of a batch: any notices, then one entry per line, in log order. */
export function renderText(entries: readonly LogEntry[], notices: readonly string[] = []): string {
  return `${[...notices, ...entries.map(entryText)].join('\n')}\n`;
}

/** Entries dropped for lack of room, and when they were logged. */
export interface DropSummary {
  count: number;
  first: string | undefined;
  last: string | undefined;
}

function entryCount(count: number): string {
  return `${count} log ${count === 1 ? 'entry' : 'entries'}`;
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
