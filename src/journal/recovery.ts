import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CapturedEntry } from '../entry';
import { entryCount } from '../render/line';
import { DEFAULT_STALE_CLAIM_MS } from '../spool';
import { currentRun, isProcessAlive, judgeClaim, type SpoolRun } from '../spool/claim';
import { currentUid, errorCode, readRegularFile, reasonOf, renameIfPresentSync } from '../spool/files';
import { inspectFolder } from '../spool/folder';
import { DEFAULT_MAX_JOURNAL_BYTES } from './journal';
import { formatJournalName, formatRecoveringName, parseJournalName, type JournalName } from './names';
import { checkInteger, journalWarning } from './problems';
import { JournalFormatError, parseJournal } from './records';

/** The entries of a run that ended without shutting down, claimed by this run to be mailed. */
export interface RecoveredJournal {
  /** The host that run was on, as its system named it. */
  readonly host: string;
  readonly pid: number;
  /** When that run started, in ms since the epoch. */
  readonly startedAtMs: number;
  /** The entries it had accepted and not settled, in the order they were logged. */
  readonly entries: readonly CapturedEntry[];
  /** The number of `entries`. */
  readonly count: number;
  /** The timestamp of the last of them that had one. */
  readonly lastTimestamp: string | undefined;
  /** Lines of the journal skipped as cut short or damaged. */
  readonly tornRecords: number;
  /** Of `entries`, those in a mail on its way to the server when the run ended: they may arrive twice. */
  readonly inFlight: number;
  /** The claimed file; `Journal.adopt` removes it once the entries are safe in this run's journal. */
  readonly file: string;
}

/** How recovery reports problems and bounds what it reads. */
export interface RecoverOptions {
  /** Told about every problem with the folder or a journal in it; the error's `code` is `EJOURNAL`. */
  warn(error: Error & { code?: string }): void;
  /**
   * The largest journal read, in bytes; a larger one is set aside unread (renamed `.rejected`).
   * @default 16777216 (16 MiB)
   */
  maxJournalBytes?: number;
  /**
   * The age, in ms, at which a journal or a claim on one is taken over whatever host made it.
   * @default 3600000 (1 hour)
   */
  staleClaimMs?: number;
  /** The clock, in ms since the epoch. @default Date.now */
  now?: () => number;
}

const DAMAGED_SUFFIX = '.damaged';
const REJECTED_SUFFIX = '.rejected';

function quote(name: string): string {
  return JSON.stringify(name);
}

function orderOfRuns(a: RecoveredJournal, b: RecoveredJournal): number {
  return a.startedAtMs - b.startedAtMs || a.pid - b.pid || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}

/**
 * Finds the journals of runs that ended without shutting down (never this run's, never one of a
 * run that may still be alive), claims each by renaming it to a name of this run, so that of two
 * processes sharing the folder only one takes it, and reads it back. Resolves to the entries
 * they had not settled, oldest run first; each must then be given to `Journal.adopt`. Files that
 * are not journals of ours are set aside, never read as entries. Rejects only for a wrong
 * argument (TypeError, RangeError); problems with the disk are warnings.
 */
export async function recoverJournals(dir: string, options: RecoverOptions): Promise<RecoveredJournal[]> {
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new TypeError(`Expected \`spoolDir\` to be a folder path, got \`${String(dir)}\` (${typeof dir})`);
  }
  const folder = resolve(dir);
  const warn = (error: Error & { code?: string }) => {
    try {
      options.warn(error);
    } catch {
      // A failing listener must not stop the recovery.
    }
  };
  const recovery = new Recovery(folder, {
    warn,
    maxJournalBytes: checkInteger('journal.maxJournalBytes', options.maxJournalBytes, DEFAULT_MAX_JOURNAL_BYTES, 1024),
    staleClaimMs: checkInteger('staleClaimMs', options.staleClaimMs, DEFAULT_STALE_CLAIM_MS, 0),
    now: options.now ?? Date.now,
  });
  try {
    return await recovery.run();
  } catch (error) {
    warn(journalWarning(`Could not recover the journals in \`spoolDir\` ${folder}: ${reasonOf(error)}`, error));
    return [];
  }
}

class Recovery {
  private readonly self = currentRun();
  private readonly uid = currentUid();

  constructor(
    private readonly dir: string,
    private readonly options: Required<RecoverOptions>,
  ) {}

