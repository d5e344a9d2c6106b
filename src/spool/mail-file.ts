import type { MailAttachment } from '../options';

/** A mail kept on disk until it can be delivered, as it was rendered. */
export interface SpooledMail {
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  /** Inline attachments only: a spooled mail never names a file or a URL to fetch. */
  readonly attachments?: readonly MailAttachment[];
  /** The number of log entries in the mail. */
  readonly count: number;
}

/** The format tag of every spool file; files without it are not read as mails. */
export const SPOOL_FORMAT = 'winston-buffered-mail/spool@1';

/** The longest subject read back, in characters; rendered subjects are much shorter. */
export const MAX_SPOOLED_SUBJECT_LENGTH = 998;
const MAX_ATTACHMENTS = 16;
const MAX_FILENAME_LENGTH = 255;
const MAX_CONTENT_TYPE_LENGTH = 255;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\r\\n]*"))*$`);

/** Why a value read from disk is not a spooled mail. */
export class SpoolFormatError extends Error {
  override readonly name = 'SpoolFormatError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerText(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string') throw new SpoolFormatError(`\`${field}\` is not a string`);
  if (value.length > maxLength) throw new SpoolFormatError(`\`${field}\` is longer than ${maxLength} characters`);
  if (CONTROL.test(value)) throw new SpoolFormatError(`\`${field}\` contains control characters`);
  return value;
}

function readAttachment(value: unknown, index: number): MailAttachment {
  if (!isRecord(value)) throw new SpoolFormatError(`\`attachments[${index}]\` is not an object`);
  const filename = headerText(value.filename, `attachments[${index}].filename`, MAX_FILENAME_LENGTH);
  const contentType = headerText(value.contentType, `attachments[${index}].contentType`, MAX_CONTENT_TYPE_LENGTH);
  if (!CONTENT_TYPE.test(contentType)) {
    throw new SpoolFormatError(`\`attachments[${index}].contentType\` is not a media type`);
  }
  if (typeof value.content !== 'string') {
    throw new SpoolFormatError(`\`attachments[${index}].content\` is not a string`);
  }
  // Only these three keys are carried over: `path`, `href`, `raw`, `encoding` and the like would
  // make nodemailer read a local file or fetch a URL.
  return { filename, content: value.content, contentType };
}

/**
 * Builds a fresh mail from a parsed value, field by field; anything that does not fit is an
 * error, except unknown keys, which are left behind.
 */
export function validateMail(value: unknown): SpooledMail {
  if (!isRecord(value)) throw new SpoolFormatError('not an object');
  const subject = headerText(value.subject, 'subject', MAX_SPOOLED_SUBJECT_LENGTH);
  const { text, html, attachments, count } = value;
  if (typeof text !== 'string') throw new SpoolFormatError('`text` is not a string');
  if (html !== undefined && typeof html !== 'string') throw new SpoolFormatError('`html` is not a string');
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw new SpoolFormatError('`count` is not a non-negative integer');
  }
  let copied: MailAttachment[] | undefined;
  if (attachments !== undefined) {
    if (!Array.isArray(attachments)) throw new SpoolFormatError('`attachments` is not an array');
    if (attachments.length > MAX_ATTACHMENTS) {
      throw new SpoolFormatError(`\`attachments\` has more than ${MAX_ATTACHMENTS} entries`);
    }
    copied = attachments.map((attachment: unknown, index) => readAttachment(attachment, index));
  }
  return {
    subject,
    text,
    count,
    ...(html !== undefined && { html }),
    ...(copied !== undefined && { attachments: copied }),
  };
}

/** The content of a spool file for `mail`; throws a SpoolFormatError when it could not be read back. */
export function serializeMail(mail: SpooledMail, createdAtMs: number): string {
  const checked = validateMail(mail);
  return JSON.stringify({ format: SPOOL_FORMAT, createdAt: new Date(createdAtMs).toISOString(), ...checked });
}

/** Reads the content of a spool file; throws a SpoolFormatError when it is not a spooled mail. */
export function parseMail(data: Buffer): SpooledMail {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    throw new SpoolFormatError('not valid JSON');
  }
  if (!isRecord(value) || value.format !== SPOOL_FORMAT) throw new SpoolFormatError('not of a known format');
  return validateMail(value);
}
