import type { Format, TransformableInfo } from 'logform';
import { captureWithoutLine } from '../render/line';
import type { Redaction, RedactionErrorListener } from './redact';

const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

/**
 * The transport's format, run on a copy of each entry from which `redaction` has removed the
 * secrets, so that the line and everything made from it never hold them. `remakesLine`: the
 * format writes the line itself, whatever the entry held. What it makes is marked `FORMATTED`,
 * except what the default format makes for the transport alone, which carries the entry it read
 * instead of a line (see `captureWithoutLine`).
 */
export function redactedFormat(
  redaction: Redaction,
  inner: Format,
  onError: RedactionErrorListener,
  { remakesLine }: { remakesLine: boolean },
): Format {
  // The mail renders the default line from the entry: making it on the logging path too would be
  // work for nothing, and nobody but the transport sees what this format makes.
  const capture = remakesLine ? captureWithoutLine(inner) : undefined;
  return {
    options: inner.options,
    transform: (info: TransformableInfo, options?: unknown) => {
      if (capture !== undefined) {
        // The logger's line goes, as the default format replaces it; `prepareForListeners` makes ours for
        // whoever listens to `logged`. Nor is the line or the splat searched for secrets: see below.
        info[MESSAGE] = undefined;
        if (!redaction.enabled) return capture(info);
        info[SPLAT] = undefined;
        // Most entries are redacted on the way as they are read; the others first, as a whole.
        const { redactTopPrimitive } = redaction;
        const captured = redactTopPrimitive === undefined ? undefined : capture.redacting(info, redactTopPrimitive);
        return captured ?? capture(redaction.redactEntry(info, onError));
      }
      if (!redaction.enabled) return markFormatted(inner.transform(info, options ?? inner.options));
      // A line the logger's own format made (winston's default makes JSON) is made again by
      // `inner`, which reads neither it nor the splat (the arguments winston already merged into
      // the entry): searching them for secrets would cost every entry for nothing. Assigned, not
      // deleted, so that the object keeps its fast shape.
      if (remakesLine) {
        info[MESSAGE] = undefined;
        info[SPLAT] = undefined;
      }
      return markFormatted(inner.transform(redaction.redactEntry(info, onError), options ?? inner.options));
    },
  };
}

/**
 * Set on what the transport's format made: winston's exception and rejection handlers hand entries
 * to the transport without it, and those must go through it too, redaction included.
 */
export const FORMATTED = Symbol('winston-buffered-mail.formatted');

function markFormatted(info: TransformableInfo | boolean): TransformableInfo | boolean {
  if (typeof info === 'object') info[FORMATTED] = true;
  return info;
}
