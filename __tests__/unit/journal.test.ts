import { execFileSync } from 'node:child_process';
import fs, {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_JOURNAL_BYTES, Journal } from '../../src/journal';
import { formatJournalName } from '../../src/journal/names';
import { formatHeader, formatRecord } from '../../src/journal/records';
import { currentRun } from '../../src/spool/claim';
import {
  createJournalFolder,
  instanceOf,
  makeEntry,
  nextTurn,
  readBack,
  type JournalFolder,
} from '../helpers/journal-folder';
import { ManualClock } from '../helpers/manual-clock';

let folder: JournalFolder;

beforeEach(() => {
  folder = createJournalFolder();
});

afterEach(() => {
  jest.restoreAllMocks();
  folder.remove();
});

const HEADER_BYTES = Buffer.byteLength(formatHeader(currentRun(), hostname()));

function entries(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) => makeEntry(`entry ${String(from + index).padStart(6, '0')}`));
}

describe('grouping per turn', () => {
  it('writes all the entries of one synchronous stretch with one write, once the stretch ends', async () => {
    const journal = folder.open();
    const file = journal.file!;
    const writes = jest.spyOn(fs, 'writeSync');
    for (const entry of entries(100)) journal.append(entry);
    // Still inside the stretch: nothing written yet.
    expect(writes).not.toHaveBeenCalled();
    expect(statSync(file).size).toBe(HEADER_BYTES);
    await Promise.resolve();
    expect(writes).toHaveBeenCalledTimes(1);
    expect(readBack(file).messages).toHaveLength(100);

    await nextTurn();
    for (const entry of entries(50, 100)) journal.append(entry);
    await nextTurn();
    expect(writes).toHaveBeenCalledTimes(2);
    expect(journal.stats().writes).toBe(2);
    const { messages, tornRecords } = readBack(file);
    expect(messages).toEqual(entries(150).map((entry) => entry.message));
    expect(tornRecords).toBe(0);
    journal.close();
  });

  it('writes an urgent entry, with what waits before it, before append returns', () => {
    const journal = folder.open();
    for (const entry of entries(3)) journal.append(entry);
    const crash = makeEntry('uncaughtException: boom', { level: 'error', crash: true, stack: 'Error: boom\n    at x' });
    const seq = journal.append(crash, true);
    expect(seq).toBe(4);
    const text = readFileSync(journal.file!, 'utf8');
    const { messages } = readBack(journal.file!);
    expect(messages).toEqual([...entries(3).map((entry) => entry.message), 'uncaughtException: boom']);
    expect(text).toContain('"crash":true');
    expect(journal.stats().writes).toBe(1);
    journal.close();
  });

  it('forces each grouped write to the disk with fsync `turn`, and never with `never`', async () => {
    const syncs = jest.spyOn(fs, 'fdatasyncSync');
    const turn = folder.open({ fsync: 'turn' });
    syncs.mockClear();
    for (const entry of entries(100)) turn.append(entry);
    await nextTurn();
    expect(syncs).toHaveBeenCalledTimes(1);
    turn.close();

    syncs.mockClear();
    const never = folder.open({ fsync: 'never' });
    for (const entry of entries(100)) never.append(entry);
    await nextTurn();
    expect(never.stats().writes).toBe(1);
    expect(syncs).not.toHaveBeenCalled();
    never.close();
  });

  it('still groups when a test installs fake timers after the module loaded', async () => {
    const journal = folder.open();
    jest.useFakeTimers();
    try {
      for (const entry of entries(10)) journal.append(entry);
      await Promise.resolve();
      expect(readBack(journal.file!).messages).toHaveLength(10);
    } finally {
      jest.useRealTimers();
    }
    journal.close();
  });
});

