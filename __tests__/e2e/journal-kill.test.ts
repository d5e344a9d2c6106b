import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, recoverJournals, type RecoveredJournal } from '../../src/journal';
import { startFixture, type ChildResult } from '../helpers/child';

const PER_TURN = 100;
const RETIRED_AFTER_TURNS = 3;

let dir: string;
let warnings: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbm-journal-kill-'));
  warnings = [];
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the appender and kills it with SIGKILL once it has printed `turns` completed turns. */
async function killAfter(turns: number, fsync: 'never' | 'turn'): Promise<{ result: ChildResult; lastTurn: number }> {
  const { child, result } = startFixture('journal-appender.ts', { WBM_SPOOL: dir }, [fsync]);
  let printed = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8').split('\n').length - 1;
    if (printed >= turns) child.kill('SIGKILL');
  });
  // The process is reaped before `close`: its pid is no longer alive when recovery judges it.
  const ended = await result;
  const lines = ended.stdout.split('\n').filter((line) => line !== '');
  return { result: ended, lastTurn: Number(lines[lines.length - 1]) };
}

/** The entries pending once `turn` is written: those of the last three turns, as the appender retires them. */
function pendingAfter(turn: number): { first: number; last: number } {
  return { first: PER_TURN * Math.max(0, turn - RETIRED_AFTER_TURNS + 1) + 1, last: PER_TURN * (turn + 1) };
}

function messagesFrom(first: number, last: number): string[] {
  return Array.from({ length: last - first + 1 }, (_, index) => `entry ${first + index}`);
}

function recover(): Promise<RecoveredJournal[]> {
  return recoverJournals(dir, { warn: (error) => warnings.push(error.message) });
}

/** Hands what was recovered to a journal of this process and settles it, as the transport would once mailed. */
function settle(recovered: readonly RecoveredJournal[]): void {
  const journal = new Journal(dir, { warn: (error) => warnings.push(error.message) });
  for (const each of recovered) journal.retireAll(journal.adopt(each));
  expect(journal.close()).toBe(true);
}

describe('a process killed while it logs', () => {
  it.each([
    [1, 'never'],
    [2, 'never'],
    [3, 'never'],
    [4, 'turn'],
    [5, 'turn'],
  ] as const)(
    'loses no entry up to its last completed turn, in order, without duplicates (run %i, fsync %s)',
    async (_run, fsync) => {
      // Anywhere from the first turns to well past the first rewrites of the file.
      const turns = 3 + Math.floor(Math.random() * 200);
      const { result, lastTurn } = await killAfter(turns, fsync);
      expect(result.signal).toBe('SIGKILL');
      expect(result.stderr).toBe('');
      expect(lastTurn).toBeGreaterThanOrEqual(turns - 1);

      const recovered = await recover();
      expect(recovered).toHaveLength(1);
      const [journal] = recovered;
      const messages = journal!.entries.map((entry) => entry.message);
      // The turn after the last printed one may have been written in full, in part, or not at all.
      const done = pendingAfter(lastTurn);
      const next = pendingAfter(lastTurn + 1);
      const first = Number(messages[0]?.slice('entry '.length));
      const last = first + messages.length - 1;
      expect([done.first, next.first]).toContain(first);
      expect(last).toBeGreaterThanOrEqual(first === done.first ? done.last : next.last);
      expect(last).toBeLessThanOrEqual(next.last);
      expect(messages).toEqual(messagesFrom(first, last));
      expect(journal!.pid).toBe(result.pid);
      expect(journal!.count).toBe(messages.length);

      settle(recovered);
      // Nothing is left: not the journal, not a rewrite the kill interrupted.
      expect(readdirSync(dir)).toEqual([]);
      expect(warnings).toEqual([]);
    },
  );

  it('is recovered by exactly one of two runs that start at the same time', async () => {
    const { lastTurn } = await killAfter(10, 'never');
    // Both stay alive until both have recovered: a claim of a run that ended may be taken over.
    const recoverers = [0, 1].map(() => startFixture('journal-recoverer.ts', { WBM_SPOOL: dir }));
    await Promise.all(recoverers.map(({ child }) => new Promise((resolve) => child.stdout?.once('data', resolve))));
    for (const { child } of recoverers) child.kill('SIGKILL');
    const [one, two] = (await Promise.all(recoverers.map(({ result }) => result))) as [ChildResult, ChildResult];
    expect([one.stderr, two.stderr]).toEqual(['', '']);
    const reports = [one, two].map((child) => JSON.parse(child.stdout) as { journals: number; messages: string[] });
    expect(reports.map((report) => report.journals).sort()).toEqual([0, 1]);
    const taken = reports.flatMap((report) => report.messages);
    expect(taken.length).toBeGreaterThanOrEqual(pendingAfter(lastTurn).last - pendingAfter(lastTurn).first + 1);

    // The run that took it was killed before handing it on: the next start takes it over, whole.
    const recovered = await recover();
    expect(recovered.map((journal) => journal.entries.map((entry) => entry.message))).toEqual([taken]);
    settle(recovered);
    expect(readdirSync(dir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('keeps a crash entry written at once, with what was appended before it, when the process dies right after', async () => {
    const { result } = startFixture('journal-crash.ts', { WBM_SPOOL: dir });
    const ended = await result;
    expect(ended.signal).toBe('SIGKILL');
    const recovered = await recover();
    expect(recovered.map((journal) => journal.entries.map((entry) => [entry.message, entry.crash]))).toEqual([
      [
        ['entry 1', false],
        ['entry 2', false],
        ['entry 3', false],
        ['entry 4', false],
        ['entry 5', false],
        ['uncaughtException: out of memory', true],
      ],
    ]);
    settle(recovered);
    expect(readdirSync(dir)).toEqual([]);
  });
});
