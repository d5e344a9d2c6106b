import { Readable } from 'node:stream';
import type { MailMessage, PartEncodings, TransferEncoding } from '../options';

// Below this, a part is encoded quickly enough in one go.
const STREAMED_FROM_CHARS = 64 * 1024;
const CHUNK_CHARS = 16 * 1024;

/** The text in slices that never split a surrogate pair, as a stream. */
function sliced(text: string): Readable {
  function* slices(): Generator<string> {
    let start = 0;
    while (start < text.length) {
      let end = Math.min(text.length, start + CHUNK_CHARS);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      yield text.slice(start, end);
      start = end;
    }
  }
  return Readable.from(slices(), { objectMode: false });
}

function part(content: string, encoding: TransferEncoding | undefined): string | object {
  if (encoding === undefined || encoding === '7bit' || content.length < STREAMED_FROM_CHARS) return content;
  return { content: sliced(content), contentTransferEncoding: encoding };
}

/**
 * The message as nodemailer should take it: a large text or HTML part, whose encoding is known,
 * as a stream of slices with that encoding named, and a large attachment as a stream. nodemailer
 * then neither scans a part in one go to choose its encoding nor encodes it in one go, which
 * would hold the event loop for tens of milliseconds for a mail of a few megabytes. Built anew
 * for each try: a stream is read once.
 */
export function streamedContent(message: MailMessage, encodings: PartEncodings | undefined): object {
  return {
    ...message,
    text: part(message.text, encodings?.text),
    ...(message.html !== undefined && { html: part(message.html, encodings?.html) }),
    ...(message.attachments !== undefined && {
      attachments: message.attachments.map((attachment) =>
        attachment.content.length < STREAMED_FROM_CHARS
          ? attachment
          : { ...attachment, content: sliced(attachment.content) },
      ),
    }),
  };
}
