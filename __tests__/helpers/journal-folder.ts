import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { CapturedEntry } from '../../src/entry';
import { Journal, type JournalFileOptions } from '../../src/journal';
import { formatJournalName, parseJournalName } from '../../src/journal/names';
import { formatHeader, formatRecord, parseJournal } from '../../src/journal/records';
import { currentRun, type SpoolRun } from '../../src/spool/claim';

/** A pid no process has: above the largest Linux hands out, below what the checks refuse. */
export const DEAD_PID = 2 ** 31 - 2;

/** A fresh folder under the system's temporary folder, and what journals in it reported. */
export interface JournalFolder {
  readonly dir: string;
  readonly warnings: Array<Error & { code?: string }>;
  /** The messages of `warnings`. */
  messages(): string[];
  /** A journal of this run in the folder that records its warnings. */
  open(options?: Omit<JournalFileOptions, 'warn'>): Journal;
  /** The names in the folder, sorted. */
  names(): string[];
  /**
   * Writes a journal as another run would have left it: its first line, then `lines` as they
   * are. Returns the file's path.
   */
  plant(run: SpoolRun, lines: readonly string[], instance?: number): string;
  remove(): void;
}

/** Creates a folder for one test; call `remove()` after it. */
export function createJournalFolder(): JournalFolder {
  const dir = mkdtempSync(join(tmpdir(), 'wbm-journal-'));
  const warnings: Array<Error & { code?: string }> = [];
  return {
    dir,
    warnings,
    messages: () => warnings.map((warning) => warning.message),
    open: (options = {}) => new Journal(dir, { ...options, warn: (error) => warnings.push(error) }),
    names: () => readdirSync(dir).sort(),
    plant(run, lines, instance = 1) {
      const file = join(dir, formatJournalName(run, instance));
      writeFileSync(file, formatHeader(run, 'web-1') + lines.join(''), { mode: 0o600 });
      return file;
    },
    remove() {
      chmodSync(dir, 0o700);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Another run on this host: `pid` decides whether it is alive. */
export function otherRun(pid: number, startedAtMs = Date.UTC(2030, 0, 1, 12)): SpoolRun {
  return { host: currentRun().host, pid, threadId: 0, runId: randomBytes(8).toString('hex'), startedAtMs };
}

/** A run on another host. */
export function runOnOtherHost(pid: number): SpoolRun {
  return { ...otherRun(pid), host: 'AAAAAAAAAAAAAAAA' };
}

/** An entry as the transport keeps it; `message` tells entries apart. */
export function makeEntry(message: string, fields: Partial<CapturedEntry> = {}): CapturedEntry {
  return {
    level: 'info',
    timestamp: '2030-01-01T12:00:00.000Z',
    message,
    metaJson: '{"requestId":"3f2a9c","durationMs":12}',
    stack: undefined,
    line: undefined,
    crash: false,
    ...fields,
  };
}

/** The lines of records `first`..`last` (inclusive) with messages `entry <seq>`. */
export function recordLines(first: number, last: number): string[] {
  const lines: string[] = [];
  for (let seq = first; seq <= last; seq++) lines.push(formatRecord(seq, makeEntry(`entry ${seq}`)));
  return lines;
}

/** What a journal file of this run would give back at a restart. */
export function readBack(file: string): { messages: string[]; tornRecords: number; lines: string[] } {
  const text = readFileSync(file, 'utf8');
  const { entries, tornRecords } = parseJournal(text, currentRun());
  return { messages: entries.map((entry) => entry.message), tornRecords, lines: text.split('\n').slice(1, -1) };
}

/** The instance number in a journal's file name. */
export function instanceOf(file: string): number {
  const parsed = parseJournalName(basename(file));
  if (!parsed) throw new Error(`Not a journal name: ${file}`);
  return parsed.instance;
}

/** Resolves on the next turn of the event loop, after every microtask of this one. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
