import type { Format, TransformableInfo } from 'logform';
import type { Redaction, RedactionErrorListener } from './redact';

/**
 * The transport's format, run on a copy of each entry from which `redaction` has removed the
 * secrets, so that the line and everything made from it never hold them.
 */
export function redactedFormat(redaction: Redaction, inner: Format, onError: RedactionErrorListener): Format {
  if (!redaction.enabled) return inner;
  return {
    options: inner.options,
    transform: (info: TransformableInfo, options?: unknown) =>
      inner.transform(redaction.redactEntry(info, onError), options ?? inner.options),
  };
}