  async run(): Promise<RecoveredJournal[]> {
    let names: string[];
    try {
      const verdict = await inspectFolder(this.dir, this.uid);
      for (const { message } of verdict.concerns) {
        this.options.warn(journalWarning(`\`spoolDir\` ${this.dir} ${message}`));
      }
      if (verdict.refusal !== undefined) throw new Error(verdict.refusal);
      names = await readdir(this.dir);
    } catch (error) {
      // No folder: no run wrote a journal there.
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const recovered: RecoveredJournal[] = [];
    for (const name of names.sort()) {
      const parsed = parseJournalName(name);
      if (!parsed) continue;
      if (parsed.kind === 'compacting') {
        await this.removeIfAbandoned(name, parsed.owner);
        continue;
      }
      const holder = parsed.kind === 'journal' ? parsed.owner : parsed.claimer;
      if ((await this.judge(name, holder)) === undefined) continue;
      const journal = await this.claim(name, parsed);
      if (journal) recovered.push(journal);
    }
    return recovered.sort(orderOfRuns);
  }

  /** Why the run holding the file may no longer use it; undefined when it may, or the file is gone. */
  private async judge(name: string, holder: SpoolRun): Promise<string | undefined> {
    let stats;
    try {
      stats = await lstat(join(this.dir, name));
    } catch {
      return undefined;
    }
    // A write sets the mtime, a rename (a claim) the ctime: the later one is when it was last used.
    const verdict = judgeClaim(holder, {
      self: this.self,
      claimedAtMs: Math.max(stats.mtimeMs, stats.ctimeMs),
      nowMs: this.options.now(),
      staleClaimMs: this.options.staleClaimMs,
      isAlive: isProcessAlive,
    });
    return verdict.kind === 'abandoned' ? verdict.reason : undefined;
  }

  private async removeIfAbandoned(name: string, owner: SpoolRun): Promise<void> {
    if ((await this.judge(name, owner)) === undefined) return;
    const file = join(this.dir, name);
    try {
      const stats = await lstat(file);
      // Only a rewrite of ours is removed; anything else under such a name may be someone's.
      if (!stats.isFile() || (this.uid !== undefined && stats.uid !== this.uid)) {
        this.options.warn(
          journalWarning(`Skipped ${quote(name)} in \`spoolDir\` ${this.dir}: not a file this user wrote; left alone`),
        );
        return;
      }
      await unlink(file);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.options.warn(
          journalWarning(`Could not remove ${quote(name)} from \`spoolDir\` ${this.dir}: ${reasonOf(error)}`, error),
        );
      }
    }
  }

  private async claim(name: string, parsed: Exclude<JournalName, { kind: 'compacting' }>) {
    const { owner, instance } = parsed;
    const file = join(this.dir, formatRecoveringName(owner, instance, this.self));
    try {
      await rename(join(this.dir, name), file);
    } catch (error) {
      // Gone: another process claimed it first.
      if (errorCode(error) !== 'ENOENT') {
        this.options.warn(
          journalWarning(`Could not claim ${quote(name)} in \`spoolDir\` ${this.dir}: ${reasonOf(error)}`, error),
        );
      }
      return undefined;
    }
    const original = formatJournalName(owner, instance);
    const read = await readRegularFile(file, {
      maxBytes: this.options.maxJournalBytes,
      uid: this.uid,
      touchAtMs: this.options.now(),
    });
    if (read.kind === 'vanished') return undefined;
    if (read.kind === 'rejected') {
      this.setAside(file, original, REJECTED_SUFFIX, read.reason);
      return undefined;
    }
    const text = read.data.toString('utf8');
    if (!text.includes('\n')) {
      // The run ended while it created the file: there cannot be an entry in it.
      await unlink(file).catch(() => undefined);
      return undefined;
    }
    try {
      const { header, entries, tornRecords, inFlight } = parseJournal(text, owner);
      let lastTimestamp: string | undefined;
      for (let index = entries.length - 1; index >= 0 && lastTimestamp === undefined; index--) {
        lastTimestamp = entries[index]?.timestamp;
      }
      return {
        host: header.hostname,
        pid: header.pid,
        startedAtMs: header.startedAtMs,
        entries,
        count: entries.length,
        lastTimestamp,
        tornRecords,
        inFlight,
        file,
      };
    } catch (error) {
      if (!(error instanceof JournalFormatError)) throw error;
      this.setAside(file, original, DAMAGED_SUFFIX, `not a journal of this package (${error.message})`);
      return undefined;
    }
  }

  /** Moves a file that is not a journal of ours out of the way, without deleting it: it may be someone's. */
  private setAside(file: string, original: string, suffix: string, why: string): void {
    const target = `${original}${suffix}`;
    let where: string;
    try {
      renameIfPresentSync(file, join(this.dir, target));
      where = `renamed ${quote(target)}`;
    } catch (error) {
      where = `left as it was (${reasonOf(error)})`;
    }
    this.options.warn(
      journalWarning(`Skipped the journal ${quote(original)} in \`spoolDir\` ${this.dir}: ${why}; ${where}`),
    );
  }
}

/**
 * The line that tells, in the first mail after a restart, that the previous run did not shut
 * down and what was recovered of it.
 */
export function formatRecoveryNotice(recovered: RecoveredJournal): string {
  const started = new Date(recovered.startedAtMs);
  const when = Number.isNaN(started.getTime()) ? 'at an unknown time' : started.toISOString();
  const last =
    recovered.count > 0 && recovered.lastTimestamp !== undefined
      ? `, the last logged at ${recovered.lastTimestamp}`
      : '';
  const torn =
    recovered.tornRecords > 0
      ? ` ${recovered.tornRecords} damaged ${recovered.tornRecords === 1 ? 'line' : 'lines'} of its journal ${recovered.tornRecords === 1 ? 'was' : 'were'} skipped.`
      : '';
  const inFlight =
    recovered.inFlight > 0
      ? ` ${recovered.inFlight} of them ${recovered.inFlight === 1 ? 'was' : 'were'} in a mail on its way to the server when it ended, and may arrive twice.`
      : '';
  return `[winston-buffered-mail] The previous run on ${recovered.host} (pid ${recovered.pid}, started ${when}) ended without shutting down; ${entryCount(recovered.count)} recovered${last}.${inFlight}${torn}`;
}
