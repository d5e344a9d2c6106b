import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createSpoolFolder, mailName, type SpoolFolder } from '../helpers/spool-folder';

const asRoot = process.getuid?.() === 0 ? test : test.skip;

let folder: SpoolFolder;
beforeEach(() => {
  folder = createSpoolFolder();
});
afterEach(() => folder.remove());

const claimedNames = () => readdirSync(folder.dir).filter((name) => name.includes('.mail.json.sending.'));
const waitingNames = () => readdirSync(folder.dir).filter((name) => name.endsWith('.mail.json'));

describe('writing', () => {
  test('a mail is written owner-only, in a folder created owner-only, and read back whole by the next run', async () => {
    const dir = join(folder.dir, 'nested', 'spool');
    const attachments = [
      { filename: 'logs.ndjson', content: '{"a":1}\n', contentType: 'application/x-ndjson; charset=utf-8' },
    ];
    const previousUmask = process.umask(0);
    let written: boolean;
    try {
      written = folder.open({}, dir).write({ subject: 's', text: 't\n', html: '<p>t</p>', attachments, count: 3 });
    } finally {
      process.umask(previousUmask);
    }

    expect(written).toBe(true);
    expect(statSync(join(folder.dir, 'nested')).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir);
    expect(names).toEqual([expect.stringMatching(/^\d{13}-\d{6}-[0-9a-f]{8}\.mail\.json$/)]);
    expect(statSync(join(dir, names[0]!)).mode & 0o777).toBe(0o600);

    const mail = await folder.open({}, dir).next();
    expect(mail).toEqual({
      subject: 's',
      text: 't\n',
      html: '<p>t</p>',
      attachments,
      count: 3,
      file: join(dir, readdirSync(dir)[0]!),
    });
    expect(readdirSync(dir)).toEqual([expect.stringContaining(`${names[0]!}.sending.`)]);
    expect(folder.warnings).toEqual([]);
  });

  test('the mails a spool wrote are for the next run: its own next() leaves them', async () => {
    const spool = folder.open({ relistIntervalMs: 0 });
    spool.write({ subject: 'mine', text: 'x\n', count: 1 });
    await expect(spool.next()).resolves.toBeUndefined();
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'mine' });
  });

  test('a mail that could not be read back is not written', () => {
    const spool = folder.open();
    expect(spool.write({ subject: 'two\r\nBcc: someone@example.com', text: 't', count: 1 })).toBe(false);
    expect(
      spool.write({
        subject: 's',
        text: 't',
        count: 1,
        attachments: [{ filename: 'a', content: 'b', contentType: 'no type' }],
      }),
    ).toBe(false);
    expect(readdirSync(folder.dir)).toEqual([]);
    expect(folder.messages()).toEqual([expect.stringContaining('`subject` contains control characters')]);
    expect(folder.codes()).toEqual(['ESPOOL']);
  });

  test('a mail larger than `maxFileBytes` is refused when written, since it would not be read back', () => {
    const spool = folder.open({ maxFileBytes: 1000 });
    expect(spool.write({ subject: 's', text: 'x'.repeat(2000), count: 1 })).toBe(false);
    expect(readdirSync(folder.dir)).toEqual([]);
    expect(folder.messages()).toEqual([expect.stringMatching(/more than `maxFileBytes` \(1000\)$/)]);
  });

  test('an existing folder open to other users is used, with one warning that names it and its mode', async () => {
    chmodSync(folder.dir, 0o755);
    const spool = folder.open();
    expect(spool.write({ subject: 'a', text: 'a', count: 1 })).toBe(true);
    expect(spool.write({ subject: 'b', text: 'b', count: 1 })).toBe(true);
    await spool.next();
    expect(folder.messages()).toEqual([
      `\`spoolDir\` ${folder.dir} has mode 0o755: other users can see or change spooled mails; make it owner-only (chmod 700)`,
    ]);
    expect(folder.codes()).toEqual(['ESPOOL']);
  });

  test('a folder given as a symbolic link is used, with a warning', () => {
    const real = join(folder.dir, 'real');
    const link = join(folder.dir, 'link');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, link);
    expect(folder.open({}, link).write({ subject: 's', text: 't', count: 1 })).toBe(true);
    expect(readdirSync(real)).toHaveLength(1);
    expect(folder.messages()).toEqual([expect.stringMatching(new RegExp(`^\`spoolDir\` ${link} is a symbolic link`))]);
  });

  asRoot('a folder owned by another user is refused, for writing and for reading', async () => {
    folder.plant(mailName(1), { subject: 'planted', text: 't', count: 1 });
    chownSync(folder.dir, 65534, 65534);
    const spool = folder.open();
    expect(spool.write({ subject: 's', text: 't', count: 1 })).toBe(false);
    await expect(spool.next()).resolves.toBeUndefined();
    expect(folder.messages()).toEqual([
      `Could not write an undelivered mail to \`spoolDir\` ${folder.dir}: it is owned by uid 65534, not by this user (uid 0); a folder another user controls is not used`,
      `Could not read \`spoolDir\` ${folder.dir}: it is owned by uid 65534, not by this user (uid 0); a folder another user controls is not used`,
    ]);
    expect(folder.codes()).toEqual(['ESPOOL', 'ESPOOL']);
    expect(waitingNames()).toEqual([mailName(1)]);
  });
});

