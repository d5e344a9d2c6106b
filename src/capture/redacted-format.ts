import type { Format, TransformableInfo } from 'logform';
import type { Redaction, RedactionErrorListener } from './redact';

const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

/**
 * The transport's format, run on a copy of each entry from which `redaction` has removed the
 * secrets, so that the line and everything made from it never hold them. `remakesLine`: the
 * format writes the line itself, whatever the entry held.
 */
export function redactedFormat(
  redaction: Redaction,
  inner: Format,
  onError: RedactionErrorListener,
  { remakesLine }: { remakesLine: boolean },
): Format {
  if (!redaction.enabled) return inner;
  return {
    options: inner.options,
    transform: (info: TransformableInfo, options?: unknown) => {
      // A line the logger's own format made (winston's default makes JSON) is made again by
      // `inner`, which reads neither it nor the splat (the arguments winston already merged into
      // the entry): searching them for secrets would cost every entry for nothing. Assigned, not
      // deleted, so that the object keeps its fast shape.
      if (remakesLine) {
        info[MESSAGE] = undefined;
        info[SPLAT] = undefined;
      }
      return inner.transform(redaction.redactEntry(info, onError), options ?? inner.options);
    },
  };
}