describe('retiring', () => {
  it('never writes an entry retired in the stretch that appended it', async () => {
    const journal = folder.open();
    const writes = jest.spyOn(fs, 'writeSync');
    const batch = entries(10);
    for (const entry of batch) journal.append(entry);
    journal.retireAll(batch);
    await nextTurn();
    expect(writes).not.toHaveBeenCalled();
    expect(statSync(journal.file!).size).toBe(HEADER_BYTES);
    journal.close();
  });

  it('records retirements, so that a restart recovers only what was not retired, in order', async () => {
    const journal = folder.open();
    const batch = entries(10);
    for (const entry of batch) journal.append(entry);
    await nextTurn();
    journal.retireAll(batch.slice(2, 5));
    journal.retire(batch[7]!);
    await nextTurn();
    const { messages, lines } = readBack(journal.file!);
    expect(messages).toEqual([0, 1, 5, 6, 8, 9].map((index) => batch[index]!.message));
    expect(lines[lines.length - 1]).toBe('{"ack":[[3,5],[8,8]]}');
    journal.close();
  });

  it('cuts the file back to its first line once everything is retired, without a rewrite', async () => {
    const journal = folder.open();
    const batch = entries(10);
    for (const entry of batch) journal.append(entry);
    await nextTurn();
    const { ino } = statSync(journal.file!);
    journal.retireAll(batch);
    await nextTurn();
    expect(statSync(journal.file!).size).toBe(HEADER_BYTES);
    expect(statSync(journal.file!).ino).toBe(ino);
    expect(journal.stats()).toMatchObject({ entriesPending: 0, fileBytes: HEADER_BYTES, compactions: 0 });
    journal.close();
  });

  it('ignores entries it does not hold, and keeps the number of an entry appended twice', async () => {
    const journal = folder.open();
    const entry = makeEntry('once');
    expect(journal.append(entry)).toBe(1);
    expect(journal.append(entry)).toBe(1);
    journal.retire(makeEntry('once'));
    await nextTurn();
    expect(readBack(journal.file!).messages).toEqual(['once']);
    expect(journal.stats()).toMatchObject({ entriesJournaled: 1, entriesPending: 1 });
    journal.retire(entry);
    journal.close();
  });
});

/** The bytes the records of `batch` take when numbered from `firstSeq`. */
function bytesOf(batch: ReturnType<typeof entries>, firstSeq: number): number {
  return batch.reduce((sum, entry, index) => sum + Buffer.byteLength(formatRecord(firstSeq + index, entry)), 0);
}

describe('compaction', () => {
  // The largest a record of the long run takes: its sequence numbers have up to six digits.
  const recordBytes = Buffer.byteLength(formatRecord(100_000, entries(1)[0]!));

  it('rewrites the file without retired records once they outweigh the pending ones', async () => {
    const journal = folder.open();
    const all = entries(8000);
    for (const entry of all) journal.append(entry);
    await nextTurn();
    const before = statSync(journal.file!);
    expect(before.size).toBe(HEADER_BYTES + bytesOf(all, 1));
    expect(before.size).toBeGreaterThan(1024 * 1024);
    journal.retireAll(all.slice(0, 7200));
    await nextTurn();
    expect(journal.stats().compactions).toBe(1);
    const after = statSync(journal.file!);
    expect(after.ino).not.toBe(before.ino);
    expect(after.size).toBe(HEADER_BYTES + bytesOf(all.slice(7200), 7201));
    expect(after.mode & 0o777).toBe(0o600);
    const { messages, lines } = readBack(journal.file!);
    expect(messages).toEqual(all.slice(7200).map((entry) => entry.message));
    expect(lines.some((line) => line.startsWith('{"ack"'))).toBe(false);
    // The rewritten file is the one written from now on.
    journal.append(makeEntry('after the rewrite'));
    await nextTurn();
    expect(readBack(journal.file!).messages.at(-1)).toBe('after the rewrite');
    expect(folder.names()).toHaveLength(1);
    journal.retireAll(all);
    journal.close();
  });

  it('keeps the file near the size of what is pending over a long run', async () => {
    const journal = folder.open();
    const turns: Array<ReturnType<typeof entries>> = [];
    for (let turn = 0; turn < 300; turn++) {
      const batch = entries(100, turn * 100);
      for (const entry of batch) journal.append(entry);
      turns.push(batch);
      // Mails are accepted three turns after their entries were logged.
      if (turn >= 3) journal.retireAll(turns[turn - 3]!);
      await nextTurn();
      const pending = Math.min(turn + 1, 3) * 100;
      expect(journal.stats().entriesPending).toBe(pending);
      expect(statSync(journal.file!).size).toBeLessThanOrEqual(
        1024 * 1024 + 2 * (HEADER_BYTES + pending * recordBytes),
      );
    }
    const { messages, tornRecords } = readBack(journal.file!);
    expect(messages).toEqual(
      turns
        .slice(-3)
        .flat()
        .map((entry) => entry.message),
    );
    expect(tornRecords).toBe(0);
    expect(journal.stats().compactions).toBeGreaterThanOrEqual(3);
    for (const batch of turns) journal.retireAll(batch);
    expect(journal.close()).toBe(true);
  });
});

