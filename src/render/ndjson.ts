import { DEFAULT_MAX_LINE_BYTES, type LogEntry } from '../options';
import { describeError, entryParts, tryJson, wellFormed, type EntryParts } from './line';
import { cutLine } from './size';

// A JSON line stays whole up to this size even when `maxLineBytes` is smaller: cut JSON would no
// longer parse, so a bigger entry is replaced by a stub that says what was left out.
const MIN_JSON_LINE_BYTES = 64 * 1024;
const MAX_STUB_FIELD_BYTES = 256;

/** The largest JSON line of an entry before it is replaced by a stub, in bytes. */
export function jsonLineLimit(maxLineBytes: number): number {
  return Math.max(maxLineBytes, MIN_JSON_LINE_BYTES);
}

/**
 * The stub that replaces an entry too big for a JSON line: its time, level and message cut to
 * `maxMessageBytes`, `truncated: true`, and the size of the full line when it was measured.
 */
export function renderJsonStub(parts: EntryParts, maxMessageBytes: number, originalBytes?: number): string {
  const stub = {
    timestamp: parts.timestamp === undefined ? undefined : cutLine(parts.timestamp, MAX_STUB_FIELD_BYTES),
    level: cutLine(parts.level, MAX_STUB_FIELD_BYTES),
    message: cutLine(parts.message, maxMessageBytes),
    truncated: true,
    originalBytes,
  };
  return wellFormed(JSON.stringify(stub));
}

/**
 * One JSON line of the NDJSON attachment: every field of the entry, the meta included. Meta that
 * cannot be serialised is replaced by `"meta": "[not serialisable: <the error>]"`.
 */
export function renderJsonLine(parts: EntryParts, maxLineBytes: number): string {
  const limit = jsonLineLimit(maxLineBytes);
  // Each character is at least a byte: a longer message cannot fit, and is not serialised at all.
  if (parts.message.length > limit) return renderJsonStub(parts, maxLineBytes);
  const { timestamp, level, message, stack } = parts;
  let json = tryJson({ timestamp, level, message, ...parts.meta, stack });
  if (typeof json !== 'string') {
    json = JSON.stringify({
      timestamp,
      level,
      message,
      meta: `[not serialisable: ${describeError(json.error)}]`,
      stack,
    });
  }
  const bytes = json.length > 4 * limit ? undefined : Buffer.byteLength(json);
  if (bytes !== undefined && bytes <= limit) return wellFormed(json);
  return renderJsonStub(parts, maxLineBytes, bytes);
}

/** One JSON line of the NDJSON attachment for `entry`. Never throws, whatever the entry holds. */
export function entryJson(entry: LogEntry, maxLineBytes = DEFAULT_MAX_LINE_BYTES): string {
  return renderJsonLine(entryParts(entry), maxLineBytes);
}
