import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatRecoveryNotice, recoverJournals, type RecoveredJournal } from '../../src/journal';
import { formatCompactingName, formatJournalName, formatRecoveringName } from '../../src/journal/names';
import { formatAck, formatHeader } from '../../src/journal/records';
import {
  createJournalFolder,
  DEAD_PID,
  makeEntry,
  otherRun,
  readBack,
  recordLines,
  runOnOtherHost,
  type JournalFolder,
} from '../helpers/journal-folder';
import { currentRun } from '../../src/spool/claim';

let folder: JournalFolder;
let warnings: string[];

beforeEach(() => {
  folder = createJournalFolder();
  warnings = [];
});

afterEach(() => {
  folder.remove();
});

function recover(options: { now?: () => number; maxJournalBytes?: number } = {}): Promise<RecoveredJournal[]> {
  return recoverJournals(folder.dir, { ...options, warn: (error) => warnings.push(error.message) });
}

/** Hands recovered entries to a journal of this run, which keeps them in its file once closed. */
function adoptAndClose(recovered: RecoveredJournal): void {
  const journal = folder.open();
  journal.adopt(recovered);
  journal.close();
}

function messagesOf(recovered: RecoveredJournal | undefined): string[] {
  return recovered?.entries.map((entry) => entry.message) ?? [];
}

