/** The default `maxLineBytes`: a longer line is cut. */
export const DEFAULT_MAX_LINE_BYTES = 8192;
/** The default `maxMailBytes`: the largest mail as sent. */
export const DEFAULT_MAX_MAIL_BYTES = 4 * 1024 * 1024;
