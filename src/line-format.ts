import { format, type Format } from 'logform';
import { configure } from 'safe-stable-stringify';
import { utcTimestamp, type UtcTimestampOptions } from './utc-timestamp';
import type { LogEntry } from './options';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

const stringify = configure({ bigint: true, circularValue: '[Circular]', deterministic: false });

// Keys that the line shows in their own place, or that winston's exception handler adds and that
// the message of an exception entry already holds (the stack), or that are too bulky for a line.
const SHOWN_ELSEWHERE = new Set(['level', 'message', 'timestamp', 'stack', 'splat']);
const CRASH_DETAILS = new Set(['error', 'exception', 'rejection', 'date', 'process', 'os', 'trace']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces UTF-16 halves that have no other half, which no mail encoding can carry. Applied when
 * a mail is rendered, not when an entry is logged: it is a regular expression over the text.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
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

/** `1 log entry`, `12 log entries`. */
export function entryCount(count: number): string {
  return `${count} log ${count === 1 ? 'entry' : 'entries'}`;
}

/** JSON for any value: circular references, BigInts, Buffers and Errors included; never throws. */
export function safeJson(value: unknown, indent?: number): string {
  try {
    return stringify(value, toJsonValue, indent) ?? '';
  } catch (error) {
    return `"[not serialisable: ${error instanceof Error ? error.message : 'unknown error'}]"`;
  }
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

function levelText(level: unknown): string {
  return typeof level === 'string' ? level : renderValue(level);
}

/** An entry taken apart for display: each piece is text, or undefined when absent. */
export interface EntryParts {
  timestamp: string | undefined;
  level: string;
  message: string;
  meta: Record<string, unknown> | undefined;
  stack: string | undefined;
}

/** Takes an entry apart for display. Never throws, whatever the entry holds. */
export function entryParts(info: LogEntry): EntryParts {
  const isCrash = info.exception === true || info.rejection === true;
  let meta: Record<string, unknown> | undefined;
  for (const key of Object.keys(info)) {
    if (SHOWN_ELSEWHERE.has(key) || (isCrash && CRASH_DETAILS.has(key))) continue;
    (meta ??= {})[key] = info[key];
  }
  return {
    timestamp: typeof info.timestamp === 'string' ? info.timestamp : undefined,
    level: levelText(info[LEVEL] ?? info.level),
    message: renderValue(info.message),
    meta,
    // A crash entry's message already holds its stack.
    stack: typeof info.stack === 'string' && !isCrash ? info.stack : undefined,
  };
}

/**
 * Renders one entry as `<timestamp> <LEVEL> <message> <meta as JSON>`, followed by the stack of an
 * error entry on the next lines. Never throws: whatever the entry holds is rendered as text.
 */
export function renderLine(info: LogEntry): string {
  try {
    const parts = entryParts(info);
    const timestamp = parts.timestamp !== undefined ? `${parts.timestamp} ` : '';
    const metaText = parts.meta ? ` ${safeJson(parts.meta)}` : '';
    const stack = parts.stack !== undefined ? `\n${parts.stack}` : '';
    return `${timestamp}${parts.level.toUpperCase().padEnd(5)} ${parts.message}${metaText}${stack}`;
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown error';
    return `[entry could not be rendered: ${reason}]`;
  }
}

const lineFormat = format((info) => {
  info[MESSAGE] = renderLine(info);
  return info;
});

/**
 * The transport's default format: a UTC timestamp, then the line
 * `2026-11-24T04:32:08.123Z INFO  Info index = 0 {"meta":"as JSON"}`.
 * Pass `{ format: 'YYYY-MM-DD HH:mm:ss,SSS' }` for another timestamp pattern, still in UTC.
 */
export function defaultLineFormat(timestampOptions: UtcTimestampOptions = {}): Format {
  return format.combine(utcTimestamp(timestampOptions), lineFormat());
}