describe('recovering the journals of runs that ended', () => {
  it('recovers only what a run that ended did not retire, once, and hands it on to this run’s journal', async () => {
    const dead = otherRun(DEAD_PID);
    const live = otherRun(process.ppid);
    folder.plant(dead, [...recordLines(1, 5), formatAck([2])]);
    const liveFile = folder.plant(live, recordLines(1, 3));
    const own = folder.open();
    const mine = makeEntry('mine');
    own.append(mine, true);

    // Two recoveries at once, as two processes starting together: the journal goes to one of them.
    const [first, second] = await Promise.all([recover(), recover()]);
    const all = [...first, ...second];
    expect(all).toHaveLength(1);
    const recovered = all[0]!;
    expect(recovered).toMatchObject({
      host: 'web-1',
      pid: DEAD_PID,
      startedAtMs: dead.startedAtMs,
      count: 4,
      lastTimestamp: '2030-01-01T12:00:00.000Z',
      tornRecords: 0,
    });
    expect(messagesOf(recovered)).toEqual(['entry 1', 'entry 3', 'entry 4', 'entry 5']);
    expect(basename(recovered.file)).toBe(formatRecoveringName(dead, 1, currentRun()));
    expect(await recover()).toEqual([]);
    expect(readFileSync(liveFile, 'utf8')).toBe(formatHeader(live, 'web-1') + recordLines(1, 3).join(''));

    const handed = own.adopt(recovered);
    expect(handed).toBe(recovered.entries);
    expect(existsSync(recovered.file)).toBe(false);
    expect(readBack(own.file!).messages).toEqual(['mine', 'entry 1', 'entry 3', 'entry 4', 'entry 5']);
    expect(folder.names()).toEqual([basename(liveFile), basename(own.file!)].sort());
    own.retireAll([mine, ...handed]);
    expect(own.close()).toBe(true);
    expect(folder.names()).toEqual([basename(liveFile)]);
    expect(warnings).toEqual([]);
  });

  it('says in one line who ended, when, and what was recovered', async () => {
    const dead = otherRun(DEAD_PID, Date.UTC(2030, 0, 1, 9, 30));
    const lines = recordLines(1, 3);
    folder.plant(dead, [...lines.slice(0, 2), lines[2]!.slice(0, 30)]);
    const [recovered] = await recover();
    expect(formatRecoveryNotice(recovered!)).toBe(
      `[winston-buffered-mail] The previous run on web-1 (pid ${DEAD_PID}, started 2030-01-01T09:30:00.000Z) ended without shutting down; 2 log entries recovered, the last logged at 2030-01-01T12:00:00.000Z. 1 damaged line of its journal was skipped.`,
    );
    adoptAndClose(recovered!);
  });

  it('recovers the runs oldest first, and a run that had nothing pending as 0 entries', async () => {
    const later = otherRun(DEAD_PID, Date.UTC(2030, 0, 2));
    const earlier = otherRun(DEAD_PID, Date.UTC(2030, 0, 1));
    folder.plant(later, recordLines(1, 1));
    folder.plant(earlier, [...recordLines(1, 2), formatAck([1, 2])]);
    const recovered = await recover();
    expect(recovered.map((journal) => [journal.startedAtMs, journal.count])).toEqual([
      [earlier.startedAtMs, 0],
      [later.startedAtMs, 1],
    ]);
    expect(formatRecoveryNotice(recovered[0]!)).toContain('ended without shutting down; 0 log entries recovered.');
    const journal = folder.open();
    for (const each of recovered) journal.adopt(each);
    expect(folder.names()).toEqual([basename(journal.file!)]);
    journal.close();
  });

  it('takes over a claim whose claimer ended too, and leaves a live claimer’s alone', async () => {
    const owner = otherRun(DEAD_PID);
    const other = otherRun(DEAD_PID);
    const abandoned = formatRecoveringName(owner, 1, otherRun(DEAD_PID));
    const held = formatRecoveringName(other, 1, otherRun(process.ppid));
    writeFileSync(join(folder.dir, abandoned), formatHeader(owner, 'web-1') + recordLines(1, 2).join(''));
    writeFileSync(join(folder.dir, held), formatHeader(other, 'web-1') + recordLines(1, 2).join(''));
    const recovered = await recover();
    expect(recovered.map((journal) => journal.startedAtMs === owner.startedAtMs && journal.count)).toEqual([2]);
    expect(existsSync(join(folder.dir, held))).toBe(true);
    adoptAndClose(recovered[0]!);
    expect(folder.names()).toHaveLength(2);
  });

  it('takes over the journal of another host only once it is older than `staleClaimMs`', async () => {
    folder.plant(runOnOtherHost(4242), recordLines(1, 2));
    expect(await recover()).toEqual([]);
    const twoHoursLater = Date.now() + 2 * 60 * 60 * 1000;
    const recovered = await recover({ now: () => twoHoursLater });
    expect(recovered.map((journal) => journal.count)).toEqual([2]);
    adoptAndClose(recovered[0]!);
  });

  it('keeps the recovered file when this run’s journal cannot hold all its entries', async () => {
    const dead = otherRun(DEAD_PID);
    const file = folder.plant(dead, recordLines(1, 20));
    const [recovered] = await recover();
    const journal = folder.open({ maxJournalBytes: 1024 });
    expect(journal.adopt(recovered!)).toHaveLength(20);
    expect(existsSync(recovered!.file)).toBe(true);
    expect(journal.stats().entriesNotJournaled).toBeGreaterThan(0);
    expect(basename(file)).toBe(formatJournalName(dead, 1));
    journal.close();
  });

  it('removes that file once every entry it kept has its outcome, so that no later start mails them again', async () => {
    folder.plant(otherRun(DEAD_PID), recordLines(1, 20));
    const [recovered] = await recover();
    const journal = folder.open({ maxJournalBytes: 1024 });
    const entries = journal.adopt(recovered!);
    journal.retireAll(entries.slice(0, 19));
    expect(existsSync(recovered!.file)).toBe(true);
    journal.retire(entries[19]!);
    expect(existsSync(recovered!.file)).toBe(false);
    expect(journal.close()).toBe(true);
    expect(await recover()).toEqual([]);
  });
});

