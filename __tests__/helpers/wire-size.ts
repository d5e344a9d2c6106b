import MailComposer from 'nodemailer/lib/mail-composer';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream';
import type { RenderedMail } from '../../src';

/** The addresses the size tests send from and to. */
export const TEST_ADDRESSES = { from: 'Logs <logs@example.com>', to: ['ops@example.com', 'oncall@example.com'] };

/**
 * The bytes nodemailer sends for `message` in SMTP's DATA: the message as MailComposer builds it,
 * with LF turned into CRLF and leading dots doubled, as the SMTP transport's DataStream does, but
 * without the terminating `.` line, which is not part of the message.
 */
export async function wireBytes(message: Buffer): Promise<number> {
  const stream = new DataStream();
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(message);
  await ended;
  const last = message[message.length - 1];
  return bytes - (last === 0x0a ? '.\r\n' : last === 0x0d ? '\n.\r\n' : '\r\n.\r\n').length;
}

/** The message nodemailer builds for a rendered mail. */
export async function composeMail(mail: RenderedMail): Promise<Buffer> {
  return new MailComposer({
    ...TEST_ADDRESSES,
    subject: mail.subject,
    text: mail.text,
    ...(mail.html !== undefined && { html: mail.html }),
    ...(mail.attachments !== undefined && { attachments: mail.attachments }),
  })
    .compile()
    .build();
}

/** The bytes a rendered mail takes on the wire when nodemailer sends it. */
export async function mailWireBytes(mail: RenderedMail): Promise<number> {
  return wireBytes(await composeMail(mail));
}

/** The bytes the body of a mail holding only `text` takes on the wire, its headers set aside. */
export async function textBodyWireBytes(text: string, contentType = 'text/plain'): Promise<number> {
  const node = new MailComposer({
    ...TEST_ADDRESSES,
    subject: 's',
    text: contentType === 'text/plain' ? text : { content: text, contentType },
  }).compile();
  const message = await node.build();
  const headerEnd = message.indexOf('\r\n\r\n') + 4;
  return (await wireBytes(message)) - (await wireBytes(message.subarray(0, headerEnd)));
}

/**
 * The bytes an attachment of `bytes` bytes takes on the wire, from the first byte of its encoded
 * content to the line break before the next boundary, as nodemailer sends a binary attachment.
 */
export async function attachmentBodyWireBytes(bytes: number): Promise<number> {
  const message = await new MailComposer({
    ...TEST_ADDRESSES,
    subject: 's',
    text: 't',
    attachments: [{ filename: 'a.bin', content: Buffer.alloc(bytes, 0x78), contentType: 'application/octet-stream' }],
  })
    .compile()
    .build();
  const raw = message.toString('latin1');
  const start = raw.indexOf('\r\n\r\n', raw.indexOf('filename=a.bin')) + 4;
  const end = raw.indexOf('\r\n--', start) + 2;
  return wireBytes(message.subarray(start, end));
}
