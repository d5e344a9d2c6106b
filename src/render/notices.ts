import { entryCount } from './line';

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
