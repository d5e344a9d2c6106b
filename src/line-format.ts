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
const EXCEPTION_DETAILS = new Set(['error', 'exception', 'date', 'process', 'os', 'trace']);

function toJsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return value;
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === 'object' && value !== null) return stringify(value, toJsonValue) ?? '';
  return String(value);
}

function collectMeta(info: LogEntry): Record<string, unknown> | undefined {
  let meta: Record<string, unknown> | undefined;
  const isException = info.exception === true;
  for (const key of Object.keys(info)) {
    if (SHOWN_ELSEWHERE.has(key) || (isException && EXCEPTION_DETAILS.has(key))) continue;
    (meta ??= {})[key] = info[key];
  }
  return meta;
}

/**
 * Renders one entry as `<timestamp> <LEVEL> <message> <meta as JSON>`, followed by the stack of an
 * error entry on the next lines. Never throws: whatever the entry holds is rendered as text.
 */
export function renderLine(info: LogEntry): string {
  try {
    const level = String(info[LEVEL] ?? info.level ?? '').toUpperCase().padEnd(5);
    const timestamp = typeof info.timestamp === 'string' ? `${info.timestamp} ` : '';
    const meta = collectMeta(info);
    const metaText = meta ? ` ${stringify(meta, toJsonValue)}` : '';
    const stack =
      typeof info.stack === 'string' && info.exception !== true ? `\n${info.stack}` : '';
    return `${timestamp}${level} ${renderValue(info.message)}${metaText}${stack}`;
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
