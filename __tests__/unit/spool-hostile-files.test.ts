import { execFileSync } from 'node:child_process';
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SPOOL_FORMAT } from '../../src/spool/mail-file';
import { createSpoolFolder, mailName, type SpoolFolder } from '../helpers/spool-folder';

const asRoot = process.getuid?.() === 0 ? test : test.skip;

let folder: SpoolFolder;
// Files of ours outside the spool folder, that a planted link points to.
let elsewhere: string;
beforeEach(() => {
  folder = createSpoolFolder();
  elsewhere = mkdtempSync(join(tmpdir(), 'wbm-elsewhere-'));
});
afterEach(() => {
  folder.remove();
  rmSync(elsewhere, { recursive: true, force: true });
});

const FIRST = mailName(1);
const REAL = mailName(2);

/** A hostile file first, a real mail after it: next() must skip the one and return the other. */
async function expectSkipped(reason: string): Promise<void> {
  folder.plant(REAL, { subject: 'real', text: 'ok', count: 1 });
  const mail = await folder.open().next();
  expect(mail).toMatchObject({ subject: 'real' });
  expect(folder.messages()).toEqual([
    `Skipped "${FIRST}" in \`spoolDir\` ${folder.dir}: ${reason}; renamed "${FIRST}.rejected"`,
  ]);
  expect(folder.codes()).toEqual(['ESPOOL']);
}

describe('files that are not regular files of ours are never read', () => {
  test('a FIFO: the read settles, the FIFO is set aside as it is', async () => {
    execFileSync('mkfifo', ['-m', '600', join(folder.dir, FIRST)]);
    await expectSkipped('a FIFO, not a regular file');
    expect(lstatSync(join(folder.dir, `${FIRST}.rejected`)).isFIFO()).toBe(true);
  });

  test('a symbolic link to /dev/zero', async () => {
    symlinkSync('/dev/zero', join(folder.dir, FIRST));
    await expectSkipped('a symbolic link, not a regular file');
    expect(lstatSync(join(folder.dir, `${FIRST}.rejected`)).isSymbolicLink()).toBe(true);
  });

  test('a symbolic link to a valid mail elsewhere, which stays untouched', async () => {
    const target = join(elsewhere, 'mail.json');
    const content = JSON.stringify({ format: SPOOL_FORMAT, subject: 'linked', text: 't', count: 1 });
    writeFileSync(target, content);
    symlinkSync(target, join(folder.dir, FIRST));
    await expectSkipped('a symbolic link, not a regular file');
    expect(readFileSync(target, 'utf8')).toBe(content);
  });

  test('a folder', async () => {
    mkdirSync(join(folder.dir, FIRST));
    await expectSkipped('a folder, not a regular file');
  });

  test('a file larger than `maxFileBytes`', async () => {
    folder.plant(FIRST, { subject: 'big', text: 'x'.repeat(5000), count: 1 });
    folder.plant(REAL, { subject: 'real', text: 'ok', count: 1 });
    const size = lstatSync(join(folder.dir, FIRST)).size;
    await expect(folder.open({ maxFileBytes: 4096 }).next()).resolves.toMatchObject({ subject: 'real' });
    expect(folder.messages()).toEqual([
      `Skipped "${FIRST}" in \`spoolDir\` ${folder.dir}: ${size} bytes, more than the 4096 a spooled mail may have; renamed "${FIRST}.rejected"`,
    ]);
  });

  test('a hard link to a file of ours elsewhere', async () => {
    const target = join(elsewhere, 'mail.json');
    writeFileSync(target, JSON.stringify({ format: SPOOL_FORMAT, subject: 'linked', text: 't', count: 1 }));
    linkSync(target, join(folder.dir, FIRST));
    await expectSkipped('it has 2 hard links, a spooled mail has one');
  });

  asRoot('a file of another user', async () => {
    chownSync(folder.plant(FIRST, { subject: 'foreign', text: 't', count: 1 }), 65534, 65534);
    await expectSkipped('owned by uid 65534, not by this user (uid 0)');
    expect(lstatSync(join(folder.dir, `${FIRST}.rejected`)).uid).toBe(65534);
  });
});

describe('a mail read back carries inline content only', () => {
  test('attachment keys that would make nodemailer read a file or fetch a URL are left behind', async () => {
    const secret = join(elsewhere, 'secret.txt');
    writeFileSync(secret, 'SECRET-FILE-CONTENT');
    const inline = {
      filename: 'logs.ndjson',
      content: 'INLINE-CONTENT',
      contentType: 'application/x-ndjson; charset=utf-8',
    };
    folder.plant(FIRST, {
      subject: 's',
      text: 't',
      count: 1,
      raw: 'RAW-MESSAGE',
      attachments: [
        { ...inline, path: secret },
        { ...inline, href: 'http://127.0.0.1:1/fetched' },
        { ...inline, raw: 'RAW-ATTACHMENT' },
        {
          ...inline,
          encoding: 'base64',
          contentTransferEncoding: '7bit',
          headers: { 'X-Planted': 'yes' },
          cid: 'planted',
          contentDisposition: 'inline',
        },
      ],
    });

    const mail = await folder.open().next();
    expect(mail).toStrictEqual({
      subject: 's',
      text: 't',
      count: 1,
      attachments: [inline, inline, inline, inline],
      file: mail!.file,
    });

    // What nodemailer makes of it: no file read, no URL fetched (port 1 would refuse), no raw part.
    const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const { subject, text, attachments } = mail!;
    const info = await transporter.sendMail({
      from: 'a@example.com',
      to: 'b@example.com',
      subject,
      text,
      attachments: [...(attachments ?? [])],
    });
    const sent = (info.message as Buffer).toString('utf8');
    expect(sent).not.toContain(Buffer.from('SECRET-FILE-CONTENT').toString('base64'));
    expect(sent).not.toMatch(/RAW-|X-Planted|planted/);
    expect(sent.split(Buffer.from('INLINE-CONTENT').toString('base64')).length - 1).toBe(4);
  });

  test.each([
    ['`html` given as a file', { html: { path: '/etc/hostname' } }, '`html` is not a string'],
    ['`text` given as a file', { text: { path: '/etc/hostname' } }, '`text` is not a string'],
    ['`text` given as a URL', { text: { href: 'http://127.0.0.1:1/' } }, '`text` is not a string'],
    [
      'an attachment with a path and no content',
      { attachments: [{ filename: 'a', contentType: 'text/plain', path: '/etc/hostname' }] },
      '`attachments[0].content` is not a string',
    ],
    ['a subject that ends the header', { subject: 'a\r\nBcc: x@example.com' }, '`subject` contains control characters'],
    ['a count that is not a count', { count: -1 }, '`count` is not a non-negative integer'],
  ])('%s: the mail is set aside as damaged', async (_, fields, reason) => {
    folder.plant(FIRST, { subject: 's', text: 't', count: 1, ...fields });
    folder.plant(REAL, { subject: 'real', text: 'ok', count: 1 });
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'real' });
    expect(folder.messages()).toEqual([
      `Skipped "${FIRST}" in \`spoolDir\` ${folder.dir}: damaged or of an unknown format (${reason}); renamed "${FIRST}.damaged"`,
    ]);
    expect(readdirSync(folder.dir)).toContain(`${FIRST}.damaged`);
  });
});
