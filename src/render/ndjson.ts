import type { CapturedEntry } from '../entry';
import type { LogEntry } from '../options';
import { DEFAULT_MAX_LINE_BYTES } from './limits';
import { captureEntry, wellFormed } from './line';
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
export function renderJsonStub(parts: CapturedEntry, maxMessageBytes: number, originalBytes?: number): string {
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
 * One JSON line of the NDJSON attachment: every field of the entry, the meta included, in the
 * order time, level, message, meta, stack.
 */
export function renderJsonLine(entry: CapturedEntry, maxLineBytes: number): string {
  const limit = jsonLineLimit(maxLineBytes);
  // Each character is at least a byte: a longer entry cannot fit, and is not serialised at all.
  if (entry.message.length + (entry.metaJson?.length ?? 0) + (entry.stack?.length ?? 0) > 4 * limit) {
    return renderJsonStub(entry, maxLineBytes);
  }
  const { timestamp, level, message, stack } = entry;
  const head = JSON.stringify({ timestamp, level, message });
  // The meta is already one JSON object: its fields join the line as they are.
  const metaJson = entry.metaJson;
  let metaFields = '';
  if (metaJson?.startsWith('{') === true) {
    if (metaJson.length > 2) metaFields = `,${metaJson.slice(1, -1)}`;
  } else if (metaJson !== undefined) {
    metaFields = `,"meta":${metaJson}`;
  }
  const stackField = stack === undefined ? '' : `,"stack":${JSON.stringify(stack)}`;
  const json = `${head.slice(0, -1)}${metaFields}${stackField}}`;
  const bytes = Buffer.byteLength(json);
  if (bytes <= limit) return wellFormed(json);
  return renderJsonStub(entry, maxLineBytes, bytes);
}

/** One JSON line of the NDJSON attachment for `entry`. Never throws, whatever the entry holds. */
export function entryJson(entry: LogEntry, maxLineBytes = DEFAULT_MAX_LINE_BYTES): string {
  return renderJsonLine(captureEntry(entry), maxLineBytes);
}