describe('a folder that cannot be used', () => {
  // A path through a regular file fails with ENOTDIR for every user, root included.
  test('writing and listing are reported with the folder and the reason', async () => {
    writeFileSync(join(folder.dir, 'file'), '');
    const dir = join(folder.dir, 'file', 'spool');
    const spool = folder.open({}, dir);
    expect(spool.write({ subject: 's', text: 't', count: 1 })).toBe(false);
    await expect(spool.next()).resolves.toBeUndefined();
    expect(folder.messages()).toEqual([
      expect.stringMatching(new RegExp(`^Could not write an undelivered mail to \`spoolDir\` ${dir}: ENOTDIR`)),
      expect.stringMatching(new RegExp(`^Could not read \`spoolDir\` ${dir}: ENOTDIR`)),
    ]);
    expect(folder.codes()).toEqual(['ESPOOL', 'ESPOOL']);
  });

  test('a failing write is reported once until a write succeeds again', () => {
    const blocker = join(folder.dir, 'blocker');
    writeFileSync(blocker, '');
    const spool = folder.open({}, join(blocker, 'spool'));
    expect(spool.write({ subject: '1', text: 't', count: 1 })).toBe(false);
    expect(spool.write({ subject: '2', text: 't', count: 1 })).toBe(false);
    rmSync(blocker);
    expect(spool.write({ subject: '3', text: 't', count: 1 })).toBe(true);
    rmSync(blocker, { recursive: true });
    writeFileSync(blocker, '');
    expect(spool.write({ subject: '4', text: 't', count: 1 })).toBe(false);
    expect(folder.messages()).toEqual([expect.stringContaining('ENOTDIR'), expect.stringContaining('ENOTDIR')]);
  });

  test('a folder that does not exist yet is not a problem: nothing was spooled', async () => {
    await expect(folder.open({}, join(folder.dir, 'missing')).next()).resolves.toBeUndefined();
    expect(folder.warnings).toEqual([]);
  });
});

