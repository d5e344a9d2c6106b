import { describeKind } from '../describe-value';
import { NPM_LEVELS, rankLevel } from '../render/severity';

/**
 * nodemailer's `priority` of a message: `high` adds `X-Priority: 1 (Highest)`,
 * `X-MSMail-Priority: High` and `Importance: High`; `normal` adds nothing.
 */
export type MailPriority = 'high' | 'normal';

/** The headers and the priority of a log mail, as nodemailer's `headers` and `priority` take them. */
export interface LogMailHeaders {
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: MailPriority;
}

/**
 * The headers every log mail carries by default. `Auto-Submitted: auto-generated` (RFC 3834) tells
 * vacation responders and other robots not to answer; `X-Auto-Response-Suppress: All` tells
 * Exchange the same, out-of-office replies and read receipts included.
 */
export const AUTOMATED_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Auto-Submitted': 'auto-generated',
  'X-Auto-Response-Suppress': 'All',
});

const MAX_HEADERS = 30;
const MAX_NAME_CHARS = 64;
const MAX_VALUE_CHARS = 900;

// RFC 5322 field names: printable US-ASCII other than the colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
// Header text may hold a tab, never another control character: CR or LF would start a header of its own.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

const ADDRESSING = 'the sender and the recipients come from `from`, `to`, `cc` and `bcc`';
const PER_MAIL = 'the transport sets it for each mail';
const PRIORITY = 'it follows the most severe level of each mail';
const MIME = 'it describes the MIME structure that nodemailer builds';

/** Header names the user may not set, lower-case, with the reason given in the error. */
const RESERVED = new Map<string, string>([
  ['from', ADDRESSING],
  ['sender', ADDRESSING],
  ['to', ADDRESSING],
  ['cc', ADDRESSING],
  ['bcc', ADDRESSING],
  ['return-path', ADDRESSING],
  ['subject', 'the subject comes from `subject`'],
  ['date', PER_MAIL],
  ['message-id', PER_MAIL],
  ['in-reply-to', PER_MAIL],
  ['references', PER_MAIL],
  ['thread-index', PER_MAIL],
  ['thread-topic', PER_MAIL],
  ['x-priority', PRIORITY],
  ['x-msmail-priority', PRIORITY],
  ['importance', PRIORITY],
  ['priority', PRIORITY],
  ['mime-version', MIME],
]);

function reservedReason(lowerName: string): string | undefined {
  if (lowerName.startsWith('content-')) return MIME;
  if (lowerName.startsWith('resent-')) return ADDRESSING;
  return RESERVED.get(lowerName);
}

/** The rank at and above which a mail is marked important: `error` (or `err`), else the most severe level. */
function errorRank(levels: Readonly<Record<string, number>>): number {
  for (const name of ['error', 'err']) {
    const rank = rankLevel(name, levels);
    if (Number.isFinite(rank)) return rank;
  }
  const ranks = Object.values(levels).filter((rank) => typeof rank === 'number' && Number.isFinite(rank));
  return ranks.length === 0 ? Number.NEGATIVE_INFINITY : Math.min(...ranks);
}

/**
 * The priority of a log mail: `high` when its most severe level is `error` or more severe, judged by
 * the logger's own `levels` (an `err` level counts as `error`; levels with neither use their most
 * severe one); `normal` otherwise, and for a level the logger does not know. No mail is marked
 * low: the mark is kept for the mails that call for action, and a rule that files low-importance
 * mail away would hide the only report of a night's warnings.
 * @default levels winston's npm levels
 */
export function priorityOf(
  mostSevereLevel: string,
  levels: Readonly<Record<string, number>> = NPM_LEVELS,
): MailPriority {
  const rank = rankLevel(mostSevereLevel, levels);
  return Number.isFinite(rank) && rank <= errorRank(levels) ? 'high' : 'normal';
}

/**
 * The headers every log mail carries by default (see `AUTOMATED_HEADERS`) and its priority (see
 * `priorityOf`), ready for nodemailer's `headers` and `priority`; the headers are a new object.
 * @default levels winston's npm levels
 */
export function automatedHeaders(
  mostSevereLevel: string,
  levels: Readonly<Record<string, number>> = NPM_LEVELS,
): LogMailHeaders {
  return { headers: { ...AUTOMATED_HEADERS }, priority: priorityOf(mostSevereLevel, levels) };
}