describe('the bound', () => {
  it('refuses new entries while the journal is full, keeping those it holds, and counts them', async () => {
    const maxJournalBytes = 4096;
    const journal = folder.open({ maxJournalBytes });
    const all = entries(40);
    const accepted = all.filter((entry) => journal.append(entry) !== undefined);
    await nextTurn();
    let fitting = 0;
    while (HEADER_BYTES + bytesOf(all.slice(0, fitting + 1), 1) <= maxJournalBytes) fitting++;
    expect(fitting).toBeLessThan(40);
    expect(accepted).toHaveLength(fitting);
    expect(accepted).toEqual(all.slice(0, accepted.length));
    expect(statSync(journal.file!).size).toBeLessThanOrEqual(maxJournalBytes);
    expect(readBack(journal.file!).messages).toEqual(accepted.map((entry) => entry.message));
    expect(journal.stats()).toMatchObject({
      entriesNotJournaled: 40 - accepted.length,
      entriesPending: accepted.length,
    });
    // One warning for the episode, not one per entry.
    expect(folder.messages().filter((message) => message.includes('`maxJournalBytes` (4096)'))).toHaveLength(1);

    // Room again once older entries were mailed; retirements never push the file past the bound.
    journal.retireAll(accepted.slice(0, 10));
    const more = entries(10, 100).filter((entry) => journal.append(entry) !== undefined);
    await nextTurn();
    expect(more).toHaveLength(10);
    expect(statSync(journal.file!).size).toBeLessThanOrEqual(maxJournalBytes);
    expect(readBack(journal.file!).messages).toEqual([...accepted.slice(10), ...more].map((entry) => entry.message));

    journal.append(makeEntry('x'.repeat(2000)));
    expect(folder.messages().filter((message) => message.includes('`maxJournalBytes`'))).toHaveLength(2);
    journal.close();
  });

  it('is 16 MiB by default, and refuses a bound too small for a record', () => {
    expect(DEFAULT_MAX_JOURNAL_BYTES).toBe(16 * 1024 * 1024);
    expect(() => folder.open({ maxJournalBytes: 100 })).toThrow(
      'Expected `journal.maxJournalBytes` to be an integer of at least 1024, got `100` (number)',
    );
    expect(() => folder.open({ fsync: 'always' as 'turn' })).toThrow(TypeError);
  });
});

describe('closing', () => {
  it('removes the file on a clean close, when everything was retired', async () => {
    const journal = folder.open();
    const batch = entries(5);
    for (const entry of batch) journal.append(entry);
    await nextTurn();
    journal.retireAll(batch);
    expect(journal.close()).toBe(true);
    expect(folder.names()).toEqual([]);
    expect(journal.append(makeEntry('late'))).toBeUndefined();
    expect(journal.stats().entriesNotJournaled).toBe(1);
  });

  it('keeps the file, with what was not retired, when entries are still pending', () => {
    const journal = folder.open();
    const batch = entries(5);
    for (const entry of batch) journal.append(entry);
    journal.retire(batch[0]!);
    expect(journal.close()).toBe(false);
    expect(readBack(journal.file!).messages).toEqual(batch.slice(1).map((entry) => entry.message));
  });

  it('touches the file while open, so that it never looks abandoned, and stops once closed', () => {
    const clock = new ManualClock();
    const startMs = Date.UTC(2030, 0, 1);
    clock.advanceTo(startMs);
    const journal = folder.open({ clock, staleClaimMs: 60_000 });
    expect(clock.pending).toEqual([startMs + 15_000]);
    clock.advanceTo(startMs + 15_000);
    expect(statSync(journal.file!).mtimeMs).toBe(startMs + 15_000);
    clock.advanceTo(startMs + 30_000);
    expect(statSync(journal.file!).mtimeMs).toBe(startMs + 30_000);
    journal.close();
    expect(clock.pending).toEqual([]);
  });
});

