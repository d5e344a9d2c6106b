import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../src/spool';

function spoolIn() {
  const dir = mkdtempSync(join(tmpdir(), 'wbm-spool-'));
  const warnings: string[] = [];
  return { dir, warnings, spool: new Spool(dir, (error) => warnings.push(error.message)) };
}

describe('Spool', () => {
  test('a written mail is read back whole, oldest first, and claimed so that nobody else sends it', () => {
    const { dir, spool, warnings } = spoolIn();
    spool.write({ subject: 'first', text: 'a\nb\n', count: 2 });
    spool.write({ subject: 'second', text: 'c\n', count: 1 });
    expect(readdirSync(dir).every((name) => name.endsWith('.mail.json'))).toBe(true);

    const claimed = spool.claimAll();
    expect(claimed.map(({ subject, text, count }) => ({ subject, text, count }))).toEqual([
      { subject: 'first', text: 'a\nb\n', count: 2 },
      { subject: 'second', text: 'c\n', count: 1 },
    ]);
    expect(readdirSync(dir).every((name) => name.endsWith(`.sending-${process.pid}`))).toBe(true);
    // A second reader in this process finds nothing left to claim.
    expect(new Spool(dir, () => undefined).claimAll()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('the HTML part and the attachment are kept too', () => {
    const { spool } = spoolIn();
    const attachments = [{ filename: 'logs.ndjson', content: '{"a":1}\n', contentType: 'application/x-ndjson' }];
    spool.write({ subject: 's', text: 't\n', html: '<p>t</p>', attachments, count: 1 });
    const [mail] = spool.claimAll();
    expect(mail).toMatchObject({ subject: 's', text: 't\n', html: '<p>t</p>', attachments, count: 1 });
  });

  test('remove() forgets a delivered mail, release() leaves an undelivered one for the next start', () => {
    const { dir, spool } = spoolIn();
    spool.write({ subject: 'delivered', text: 'x\n', count: 1 });
    spool.write({ subject: 'kept', text: 'y\n', count: 1 });
    const [delivered, kept] = spool.claimAll();
    spool.remove(delivered!);
    spool.release(kept!);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(spool.claimAll().map((mail) => mail.subject)).toEqual(['kept']);
  });

  test('files written with owner-only permissions', () => {
    const { dir, spool } = spoolIn();
    const file = spool.write({ subject: 's', text: 't', count: 1 });
    expect(file && existsSync(file)).toBe(true);
    const { statSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  test('foreign and damaged files are skipped with a warning and never crash', () => {
    const { dir, spool, warnings } = spoolIn();
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    writeFileSync(join(dir, '0001-1-000001.mail.json'), '{"format":"winston-buffered-mail/spool@1","subject":');
    writeFileSync(
      join(dir, '0002-1-000002.mail.json'),
      JSON.stringify({ format: 'something-else', subject: 's', text: 't', count: 1 }),
    );
    spool.write({ subject: 'good', text: 'ok\n', count: 1 });

    expect(spool.claimAll().map((mail) => mail.subject)).toEqual(['good']);
    expect(warnings).toEqual([
      expect.stringMatching(/^Skipped 0001-1-000001\.mail\.json in `spoolDir` .*: damaged or of an unknown format$/),
      expect.stringMatching(/^Skipped 0002-1-000002\.mail\.json in `spoolDir` .*: damaged or of an unknown format$/),
      expect.stringMatching(/^Skipped notes\.txt in `spoolDir` .*: not a spooled mail$/),
    ]);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('not ours');
    expect(readdirSync(dir).filter((name) => name.endsWith('.damaged'))).toHaveLength(2);
  });

  test('a mail claimed by a process that no longer runs is claimed again; half-written files are removed', () => {
    const { dir, spool } = spoolIn();
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default, so no such process
    const content = JSON.stringify({
      format: 'winston-buffered-mail/spool@1',
      subject: 'orphan',
      text: 'o\n',
      count: 1,
    });
    writeFileSync(join(dir, `0001-1-000001.mail.json.sending-${deadPid}`), content);
    writeFileSync(join(dir, `0002-1-000002.mail.json.tmp-${deadPid}`), content.slice(0, 10));

    expect(spool.claimAll().map((mail) => mail.subject)).toEqual(['orphan']);
    expect(readdirSync(dir)).toEqual([`0001-1-000001.mail.json.sending-${process.pid}`]);
  });

  test('an unwritable folder is a warning, not a crash', () => {
    const { dir, warnings } = spoolIn();
    const blocked = join(dir, 'file-not-folder');
    writeFileSync(blocked, '');
    const spool = new Spool(blocked, (error) => warnings.push(error.message));
    expect(spool.write({ subject: 's', text: 't', count: 1 })).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^Could not write the undelivered mail to `spoolDir` /)]);
  });
});
