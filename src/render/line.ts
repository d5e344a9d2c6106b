import { format, type Format, type TransformableInfo } from 'logform';
import { configure } from 'safe-stable-stringify';
import { utcTimestamp, type UtcTimestampOptions } from '../utc-timestamp';
import type { TopPrimitiveRedactor } from '../capture/redact';
import type { CapturedEntry } from '../entry';
import type { LogEntry } from '../options';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

const stringify = configure({ bigint: true, circularValue: '[Circular]', deterministic: false });

// Keys that the line shows in their own place, or that winston's exception handler adds and that
// the message of an exception entry already holds (the stack), or that are too bulky for a line.
const SHOWN_ELSEWHERE = new Set(['level', 'message', 'timestamp', 'stack', 'splat']);
const CRASH_DETAILS = new Set(['error', 'exception', 'rejection', 'date', 'process', 'os', 'trace']);
const MAX_ERROR_LENGTH = 300;

// ES2024 methods, in every Node.js this package supports (20 and later).
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * Replaces UTF-16 halves that have no other half, which no mail encoding can carry, by U+FFFD.
 * Applied when a mail is rendered, to lines already cut to `maxLineBytes`, not on the logging path.
 */
export function wellFormed(text: string): string {
  const checked = text as unknown as WellFormedString;
  return checked.isWellFormed() ? text : checked.toWellFormed();
}

const counts = new Intl.NumberFormat('en-US');

/** `5,000`: a count with thousands separators, the same on every machine. */
export function formatCount(count: number): string {
  return counts.format(count);
}

/** `1 log entry`, `12 log entries`. */
export function entryCount(count: number): string {
  return `${count} log ${count === 1 ? 'entry' : 'entries'}`;
}

/**
 * Names an error as `TypeError: message`, cut to 300 characters. Never throws, even for a thrown
 * revoked Proxy or an error whose `name` or `message` getter throws.
 */
export function describeError(error: unknown): string {
  let text: string;
  try {
    text = error instanceof Error ? `${String(error.name)}: ${String(error.message)}` : String(error);
  } catch {
    text = 'unknown error';
  }
  const oneLine = text.slice(0, MAX_ERROR_LENGTH).replace(/\s+/g, ' ');
  return wellFormed(text.length > MAX_ERROR_LENGTH ? `${oneLine.slice(0, -1)}…` : oneLine);
}

/** The line that stands for an entry that could not be read: `[entry could not be rendered: TypeError: …]`. */
export function unreadableEntryLine(error: unknown): string {
  return `[entry could not be rendered: ${describeError(error)}]`;
}

// `this` is the object holding `key`: it still has the raw value, before toJSON() ran.
function toJsonValue(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown> | undefined)?.[key];
  if (Buffer.isBuffer(raw)) return `[Buffer: ${raw.length} bytes]`;
  if (raw instanceof Error) return raw.stack ?? `${raw.name}: ${raw.message}`;
  if (typeof raw === 'symbol') return raw.toString();
  if (typeof raw === 'function') return `[Function: ${raw.name || 'anonymous'}]`;
  return value;
}

/** JSON for any value, or the error that stopped it; circular references, BigInts, Buffers and Errors included. */
export function tryJson(value: unknown, indent?: number): string | { error: unknown } {
  try {
    // The built-in makes one flat string, which costs the garbage collector little while the
    // entry waits for its mail; safe-stable-stringify builds it from many pieces, but handles what
    // the built-in throws on (cycles, BigInts).
    return JSON.stringify(value, toJsonValue, indent) ?? '';
  } catch {
    try {
      return stringify(value, toJsonValue, indent) ?? '';
    } catch (error) {
      return { error };
    }
  }
}

/**
 * JSON for any value: circular references, BigInts, Buffers and Errors included. Never throws: a
 * value that cannot be serialised is replaced by a string naming the error.
 */
export function safeJson(value: unknown, indent?: number): string {
  const json = tryJson(value, indent);
  return typeof json === 'string' ? json : JSON.stringify(`[not serialisable: ${describeError(json.error)}]`);
}

function renderValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'undefined':
      return '';
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function: ${value.name || 'anonymous'}]`;
    default:
      if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
      return value === null ? 'null' : safeJson(value);
  }
}

/** The level of an entry as the logger named it, before any colouring; '' when it has none or cannot be read. */
export function readLevel(info: LogEntry | undefined): string {
  try {
    const level = info?.[LEVEL] ?? info?.level;
    return typeof level === 'string' ? level : '';
  } catch {
    return '';
  }
}

/** Reads an entry once into the form the transport keeps; throws what reading the entry throws. */
export function readEntry(info: LogEntry): CapturedEntry {
  const crash = info.exception === true || info.rejection === true;
  let meta: Record<string, unknown> | undefined;
  let flat = true;
  for (const key of Object.keys(info)) {
    if (SHOWN_ELSEWHERE.has(key) || (crash && CRASH_DETAILS.has(key))) continue;
    const value = info[key];
    meta = addMeta(meta, key, value);
    flat &&= isFlat(value);
  }
  return makeEntry(info, meta, flat, crash);
}

function isFlat(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function addMeta(meta: Record<string, unknown> | undefined, key: string, value: unknown): Record<string, unknown> {
  // An object literal, not one without a prototype: V8 keeps that one as a dictionary, which
  // JSON.stringify reads several times slower. A key named __proto__ is defined, kept as data.
  const fields = meta ?? {};
  if (key === '__proto__') {
    Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    fields[key] = value;
  }
  return fields;
}

function makeEntry(
  info: LogEntry,
  meta: Record<string, unknown> | undefined,
  flat: boolean,
  crash: boolean,
): CapturedEntry {
  const timestamp = info.timestamp;
  const level = info[LEVEL] ?? info.level;
  const stack = info.stack;
  return {
    level: typeof level === 'string' ? level : renderValue(level),
    timestamp: typeof timestamp === 'string' ? timestamp : undefined,
    message: renderValue(info.message),
    // Plain values need none of what the replacer handles, and JSON is much faster without one.
    metaJson: meta === undefined ? undefined : flat ? JSON.stringify(meta) : safeJson(meta),
    // A crash entry's message already holds its stack.
    stack: typeof stack === 'string' && !crash ? stack : undefined,
    line: undefined,
    crash,
  };
}

/**
 * `redaction.redactEntry(info)`, then `stamp`, then `readEntry(info)`, in one pass over the keys
 * of an entry whose values hold no others, as most do. Undefined, with `info` untouched, for any
 * other entry, or one that cannot be read: the separate steps handle those.
 */
function readRedacting(info: LogEntry, redact: TopPrimitiveRedactor, stamp: Format): CapturedEntry | undefined {
  let crash: boolean;
  let meta: Record<string, unknown> | undefined;
  let flat = true;
  let changes: unknown[] | undefined;
  try {
    crash = info.exception === true || info.rejection === true;
    const keys = Object.keys(info);
    for (let position = 0; position < keys.length; position++) {
      const key = keys[position] as string;
      let value = info[key];
      if (key !== 'level') {
        if (typeof value === 'object' && value !== null) return undefined;
        const next = redact(key, value, position);
        if (next !== value && (next === next || value === value)) {
          // Read before the loop, they must not change in it: a `keys` rule may name them.
          if (key === 'exception' || key === 'rejection') return undefined;
          (changes ??= []).push(key, next);
          value = next;
        }
      }
      if (SHOWN_ELSEWHERE.has(key) || (crash && CRASH_DETAILS.has(key))) continue;
      meta = addMeta(meta, key, value);
      flat &&= isFlat(value);
    }
  } catch {
    return undefined;
  }
  if (changes !== undefined) {
    for (let index = 0; index < changes.length; index += 2) info[changes[index] as string] = changes[index + 1];
  }
  stamp.transform(info, stamp.options);
  return makeEntry(info, meta, flat, crash);
}

/**
 * The entry that stands for one that could not be read: its level when that can be read, and a
 * line naming the error.
 */
export function unreadableEntry(info: LogEntry | undefined, error: unknown): CapturedEntry {
  const line = unreadableEntryLine(error);
  return {
    level: readLevel(info),
    timestamp: undefined,
    message: line,
    metaJson: undefined,
    stack: undefined,
    line,
    crash: false,
  };
}

// The default line format leaves what it read on the info object, so that the entry is read once.
const CAPTURED = Symbol('winston-buffered-mail.captured');
const CAPTURED_LINE = Symbol('winston-buffered-mail.captured-line');
// Left by the transport's own use of the default format, which makes no line: the mail renders it
// from the entry, so that making it on the logging path would be work for nothing.
const CAPTURED_WITHOUT_LINE = Symbol('winston-buffered-mail.captured-without-line');

/**
 * The form in which the transport keeps an entry, read from the info object its `format` made.
 * Never throws: an entry that cannot be read is kept as a line naming the error.
 */
export function captureEntry(info: LogEntry): CapturedEntry {
  try {
    const read = info[CAPTURED] as CapturedEntry | undefined;
    const rendered = info[MESSAGE];
    // A format after the default one may have changed the line: then the line is kept as made.
    if (read !== undefined && info[CAPTURED_LINE] === rendered) return read;
    const entry = read ?? readEntry(info);
    return typeof rendered === 'string' ? { ...entry, line: rendered } : entry;
  } catch (error) {
    return unreadableEntry(info, error);
  }
}

/** The entry the transport's own default format read from `info`, or undefined when another format made it. */
export function takeCapturedEntry(info: LogEntry): CapturedEntry | undefined {
  return info[CAPTURED_WITHOUT_LINE] as CapturedEntry | undefined;
}

/**
 * Readies an info object the transport has accepted for those who listen to `logged`: gives it the
 * line the transport's own default format left out, and takes the entry off it, so that whoever
 * logs the same object again has it read again. Leaves any other info object as it is.
 */
export function prepareForListeners(info: LogEntry): LogEntry {
  const entry = info[CAPTURED_WITHOUT_LINE] as CapturedEntry | undefined;
  if (entry === undefined) return info;
  if (info[MESSAGE] === undefined) info[MESSAGE] = formatLine(entry);
  info[CAPTURED_WITHOUT_LINE] = undefined;
  return info;
}

/**
 * The default line of an entry: `<timestamp> <LEVEL> <message> <meta as JSON>`, then the stack;
 * or the line a custom format made.
 */
export function formatLine(entry: CapturedEntry): string {
  if (entry.line !== undefined) return entry.line;
  const timestamp = entry.timestamp !== undefined ? `${entry.timestamp} ` : '';
  const metaText = entry.metaJson !== undefined ? ` ${entry.metaJson}` : '';
  const stack = entry.stack !== undefined ? `\n${entry.stack}` : '';
  return `${timestamp}${entry.level.toUpperCase().padEnd(5)} ${entry.message}${metaText}${stack}`;
}

/**
 * Renders one entry as `<timestamp> <LEVEL> <message> <meta as JSON>`, followed by the stack of an
 * error entry on the next lines. Never throws: an entry that cannot be read renders as
 * `[entry could not be rendered: <the error>]`.
 */
export function renderLine(info: LogEntry): string {
  try {
    return formatLine(readEntry(info));
  } catch (error) {
    return unreadableEntryLine(error);
  }
}

const lineFormat = format((info) => {
  let entry: CapturedEntry;
  try {
    entry = readEntry(info);
  } catch (error) {
    entry = unreadableEntry(info, error);
  }
  const line = formatLine(entry);
  info[MESSAGE] = line;
  info[CAPTURED] = entry;
  info[CAPTURED_LINE] = line;
  return info;
});

/**
 * An entry that cannot be stamped or rendered is replaced by a fresh one that says why, at its
 * level when that can be read and at `error` otherwise, so that somebody notices.
 */
function replaceUnreadable(info: TransformableInfo, error: unknown, stamp: Format): TransformableInfo {
  const level = readLevel(info) || 'error';
  const replacement: TransformableInfo = { level, message: unreadableEntryLine(error), [LEVEL]: level };
  try {
    stamp.transform(replacement, stamp.options);
  } catch {
    // A timestamp function that throws leaves the line without a time.
  }
  replacement[MESSAGE] = renderLine(replacement);
  return replacement;
}

/** What the default format does for the transport alone: the same work, without making the line. */
export interface CaptureWithoutLine {
  (info: TransformableInfo): TransformableInfo;
  /**
   * The same, redacted with `redact` on the way. Undefined, with `info` untouched, when `redact`
   * cannot do it alone (a value holds others): the caller redacts the entry, then calls the first.
   */
  redacting(info: TransformableInfo, redact: TopPrimitiveRedactor): TransformableInfo | undefined;
}

/** For each format `defaultLineFormat()` made: the same work without the line. */
const withoutLine = new WeakMap<Format, CaptureWithoutLine>();

/**
 * The transport's default format: a UTC timestamp, then the line
 * `2026-11-24T04:32:08.123Z INFO  Info index = 0 {"meta":"as JSON"}`.
 * Pass `{ format: 'YYYY-MM-DD HH:mm:ss,SSS' }` for another timestamp pattern, still in UTC.
 * Never throws on the logging path, whatever the entry holds.
 */
export function defaultLineFormat(timestampOptions: UtcTimestampOptions = {}): Format {
  const stamp = utcTimestamp(timestampOptions);
  const combined = format.combine(stamp, lineFormat());
  const made = format((info) => {
    try {
      return combined.transform(info, combined.options);
    } catch (error) {
      return replaceUnreadable(info, error, stamp);
    }
  })();
  // An alias adds a key after the others are read: the steps one at a time see it, one pass would not.
  if (timestampOptions.alias !== undefined) return made;
  const keep = (info: TransformableInfo, entry: CapturedEntry): TransformableInfo => {
    info[CAPTURED_WITHOUT_LINE] = entry;
    return info;
  };
  const replace = (info: TransformableInfo, error: unknown): TransformableInfo => {
    const replacement = replaceUnreadable(info, error, stamp);
    return keep(replacement, captureEntry(replacement));
  };
  const capture = (info: TransformableInfo): TransformableInfo => {
    try {
      stamp.transform(info, stamp.options);
      let entry: CapturedEntry;
      try {
        entry = readEntry(info);
      } catch (error) {
        entry = unreadableEntry(info, error);
      }
      return keep(info, entry);
    } catch (error) {
      return replace(info, error);
    }
  };
  capture.redacting = (info: TransformableInfo, redact: TopPrimitiveRedactor): TransformableInfo | undefined => {
    try {
      const entry = readRedacting(info, redact, stamp);
      return entry === undefined ? undefined : keep(info, entry);
    } catch (error) {
      return replace(info, error);
    }
  };
  withoutLine.set(made, capture);
  return made;
}

/**
 * For a format `defaultLineFormat()` made without an `alias`, what it does without making the
 * line: the entry it read is left for `takeCapturedEntry`, and `prepareForListeners` makes the
 * line when it is asked for. Undefined for any other format.
 */
export function captureWithoutLine(made: Format): CaptureWithoutLine | undefined {
  return withoutLine.get(made);
}