describe('a hostile folder', () => {
  function nextJournalPath(): string {
    const probe = folder.open();
    const instance = instanceOf(probe.file!);
    probe.close();
    return join(folder.dir, formatJournalName(currentRun(), instance + 1));
  }

  it('does not follow a symbolic link planted with the journal’s name', () => {
    const target = join(folder.dir, 'target');
    writeFileSync(target, 'untouched');
    const path = nextJournalPath();
    symlinkSync(target, path);
    const journal = folder.open();
    expect(journal.file).toBeUndefined();
    expect(journal.append(makeEntry('kept in memory'), true)).toBeUndefined();
    expect(journal.stats().entriesNotJournaled).toBe(1);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(folder.messages()).toEqual([
      expect.stringContaining(
        `Could not create a journal in \`spoolDir\` ${folder.dir}; entries are kept in memory only`,
      ),
    ]);
    expect(journal.close()).toBe(true);
  });

  it('does not open a FIFO planted with the journal’s name', () => {
    const path = nextJournalPath();
    execFileSync('mkfifo', [path]);
    const journal = folder.open();
    expect(journal.file).toBeUndefined();
    expect(folder.messages()[0]).toContain(`something is already at ${JSON.stringify(path)}`);
    journal.close();
  });

  it('creates the journal owner-only, in a folder it creates owner-only', () => {
    const dir = join(folder.dir, 'spool');
    const journal = new Journal(dir, { warn: (error) => folder.warnings.push(error) });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(journal.file!).mode & 0o777).toBe(0o600);
    expect(folder.warnings).toEqual([]);
    journal.close();
  });

  it('warns about a folder other users can reach, and still uses it', () => {
    chmodSync(folder.dir, 0o777);
    const journal = folder.open();
    expect(journal.file).toBeDefined();
    expect(folder.messages()).toEqual([expect.stringContaining('has mode 0o777: other users can see or change')]);
    journal.close();
  });

  it('refuses a spoolDir that is not a folder', () => {
    const path = join(folder.dir, 'file');
    writeFileSync(path, '');
    const warnings: string[] = [];
    const journal = new Journal(path, { warn: (error) => warnings.push(error.message) });
    expect(journal.file).toBeUndefined();
    expect(warnings[0]).toMatch(
      /^Could not create a journal in `spoolDir` .*; entries are kept in memory only and a crash loses them: EEXIST/,
    );
    journal.close();
  });

  (process.getuid?.() === 0 ? it : it.skip)('refuses a folder another user owns', () => {
    const dir = join(folder.dir, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 12345, 12345);
    const warnings: string[] = [];
    const journal = new Journal(dir, { warn: (error) => warnings.push(error.message) });
    expect(journal.file).toBeUndefined();
    expect(warnings[0]).toContain('it is owned by uid 12345, not by this user (uid 0)');
    expect(existsSync(dir) && fs.readdirSync(dir)).toEqual([]);
    journal.close();
  });
});

describe('a failing disk', () => {
  it('cuts a half-done write back out of the file and writes it again with the next ones', async () => {
    const journal = folder.open();
    const real = fs.writeSync;
    let failures = 1;
    jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: Buffer, offset?: number, length?: number) => {
      if (failures > 0) {
        failures--;
        real(fd, data, offset, Math.floor((length ?? data.length) / 2));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return real(fd, data, offset, length);
    }) as typeof fs.writeSync);
    const first = entries(10);
    for (const entry of first) journal.append(entry);
    await nextTurn();
    expect(statSync(journal.file!).size).toBe(HEADER_BYTES);
    expect(folder.messages()).toEqual([expect.stringContaining('ENOSPC: no space left on device')]);
    const second = entries(10, 10);
    for (const entry of second) journal.append(entry);
    await nextTurn();
    const { messages, tornRecords } = readBack(journal.file!);
    expect(messages).toEqual([...first, ...second].map((entry) => entry.message));
    expect(tornRecords).toBe(0);
    journal.close();
  });
});
