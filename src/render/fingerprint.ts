import { createHash } from 'node:crypto';
import type { CapturedEntry } from '../entry';
import { describeError } from './line';

/** What a `fingerprint` function is given: one entry, as text, with its other fields parsed on first use. */
export interface FingerprintInput {
  /** The level as the logger named it; '' when it could not be read. */
  readonly level: string;
  /** The message as text; for a crash entry it holds the stack too. */
  readonly message: string;
  /** The timestamp as the format wrote it; undefined when the entry had none. */
  readonly timestamp: string | undefined;
  /** The stack of an error entry; undefined otherwise. */
  readonly stack: string | undefined;
  /** Whether winston's exception or rejection handling logged it. */
  readonly crash: boolean;
  /** The entry's other fields, redacted, parsed when first read; `{}` when it had none or they cannot be parsed. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/**
 * Names the kind of an entry: entries with the same string are counted together and their
 * repeats may be collapsed. Return a non-empty string; anything else falls back to the default.
 */
export type Fingerprint = (entry: FingerprintInput) => string;

/** The fields of an entry the default fingerprint reads: a `CapturedEntry` or a `FingerprintInput`. */
export interface FingerprintSource {
  readonly level: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** The longest fingerprint kept from a `fingerprint` function, in characters; longer ones are cut. */
export const MAX_FINGERPRINT_LENGTH = 512;

// The default fingerprint reads this much of a message, so that a huge message costs no more than a short one.
const MAX_MESSAGE_CHARS = 2048;
// How far into a stack, or into a message holding one, the first frame is looked for.
const MAX_STACK_CHARS = 8192;
const MAX_LEVEL_CHARS = 64;
const MAX_FRAME_CHARS = 512;

const HEX = '[0-9a-fA-F]';
const GROUP6 = `${HEX}{1,4}`;

const DIGIT = /\d/;
const holdsDigit = (text: string): boolean => DIGIT.test(text);
const holdsAny =
  (...characters: string[]) =>
  (text: string): boolean =>
    characters.some((character) => text.includes(character));

interface VolatilePart {
  readonly pattern: RegExp;
  readonly placeholder: string;
  /** A quick test that the part may occur: most messages skip most passes. */
  readonly mayOccur: (text: string) => boolean;
}

// The parts of a message that differ between repeats of one event, each replaced by its
// placeholder, in this order. Each pattern starts where a look-behind allows or is bounded, so
// that each pass is linear in the length of the message whatever it holds. Passes with a string
// placeholder stay on V8's fast path, which one pass with a replacement function would leave.
const VOLATILE_PARTS: readonly VolatilePart[] = [
  {
    pattern: /(?<![\w\\])'[^'\n]*'(?!\w)|(?<!\\)"(?:[^"\\\n]|\\.)*"/g,
    placeholder: '<str>',
    mayOccur: holdsAny("'", '"'),
  },
  {
    pattern: /(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g,
    placeholder: '<time>',
    mayOccur: holdsAny('-'),
  },
  {
    pattern: new RegExp(`(?<![0-9A-Za-z])${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}(?![0-9A-Za-z])`, 'g'),
    placeholder: '<uuid>',
    mayOccur: holdsAny('-'),
  },
  {
    pattern: /(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+/g,
    placeholder: '<email>',
    mayOccur: holdsAny('@'),
  },
  {
    pattern: /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?!\.?\d)/g,
    placeholder: '<ip>',
    mayOccur: holdsAny('.'),
  },
  {
    pattern: new RegExp(
      `(?<![\\w:])(?:${GROUP6}(?::${GROUP6}){7}|${GROUP6}(?::${GROUP6}){0,6}::(?:${GROUP6}(?::${GROUP6}){0,6})?|::${GROUP6}(?::${GROUP6}){0,6})(?![\\w:])`,
      'g',
    ),
    placeholder: '<ip>',
    mayOccur: holdsAny(':'),
  },
  {
    // Generated ids and names: nanoids, pod names (`web-7d9f8b6c4-x2k9p`), tokens of 8 characters
    // or more with both a digit and a letter. The look-aheads stay within the token: linear.
    pattern: /(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{8,}(?![\w-])/g,
    placeholder: '<num>',
    mayOccur: holdsDigit,
  },
  {
    pattern: new RegExp(`(?<![0-9A-Za-z])(?:0x${HEX}+|(?=${HEX}*\\d)${HEX}{6,}|[a-fA-F]{8,})(?![0-9A-Za-z])`, 'g'),
    // Before durations, which would take `9518815d` for days; the same placeholder as a number,
    // since an id that happens to hold no letter is one.
    placeholder: '<num>',
    mayOccur: () => true,
  },
  {
    pattern: /(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)(?!\w)/g,
    placeholder: '<duration>',
    mayOccur: holdsDigit,
  },
  { pattern: /\d+(?:\.\d+)?/g, placeholder: '<num>', mayOccur: holdsDigit },
];

/**
 * A message with the parts that differ between repeats of one event replaced by placeholders:
 * quoted values, ISO timestamps, UUIDs, e-mail addresses, IPv4 and IPv6 addresses, durations
 * such as `250ms`, and numbers, hex ids and generated names alike (`0x…`, 6 hex digits or more with
 * a digit among them, 8 hex letters or more, or 8 word characters or more with a digit and a
 * letter, such as a nanoid or a pod name). Reads at most the first 2048 characters.
 */
export function normalizeMessage(message: string): string {
  let text = message.slice(0, MAX_MESSAGE_CHARS);
  for (const part of VOLATILE_PARTS) if (part.mayOccur(text)) text = text.replace(part.pattern, part.placeholder);
  return text;
}

const FRAME = /\n[ \t]+at [^\n]*/;
const ERROR_NAME = /^([A-Z_$][\w$]*(?: \[[\w$.-]{1,64}\])?)(?::|$)/;

/** The stack's text before its first frame, and the first frame trimmed and without its column. */
function splitStack(stack: string): { head: string; frame: string } | undefined {
  const text = stack.slice(0, MAX_STACK_CHARS);
  const match = FRAME.exec(text);
  if (match === null) return undefined;
  const frame = match[0]
    .trim()
    .slice(0, MAX_FRAME_CHARS)
    .replace(/:(\d+):\d+(\)?)$/, ':$1$2');
  return { head: text.slice(0, match.index), frame };
}

/** The name of the error a stack's head states, such as `TypeError` or `Error [ERR_STREAM_DESTROYED]`. */
function errorNameOf(head: string): string {
  for (const line of head.slice(0, MAX_MESSAGE_CHARS).split('\n')) {
    const name = ERROR_NAME.exec(line.trim());
    if (name !== null) return name[1] ?? '';
  }
  return '';
}

/**
 * The default fingerprint of an entry: its level, its message with the volatile parts replaced
 * (see `normalizeMessage`), and for an error (an entry with a stack, or whose message holds one,
 * as a crash entry's does) the error's name and the first frame of the stack without its column.
 * Linear in the length of the entry's first few KiB, whatever it holds; never throws.
 */
export function defaultFingerprint(entry: FingerprintSource): string {
  const level = entry.level.slice(0, MAX_LEVEL_CHARS);
  if (entry.stack !== undefined) {
    const stack = splitStack(entry.stack);
    const head = stack?.head ?? entry.stack;
    return [level, normalizeMessage(entry.message), errorNameOf(head), stack?.frame ?? ''].join('\u0000');
  }
  const inMessage = splitStack(entry.message);
  if (inMessage === undefined) return `${level}\u0000${normalizeMessage(entry.message)}`;
  return [level, normalizeMessage(inMessage.head), errorNameOf(inMessage.head), inMessage.frame].join('\u0000');
}

/** A short stable name of a fingerprint for headers and links: the first 12 hex digits of its SHA-1. */
export function fingerprintId(key: string): string {
  return createHash('sha1').update(key).digest('hex').slice(0, 12);
}

const NO_META: Readonly<Record<string, unknown>> = Object.freeze({});

function parseMeta(metaJson: string | undefined): Readonly<Record<string, unknown>> {
  if (metaJson === undefined) return NO_META;
  try {
    const meta: unknown = JSON.parse(metaJson);
    return typeof meta === 'object' && meta !== null && !Array.isArray(meta)
      ? Object.freeze(meta as Record<string, unknown>)
      : NO_META;
  } catch {
    return NO_META;
  }
}

/** The view of an entry a `fingerprint` function is given; its `meta` is parsed on first read only. */
export function toFingerprintInput(entry: CapturedEntry): FingerprintInput {
  let meta: Readonly<Record<string, unknown>> | undefined;
  const { metaJson } = entry;
  return Object.freeze({
    level: entry.level,
    message: entry.message,
    timestamp: entry.timestamp,
    stack: entry.stack,
    crash: entry.crash,
    get meta() {
      return (meta ??= parseMeta(metaJson));
    },
  });
}

function report(onError: (error: Error) => void, error: Error): void {
  try {
    onError(error);
  } catch {
    // A failing listener must not stop the mail.
  }
}

/**
 * The fingerprint function rendering uses: `custom` when given, the default otherwise. An entry
 * for which `custom` throws or returns anything but a non-empty string gets the default
 * fingerprint; the first such failure of the returned function is reported through `onError`.
 * Keys from `custom` are cut to 512 characters. The returned function never throws.
 */
export function resolveFingerprint(
  custom: Fingerprint | undefined,
  onError: (error: Error) => void = () => undefined,
): (entry: CapturedEntry) => string {
  if (custom === undefined) return defaultFingerprint;
  let reported = false;
  const fail = (error: Error): void => {
    if (reported) return;
    reported = true;
    report(onError, error);
  };
  return (entry) => {
    let key: unknown;
    try {
      key = custom(toFingerprintInput(entry));
    } catch (error) {
      fail(new Error(`The \`fingerprint\` function threw: ${describeError(error)}`));
      return defaultFingerprint(entry);
    }
    if (typeof key === 'string' && key !== '') return key.slice(0, MAX_FINGERPRINT_LENGTH);
    fail(
      new TypeError(
        `Expected the \`fingerprint\` function to return a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`,
      ),
    );
    return defaultFingerprint(entry);
  };
}