describe('recovering from a hostile folder', () => {
  it('sets aside a symbolic link named as a journal, and never reads through it', async () => {
    const target = join(folder.dir, 'target');
    const content = formatHeader(otherRun(DEAD_PID), 'web-1') + recordLines(1, 2).join('');
    writeFileSync(target, content);
    const name = formatJournalName(otherRun(DEAD_PID), 1);
    symlinkSync(target, join(folder.dir, name));
    expect(await recover()).toEqual([]);
    expect(folder.names()).toEqual([`${name}.rejected`, 'target']);
    expect(readFileSync(target, 'utf8')).toBe(content);
    expect(warnings).toEqual([expect.stringContaining(`Skipped the journal "${name}"`)]);
    expect(warnings[0]).toContain('a symbolic link, not a regular file');
  });

  it('sets aside a FIFO named as a journal, without waiting for a writer', async () => {
    const name = formatJournalName(otherRun(DEAD_PID), 1);
    execFileSync('mkfifo', [join(folder.dir, name)]);
    expect(await recover()).toEqual([]);
    expect(folder.names()).toEqual([`${name}.rejected`]);
    expect(warnings[0]).toContain('a FIFO, not a regular file');
  });

  it('sets aside, as damaged, a file named as a journal that is not one', async () => {
    const run = otherRun(DEAD_PID);
    const name = formatJournalName(run, 1);
    writeFileSync(join(folder.dir, name), `${JSON.stringify({ format: 'winston-buffered-mail/spool@1' })}\n`);
    expect(await recover()).toEqual([]);
    expect(folder.names()).toEqual([`${name}.damaged`]);
    expect(warnings[0]).toContain('not a journal of this package');
  });

  it('sets aside a journal larger than `maxJournalBytes`, unread', async () => {
    const file = folder.plant(otherRun(DEAD_PID), recordLines(1, 20));
    expect(await recover({ maxJournalBytes: 1024 })).toEqual([]);
    expect(folder.names()).toEqual([`${basename(file)}.rejected`]);
    expect(warnings[0]).toMatch(/Skipped the journal .*: \d+ bytes, more than the 1024/);
  });

  it('removes a journal left empty by a run that ended while it created it', async () => {
    writeFileSync(join(folder.dir, formatJournalName(otherRun(DEAD_PID), 1)), '{"format":"winston-buf');
    expect(await recover()).toEqual([]);
    expect(folder.names()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('removes a rewrite left half-done by a run that ended, and recovers the journal it was rewriting', async () => {
    const dead = otherRun(DEAD_PID);
    const live = otherRun(process.ppid);
    folder.plant(dead, recordLines(1, 3));
    writeFileSync(join(folder.dir, formatCompactingName(dead, 1, 'ab'.repeat(8))), recordLines(1, 1).join(''));
    const livesRewrite = formatCompactingName(live, 1, 'cd'.repeat(8));
    writeFileSync(join(folder.dir, livesRewrite), '');
    const recovered = await recover();
    expect(messagesOf(recovered[0])).toEqual(['entry 1', 'entry 2', 'entry 3']);
    adoptAndClose(recovered[0]!);
    expect(folder.names().filter((name) => name.includes('.compacting.'))).toEqual([livesRewrite]);
  });

  it('resolves to nothing, quietly, when there is no folder', async () => {
    expect(await recoverJournals(join(folder.dir, 'none'), { warn: (error) => warnings.push(error.message) })).toEqual(
      [],
    );
    expect(warnings).toEqual([]);
  });

  it('reports a spoolDir that is not a folder, and resolves to nothing', async () => {
    const path = join(folder.dir, 'file');
    writeFileSync(path, '');
    expect(await recoverJournals(path, { warn: (error) => warnings.push(error.message) })).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('it is not a folder')]);
  });

  it('leaves alone files it does not know', async () => {
    writeFileSync(join(folder.dir, 'journal.notes.ndjson'), 'x');
    writeFileSync(join(folder.dir, '0000000000001-000001-0badc0de.mail.json'), '{}');
    expect(await recover()).toEqual([]);
    expect(folder.names()).toEqual(['0000000000001-000001-0badc0de.mail.json', 'journal.notes.ndjson']);
    expect(warnings).toEqual([]);
  });
});
