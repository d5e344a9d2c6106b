import { captureEntry, describeError, entryCount, formatCount, readLevel, wellFormed } from './line';
import type { LogEntry, MailBatch } from '../options';
import type { SUBJECT_TOKENS } from '../options';
import { groupEntries } from './grouping';
import { MostSevere, NPM_LEVELS } from './severity';

/** The longest subject we send, in characters; longer ones are cut and end with an ellipsis. */
export const MAX_SUBJECT_LENGTH = 200;
const FIRST_LENGTH = 80;
// Whitespace is collapsed after this many code units are taken: enough for any subject we send.
const SANITIZED_INPUT_LENGTH = 64 * MAX_SUBJECT_LENGTH;
const PART_SUFFIX_LENGTH = 14;

// Anything that could end a header line or confuse a mail client's display.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * What the subject says of the batch's top kind (its most severe, then most frequent fingerprint),
 * besides the `MailBatch` fields.
 */
export interface TopKind {
  /** The first line of the top kind's first message, trimmed, at most 80 characters. */
  readonly top: string;
  /** How many entries of the whole batch are of the top kind. */
  readonly topCount: number;
  /** How many kinds the whole batch has. */
  readonly kinds: number;
}

/** A batch as the subject sees it: the top kind is known once the batch is grouped. */
export type SubjectBatch = MailBatch & Partial<TopKind>;

type SubjectToken = (typeof SUBJECT_TOKENS)[number] | 'top' | 'topCount';

/** The value of each `subject` template token; the token names are those `resolveOptions` accepts. */
const TOKEN_VALUES: Readonly<Record<SubjectToken, (batch: SubjectBatch) => string>> = {
  count: (batch) => String(batch.count),
  level: (batch) => batch.level.toUpperCase(),
  first: (batch) => batch.first,
  hostname: (batch) => batch.hostname,
  since: (batch) => batch.since,
  until: (batch) => batch.until,
  dropped: (batch) => String(batch.dropped),
  top: (batch) => batch.top ?? batch.first,
  topCount: (batch) => String(batch.topCount ?? batch.count),
};

/** Cuts `text` to `length` characters (code points), the last one an ellipsis; reads at most `2 * length` code units. */
export function cutCharacters(text: string, length: number): string {
  if (text.length <= length) return text;
  const characters = Array.from(text.slice(0, 2 * length));
  if (characters.length <= length && text.length <= 2 * length) return text;
  return `${characters.slice(0, length - 1).join('')}…`;
}

/** Makes any text safe for a one-line Subject header: no control characters, bounded length. */
export function sanitizeSubject(subject: string): string {
  const oneLine = wellFormed(subject.slice(0, SANITIZED_INPUT_LENGTH))
    .replace(UNSAFE_IN_HEADER, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cutCharacters(oneLine, MAX_SUBJECT_LENGTH);
}

/** The subject used when none is configured: `[ERROR] 12 log entries from web-1: Payment declined`. */
export function defaultSubject(batch: MailBatch): string {
  const first = batch.first ? `: ${batch.first}` : '';
  return `[${batch.level.toUpperCase()}] ${entryCount(batch.count)} from ${batch.hostname}${first}`;
}

/**
 * The subject used when none is configured and the batch has a summary: its top kind and how often
 * it occurred, `[ERROR] 5,000× Connection refused to db (+2 more kinds) from web-1`.
 */
export function topSubject(batch: Pick<MailBatch, 'level' | 'hostname'> & TopKind): string {
  const others = batch.kinds - 1;
  const more = others > 0 ? ` (+${formatCount(others)} more ${others === 1 ? 'kind' : 'kinds'})` : '';
  return `[${batch.level.toUpperCase()}] ${formatCount(batch.topCount)}× ${batch.top}${more} from ${batch.hostname}`;
}

/** Fills the `{token}`s of a subject template; unknown tokens stay as they are. */
export function fillTemplate(template: string, batch: SubjectBatch): string {
  return template
    .slice(0, SANITIZED_INPUT_LENGTH)
    .replace(/\{(\w+)\}/g, (token, name: string) =>
      Object.hasOwn(TOKEN_VALUES, name)
        ? cutCharacters(TOKEN_VALUES[name as keyof typeof TOKEN_VALUES](batch), MAX_SUBJECT_LENGTH)
        : token,
    );
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return describeError(error);
  }
}

function report(onError: (error: Error) => void, error: Error): void {
  try {
    onError(error);
  } catch {
    // A failing listener must not stop the mail.
  }
}

/**
 * The subject of a mail, always one safe line. A subject function that throws or returns
 * something other than a string is reported through `onError`, and `fallback` is used.
 */
export function renderSubject(
  subject: string | ((batch: MailBatch) => string) | undefined,
  batch: SubjectBatch,
  onError: (error: Error) => void = () => undefined,
  fallback: (batch: SubjectBatch) => string = defaultSubject,
): string {
  let text: string | undefined;
  if (typeof subject === 'string') text = fillTemplate(subject, batch);
  else if (typeof subject === 'function') {
    try {
      const value: unknown = subject(batch);
      if (typeof value === 'string' && value.trim() !== '') text = value;
      else
        report(
          onError,
          new TypeError(`Expected the \`subject\` function to return a non-empty string, got ${typeof value}`),
        );
    } catch (error) {
      report(onError, new Error(`The \`subject\` function threw: ${messageOf(error)}`));
    }
  }
  const line = sanitizeSubject(text ?? '') || sanitizeSubject(fallback(batch));
  return batch.parts > 1
    ? `${cutCharacters(line, MAX_SUBJECT_LENGTH - PART_SUFFIX_LENGTH)} (part ${batch.part}/${batch.parts})`
    : line;
}

/** The first line of a message as the subject's `{first}` shows it: trimmed, at most 80 characters. */
export function firstLineOf(message: string): string {
  const start = message.slice(0, 16 * FIRST_LENGTH);
  return cutCharacters((start.split(/\r?\n/, 1)[0] ?? '').trim(), FIRST_LENGTH);
}

/** When an entry was logged, as its timestamp says; undefined when it has none or it cannot be read. */
export function timestampOf(entry: LogEntry | undefined): string | undefined {
  try {
    const timestamp = entry?.timestamp;
    return typeof timestamp === 'string' ? timestamp : undefined;
  } catch {
    return undefined;
  }
}

/** What the subject and the HTML header say about a batch. Never throws, whatever the entries hold. */
export function describeBatch(
  entries: readonly LogEntry[],
  options: { hostname?: string; levels?: Readonly<Record<string, number>>; dropped?: number } = {},
): MailBatch {
  const severity = new MostSevere<number>(options.levels ?? NPM_LEVELS);
  for (let index = 0; index < entries.length; index++) severity.offer(index, readLevel(entries[index]));
  const worstEntry = severity.best === undefined ? undefined : entries[severity.best];
  const worst = worstEntry === undefined ? undefined : captureEntry(worstEntry);
  const plan = groupEntries(entries.map(captureEntry), { levels: options.levels ?? NPM_LEVELS });
  const top = plan.groups[0];
  return {
    top: firstLineOf(top?.sample.message ?? ''),
    topCount: top?.count ?? 0,
    kinds: plan.groups.length,
    entries,
    count: entries.length,
    hostname: options.hostname ?? '',
    level: worst?.level ?? '',
    first: firstLineOf(worst?.message ?? ''),
    since: timestampOf(entries[0]) ?? '',
    until: timestampOf(entries[entries.length - 1]) ?? '',
    dropped: options.dropped ?? 0,
    part: 1,
    parts: 1,
  };
}