describe('reading', () => {
  test('next() claims and reads one file per call, oldest first', async () => {
    const text = `${'x'.repeat(1023)}\n`.repeat(1024);
    const order = Array.from({ length: 200 }, (_, index) => (index * 73) % 200);
    for (const index of order) folder.plant(mailName(1000 + index), { subject: `mail ${index}`, text, count: 1 });
    const spool = folder.open();

    const first = await spool.next();
    expect(first).toMatchObject({ subject: 'mail 0', text, count: 1 });
    expect(claimedNames()).toEqual([expect.stringContaining(mailName(1000))]);
    expect(waitingNames()).toHaveLength(199);

    // Damaged after the first call: had it been read at start, it would come out whole.
    writeFileSync(join(folder.dir, mailName(1002)), '{');
    await expect(spool.next()).resolves.toMatchObject({ subject: 'mail 1' });
    await expect(spool.next()).resolves.toMatchObject({ subject: 'mail 3' });
    expect(claimedNames()).toHaveLength(3);
    expect(waitingNames()).toHaveLength(196);
    expect(folder.messages()).toEqual([expect.stringContaining(`Skipped "${mailName(1002)}"`)]);
  });

  test('mails spooled later by another process are found once `relistIntervalMs` has passed, not before', async () => {
    let nowMs = Date.now();
    const spool = folder.open({ relistIntervalMs: 30_000, now: () => nowMs });
    await expect(spool.next()).resolves.toBeUndefined();

    folder.plant(mailName(1), { subject: 'later', text: 't', count: 1 });
    nowMs += 29_999;
    await expect(spool.next()).resolves.toBeUndefined();
    expect(waitingNames()).toEqual([mailName(1)]);
    nowMs += 1;
    await expect(spool.next()).resolves.toMatchObject({ subject: 'later' });
  });

  test('remove() forgets a delivered mail; release() leaves an undelivered one for the next run', async () => {
    folder.plant(mailName(1), { subject: 'delivered', text: 'x', count: 1 });
    folder.plant(mailName(2), { subject: 'kept', text: 'y', count: 1 });
    const spool = folder.open({ relistIntervalMs: 0 });
    const delivered = await spool.next();
    const kept = await spool.next();
    spool.remove(delivered!);
    spool.release(kept!);
    expect(readdirSync(folder.dir)).toEqual([mailName(2)]);

    await expect(spool.next()).resolves.toBeUndefined();
    await expect(folder.open().next()).resolves.toMatchObject({ subject: 'kept' });
  });

  test('remove() and release() ignore files that vanished', async () => {
    folder.plant(mailName(1), { subject: 'a', text: 'x', count: 1 });
    folder.plant(mailName(2), { subject: 'b', text: 'y', count: 1 });
    const spool = folder.open();
    const first = await spool.next();
    const second = await spool.next();
    rmSync(first!.file);
    rmSync(second!.file);
    spool.remove(first!);
    spool.release(second!);
    expect(readdirSync(folder.dir)).toEqual([]);
    expect(folder.warnings).toEqual([]);
  });

  test('calls that overlap, in one spool or in two, never claim the same mail', async () => {
    folder.plant(mailName(1), { subject: 'a', text: 'x', count: 1 });
    folder.plant(mailName(2), { subject: 'b', text: 'y', count: 1 });
    const one = folder.open();
    const other = folder.open();
    const mails = await Promise.all([one.next(), other.next(), one.next(), other.next()]);
    const subjects = mails.map((mail) => mail?.subject).filter((subject) => subject !== undefined);
    expect(subjects.sort()).toEqual(['a', 'b']);
    expect(claimedNames()).toHaveLength(2);
  });

  test('damaged files and files of another format are set aside with a warning; foreign files are left alone', async () => {
    writeFileSync(join(folder.dir, 'notes.txt'), 'not ours');
    writeFileSync(join(folder.dir, mailName(1)), '{"format":"winston-buffered-mail/spool@1","subject":');
    writeFileSync(
      join(folder.dir, mailName(2)),
      JSON.stringify({ format: 'something-else', subject: 's', text: 't', count: 1 }),
    );
    folder.plant(mailName(3), { subject: 'good', text: 'ok', count: 1 });
    const spool = folder.open({ relistIntervalMs: 0 });

    await expect(spool.next()).resolves.toMatchObject({ subject: 'good' });
    await expect(spool.next()).resolves.toBeUndefined();
    expect(folder.messages()).toEqual([
      `Skipped "notes.txt" in \`spoolDir\` ${folder.dir}: not a spooled mail; left alone`,
      `Skipped "${mailName(1)}" in \`spoolDir\` ${folder.dir}: damaged or of an unknown format (not valid JSON); renamed "${mailName(1)}.damaged"`,
      `Skipped "${mailName(2)}" in \`spoolDir\` ${folder.dir}: damaged or of an unknown format (not of a known format); renamed "${mailName(2)}.damaged"`,
    ]);
    expect(existsSync(join(folder.dir, 'notes.txt'))).toBe(true);
    expect(lstatSync(join(folder.dir, `${mailName(1)}.damaged`)).isFile()).toBe(true);
  });
});