/**
 * Header sets merged in order, later ones winning, names compared without regard to case, so that
 * nodemailer, which would add both, sends one field. The name kept is the last one given.
 */
export function mergeHeaders(...sets: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const byName = new Map<string, [string, string]>();
  for (const set of sets) {
    for (const [name, value] of Object.entries(set)) {
      const lower = name.toLowerCase();
      byName.delete(lower);
      byName.set(lower, [name, value]);
    }
  }
  return Object.fromEntries(byName.values());
}

/**
 * The headers of one log mail: `AUTOMATED_HEADERS`, then the thread's, then the user's (which may
 * replace `Auto-Submitted` and `X-Auto-Response-Suppress`), and the priority of its most severe level.
 * The headers are a new object, not frozen: nodemailer adds a transporter's default headers to it.
 * @param userHeaders - the `headers` option, as `resolveHeaders` returns it
 * @param threadHeaders - the `headers` of `ThreadBook.headersFor`, when the mail is threaded
 */
export function mailHeaders(
  mostSevereLevel: string,
  levels: Readonly<Record<string, number>>,
  userHeaders: Readonly<Record<string, string>>,
  threadHeaders: Readonly<Record<string, string>> = {},
): LogMailHeaders {
  return {
    headers: mergeHeaders(AUTOMATED_HEADERS, threadHeaders, userHeaders),
    priority: priorityOf(mostSevereLevel, levels),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function labelOf(optionName: string, name: string): string {
  return FIELD_NAME.test(name) && /^[\w-]+$/.test(name)
    ? `${optionName}.${name}`
    : `${optionName}[${JSON.stringify(name)}]`;
}

/**
 * Validates the `headers` option: RFC 5322 field names (printable ASCII without spaces or `:`, at
 * most 64 characters), each once whatever its case, and values of one line of at most 900
 * characters; names that nodemailer or the transport set (addressing, `Subject`, `Date`,
 * `Message-ID`, threading, priority, `MIME-Version`, `Content-*`) are refused, `Reply-To` and
 * `List-*` are allowed. Throws a `TypeError` or `RangeError` naming `headers.<name>`; a value is
 * never repeated. Returns the headers frozen.
 * @default optionName 'headers'
 */
export function resolveHeaders(option: unknown, optionName = 'headers'): Readonly<Record<string, string>> {
  if (option === undefined) return Object.freeze({});
  if (!isPlainObject(option)) {
    throw new TypeError(
      `Expected \`${optionName}\` to be an object of header names to values, got ${describeKind(option)}`,
    );
  }
  const names = Object.keys(option);
  if (names.length > MAX_HEADERS) {
    throw new RangeError(`Expected \`${optionName}\` to have at most ${MAX_HEADERS} headers, got ${names.length}`);
  }
  const seen = new Map<string, string>();
  const resolved: Array<[string, string]> = [];
  for (const name of names) {
    const label = labelOf(optionName, name);
    if (!FIELD_NAME.test(name)) {
      throw new TypeError(
        `Expected \`${optionName}\` to have RFC 5322 field names (printable ASCII without spaces or \`:\`), got ${JSON.stringify(name)}`,
      );
    }
    if (name.length > MAX_NAME_CHARS) {
      throw new RangeError(`Expected \`${label}\` to be a field name of at most ${MAX_NAME_CHARS} characters`);
    }
    const lower = name.toLowerCase();
    const reason = reservedReason(lower);
    if (reason !== undefined) throw new TypeError(`Expected \`${label}\` not to be set: ${reason}`);
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      throw new TypeError(`Expected \`${optionName}\` to name each field once, got \`${earlier}\` and \`${name}\``);
    }
    seen.set(lower, name);
    const value = option[name];
    if (typeof value !== 'string' || value.trim() === '') {
      const got = typeof value === 'string' ? 'an empty string' : describeKind(value);
      throw new TypeError(`Expected \`${label}\` to be a non-empty string, got ${got}`);
    }
    if (CONTROL_CHARACTERS.test(value)) {
      throw new TypeError(`Expected \`${label}\` to be one line without control characters`);
    }
    if (value.length > MAX_VALUE_CHARS) {
      throw new RangeError(`Expected \`${label}\` to be at most ${MAX_VALUE_CHARS} characters, got ${value.length}`);
    }
    resolved.push([name, value]);
  }
  return Object.freeze(Object.fromEntries(resolved));
}
