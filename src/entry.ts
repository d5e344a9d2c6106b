/**
 * An accepted log entry as the transport keeps it until it is mailed: text only, already redacted,
 * read once from the info object on the logging path so that nothing the caller logged is kept.
 */
export interface CapturedEntry {
  /** The level as the logger named it, uncoloured; '' when it could not be read. */
  readonly level: string;
  /** The timestamp as the format wrote it (UTC ISO 8601 by default); undefined when the entry had none. */
  readonly timestamp: string | undefined;
  /** The message as text; for an entry that could not be read, a line naming the error. */
  readonly message: string;
  /**
   * The entry's other fields as one JSON object, redacted; undefined when it had none. When they
   * cannot be serialised, a JSON string naming the error: `"[not serialisable: …]"`.
   */
  readonly metaJson: string | undefined;
  /** The stack of an error entry; undefined otherwise. */
  readonly stack: string | undefined;
  /**
   * The line a custom `format` made (`info[Symbol.for('message')]`); undefined when the
   * transport's default line format made it, which renders the same line again from the parts.
   */
  readonly line: string | undefined;
  /** Whether winston's exception or rejection handling logged it (`handleExceptions`, `handleRejections`). */
  readonly crash: boolean;
}
