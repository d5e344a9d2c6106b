import { entryCount } from '../render';
import type { DropSummary } from './ledger';

export { entryCount };

function wasOrWere(count: number): string {
  return count === 1 ? 'was' : 'were';
}

/** The first line of the mail that follows dropped entries. */
export function dropNotice(dropped: DropSummary, limit: string): string {
  const when = dropped.first && dropped.last ? `, logged between ${dropped.first} and ${dropped.last}` : '';
  return `[winston-buffered-mail] ${entryCount(dropped.count)} ${wasOrWere(dropped.count)} dropped${when}: more was waiting than \`${limit}\` allows.`;
}

/** The line that says a mail holds several batches. */
export function mergeNotice(batches: number, heldByRateLimit: boolean): string {
  return `[winston-buffered-mail] This mail holds ${batches} batches merged into one${heldByRateLimit ? ' by `rateLimit`' : ''}.`;
}

/** `3 log entries were not delivered before the process exited`. */
export function notDelivered(count: number, when: string): string {
  return `${entryCount(count)} ${wasOrWere(count)} not delivered ${when}`;
}
