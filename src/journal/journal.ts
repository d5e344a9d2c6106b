import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  futimesSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock';
import type { CapturedEntry } from '../entry';
import { DEFAULT_STALE_CLAIM_MS } from '../spool';
import { currentRun } from '../spool/claim';
import { currentUid, errorCode, reasonOf, removeFileSync } from '../spool/files';
import { prepareFolderSync } from '../spool/folder';
import { formatCompactingName, formatJournalName } from './names';
import { checkInteger, journalWarning } from './problems';
import { formatAck, formatHeader, formatRecord, formatSending } from './records';
import type { RecoveredJournal } from './recovery';

/** When a journal forces what it wrote to the disk. */
export type JournalFsync = 'never' | 'turn';

/** How a journal is kept. */
export interface JournalFileOptions {
  /** Told about every problem with the folder or the file; the error's `code` is `EJOURNAL`. */
  warn(error: Error & { code?: string }): void;
  /**
   * `'never'`: each write reaches the system's page cache, which survives the death of the
   * process; `'turn'`: each write is also forced to the disk, which survives a power cut.
   * @default 'never'
   */
  fsync?: JournalFsync;
  /**
   * The largest the journal file may grow, in bytes; entries that would not fit are not
   * journaled (they are still mailed) and counted in `entriesNotJournaled`.
   * @default 16777216 (16 MiB)
   */
  maxJournalBytes?: number;
  /**
   * The age, in ms, at which another run may take a journal over whatever host wrote it; the
   * journal is touched well within it while the run lives.
   * @default 3600000 (1 hour)
   */
  staleClaimMs?: number;
  /** Time and timers. @default systemClock */
  clock?: Clock;
}

/** Counters of a journal since it was opened. */
export interface JournalStats {
  /** Entries appended to the journal. */
  entriesJournaled: number;
  /** Entries not journaled: the journal was full, could not be opened, or was closed. They are still mailed. */
  entriesNotJournaled: number;
  /** Journaled entries not retired yet: what a restart would recover. */
  entriesPending: number;
  /** The size of the journal file, in bytes. */
  fileBytes: number;
  /** Grouped writes to the file. */
  writes: number;
  /** Rewrites of the file that left out retired records. */
  compactions: number;
}

/** The default `maxJournalBytes`, in bytes: 16 MiB. */
export const DEFAULT_MAX_JOURNAL_BYTES = 16 * 1024 * 1024;

// Below this size a rewrite saves too little to be worth it: replacing a file costs about a
// millisecond whatever its size (the old inode is freed when its descriptor closes). Above, the
// file is rewritten once retired records outweigh pending ones, so that a rewrite writes no more
// than what it removes.
const COMPACT_FROM_BYTES = 1024 * 1024;
// Touched this often within `staleClaimMs`, so that an idle journal of a live run never looks abandoned.
const TOUCHES_PER_STALE_PERIOD = 4;
const MIN_TOUCH_INTERVAL_MS = 1000;

// Windows has no O_NOFOLLOW; there exclusive creation still refuses whatever is at the path.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE_APPEND_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW | constants.O_APPEND;

// Captured at load time, so that fake timers a test runner installs later do not stall the writes.
const realQueueMicrotask = globalThis.queueMicrotask;

let instances = 0;

interface Held {
  readonly seq: number;
  readonly bytes: number;
  /** In the file: retiring it takes an ack line. */
  written: boolean;
  retired: boolean;
  /** In a mail on its way to the server. */
  sending: boolean;
}

function writeAllSync(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Forces a folder's entries (a new or renamed file) to the disk; not possible everywhere, so best effort. */
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Windows cannot open a folder; some file systems refuse fsync on one.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A file in the spool folder that holds every entry the transport accepted and has not yet
 * settled (mailed, spooled, dropped, given up), so that a run killed without warning loses
 * nothing it had accepted: the next run recovers the entries (see `recoverJournals`).
 *
 * Entries appended in one synchronous stretch are written with one `write`, in a microtask that
 * runs as soon as that stretch ends and before the event loop goes on to any timer or I/O: the
 * cost of a write is shared by the whole stretch, and an entry is on its way to the disk before
 * anything else can happen. (`setImmediate` would group a whole turn, but leave the entries of
 * one I/O callback unwritten while the others of the turn run; `process.nextTick` would run
 * before the promise callbacks of the stretch, which often log too.) A crash entry is written at
 * once. Every write is synchronous, so that the last ones happen even while the process exits.
 */
export class Journal {
  /** The journal file; undefined when it could not be created. */
  readonly file: string | undefined;
  private readonly dir: string;
  private readonly warn: (error: Error & { code?: string }) => void;
  private readonly fsync: JournalFsync;
  private readonly maxJournalBytes: number;
  private readonly clock: Clock;
  private readonly run = currentRun();
  private readonly instance = ++instances;
  private fd: number | undefined;
  private readonly header: string;
  private headerBytes = 0;
  private fileBytes = 0;
  /** Bytes of the records not retired, written or not. */
  private heldBytes = 0;
  private nextSeq = 1;
  /** Entries not retired, in the order of their sequence numbers; an entry is known by its object. */
  private readonly held = new Map<CapturedEntry, Held>();
  private unwritten: Array<{ held: Held; line: string }> = [];
  private retiredWritten: number[] = [];
  /** Recovered entries this journal could not hold, and the file of an earlier run that still does. */
  private readonly keptInRecovered = new Map<CapturedEntry, { readonly file: string; left: number }>();
  /** Records to mark as in a mail on its way, with the next write. */
  private sendingMarks: number[] = [];
  private flushQueued = false;
  private closed = false;
  private removed = false;
  private touchTimer: TimerHandle | undefined;
  private readonly touchIntervalMs: number;
  private writeFailing = false;
  private full = false;
  private readonly counts = { entriesJournaled: 0, entriesNotJournaled: 0, writes: 0, compactions: 0 };

  constructor(dir: string, options: JournalFileOptions) {
    if (typeof dir !== 'string' || dir.trim() === '') {
      throw new TypeError(`Expected \`spoolDir\` to be a folder path, got \`${String(dir)}\` (${typeof dir})`);
    }
    if (options.fsync !== undefined && options.fsync !== 'never' && options.fsync !== 'turn') {
      throw new TypeError(
        `Expected \`journal.fsync\` to be 'never' or 'turn', got \`${String(options.fsync)}\` (${typeof options.fsync})`,
      );
    }
    this.dir = resolve(dir);
    this.warn = (error) => {
      try {
        options.warn(error);
      } catch {
        // A failing listener must not stop a write, least of all during the exit.
      }
    };
    this.fsync = options.fsync ?? 'never';
    this.maxJournalBytes = checkInteger(
      'journal.maxJournalBytes',
      options.maxJournalBytes,
      DEFAULT_MAX_JOURNAL_BYTES,
      1024,
    );
    const staleClaimMs = checkInteger('staleClaimMs', options.staleClaimMs, DEFAULT_STALE_CLAIM_MS, 0);
    this.touchIntervalMs = Math.max(MIN_TOUCH_INTERVAL_MS, Math.floor(staleClaimMs / TOUCHES_PER_STALE_PERIOD));
    this.clock = options.clock ?? systemClock;
    this.header = formatHeader(this.run, hostname());
    this.file = this.create();
    if (this.file !== undefined) this.scheduleTouch();
  }

  /**
   * Records an accepted entry; it is written when the current synchronous stretch ends, or at
   * once when `urgent`. Returns its sequence number, or undefined when it is not journaled (the
   * journal is full, unavailable or closed; counted). An entry already held keeps its number.
   */
  append(entry: CapturedEntry, urgent = false): number | undefined {
    const known = this.held.get(entry);
    if (known) {
      if (urgent) this.flush();
      return known.seq;
    }
    if (this.fd === undefined) {
      this.counts.entriesNotJournaled++;
      return undefined;
    }
    const seq = this.nextSeq;
    const line = formatRecord(seq, entry);
    const bytes = Buffer.byteLength(line);
    if (this.headerBytes + this.heldBytes + bytes > this.maxJournalBytes) {
      this.refuse();
      return undefined;
    }
    this.full = false;
    this.nextSeq++;
    const held: Held = { seq, bytes, written: false, retired: false, sending: false };
    this.held.set(entry, held);
    this.heldBytes += bytes;
    this.unwritten.push({ held, line });
    this.counts.entriesJournaled++;
    if (urgent) this.flush();
    else this.queueFlush();
    return seq;
  }

  /**
   * The entry reached its outcome (mailed, spooled, dropped, given up, discarded): a restart must
   * not recover it. Entries the journal does not hold are ignored.
   */
  retire(entry: CapturedEntry): void {
    const kept = this.keptInRecovered.get(entry);
    if (kept) {
      this.keptInRecovered.delete(entry);
      if (--kept.left === 0) this.removeRecovered(kept.file);
    }
    const held = this.held.get(entry);
    if (!held) return;
    this.held.delete(entry);
    held.retired = true;
    this.heldBytes -= held.bytes;
    if (held.written) this.retiredWritten.push(held.seq);
    this.queueFlush();
  }

  /**
   * The entries are in a mail about to go to the server: marked at once, so that a run that ends
   * before their retirement is written knows they may have been delivered.
   */
  markSending(entries: Iterable<CapturedEntry>): void {
    for (const entry of entries) {
      const held = this.held.get(entry);
      if (!held || held.sending) continue;
      held.sending = true;
      this.sendingMarks.push(held.seq);
    }
    if (this.sendingMarks.length > 0) this.flush();
  }

  /** Retires every entry of `entries`. */
  retireAll(entries: Iterable<CapturedEntry>): void {
    for (const entry of entries) this.retire(entry);
  }

  /**
   * Writes what is waiting now instead of at the end of the stretch. Never throws: a failed write
   * is reported, cut back out of the file, and tried again with the next one.
   */
  flush(): void {
    this.flushQueued = false;
    if (this.fd === undefined) return;
    try {
      if (this.held.size === 0) {
        this.truncate();
        return;
      }
      const lines: string[] = [];
      for (const { held, line } of this.unwritten) if (!held.retired) lines.push(line);
      if (this.retiredWritten.length > 0) lines.push(formatAck(this.retiredWritten));
      if (this.sendingMarks.length > 0) lines.push(formatSending(this.sendingMarks));
      if (lines.length === 0) {
        this.unwritten = [];
        return;
      }
      const data = Buffer.from(lines.join(''));
      const afterBytes = this.fileBytes + data.length;
      const deadBytes = afterBytes - this.headerBytes - this.heldBytes;
      if (
        afterBytes > this.maxJournalBytes ||
        (afterBytes >= COMPACT_FROM_BYTES && deadBytes > this.headerBytes + this.heldBytes)
      ) {
        this.compact();
        return;
      }
      this.writeBatch(data);
    } catch (error) {
      this.reportWriteFailure(error);
    }
  }

  /**
   * Takes over the entries of an earlier run's journal: journals them here, then removes the old
   * file, so that a crash at any point loses none (it may recover them twice). Returns the
   * entries, to be handed to the outbox; the old file stays when they could not all be journaled.
   */
  adopt(recovered: RecoveredJournal): readonly CapturedEntry[] {
    const outside: CapturedEntry[] = [];
    for (const entry of recovered.entries) if (this.append(entry) === undefined) outside.push(entry);
    this.flush();
    if (outside.length === 0 && this.unwritten.length === 0) {
      this.removeRecovered(recovered.file);
    } else {
      // The old file keeps them until they have their outcome; then it goes too.
      const kept = { file: recovered.file, left: outside.length };
      for (const entry of outside) this.keptInRecovered.set(entry, kept);
    }
    return recovered.entries;
  }

  private removeRecovered(file: string): void {
    try {
      removeFileSync(file);
    } catch (error) {
      this.warn(
        journalWarning(
          `Could not remove the recovered journal ${JSON.stringify(basename(file))} from \`spoolDir\` ${this.dir}; the next start may recover its entries again: ${reasonOf(error)}`,
          error,
        ),
      );
    }
  }

  /**
   * Writes what is waiting and closes the file; removes it when every entry was retired, which is
   * what a clean shutdown leaves. Returns whether the file is gone. Appends after it are not journaled.
   */
  close(): boolean {
    if (this.closed) return this.removed;
    this.flush();
    this.closed = true;
    this.clock.clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined || this.file === undefined) {
      this.removed = true;
      return true;
    }
    try {
      closeSync(fd);
    } catch {
      // Closing cannot lose what was written; the file is judged below as it is.
    }
    if (this.held.size > 0 || this.unwritten.length > 0) return false;
    try {
      removeFileSync(this.file);
      this.removed = true;
      return true;
    } catch (error) {
      this.warn(
        journalWarning(
          `Could not remove the journal ${JSON.stringify(basename(this.file))} from \`spoolDir\` ${this.dir}: ${reasonOf(error)}`,
          error,
        ),
      );
      return false;
    }
  }

  stats(): JournalStats {
    return { ...this.counts, entriesPending: this.held.size, fileBytes: this.fileBytes };
  }

  private create(): string | undefined {
    let file: string | undefined;
    try {
      const verdict = prepareFolderSync(this.dir, currentUid());
      for (const { message } of verdict.concerns) this.warn(journalWarning(`\`spoolDir\` ${this.dir} ${message}`));
      if (verdict.refusal !== undefined) throw new Error(verdict.refusal);
      file = join(this.dir, formatJournalName(this.run, this.instance));
      const header = Buffer.from(this.header);
      const fd = openSync(file, CREATE_APPEND_FLAGS, 0o600);
      try {
        writeAllSync(fd, header);
        if (this.fsync === 'turn') fdatasyncSync(fd);
      } catch (error) {
        closeSync(fd);
        removeFileSync(file);
        throw error;
      }
      if (this.fsync === 'turn') syncFolder(this.dir);
      this.fd = fd;
      this.headerBytes = header.length;
      this.fileBytes = header.length;
      return file;
    } catch (error) {
      const planted = file !== undefined && (errorCode(error) === 'EEXIST' || errorCode(error) === 'ELOOP');
      const why = planted ? `something is already at ${JSON.stringify(file)}` : reasonOf(error);
      this.warn(
        journalWarning(
          `Could not create a journal in \`spoolDir\` ${this.dir}; entries are kept in memory only and a crash loses them: ${why}`,
          error,
        ),
      );
      return undefined;
    }
  }

  private queueFlush(): void {
    if (this.flushQueued || this.fd === undefined) return;
    this.flushQueued = true;
    realQueueMicrotask(() => {
      if (this.flushQueued) this.flush();
    });
  }

  private writeBatch(data: Buffer): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      writeAllSync(fd, data);
      if (this.fsync === 'turn') fdatasyncSync(fd);
    } catch (error) {
      // A partial line would join the next one and take it down with it: cut it back out.
      try {
        ftruncateSync(fd, this.fileBytes);
      } catch {
        // The next write fails the same way, or lands after the damaged line; recovery skips that line.
      }
      throw error;
    }
    this.counts.writes++;
    this.fileBytes += data.length;
    this.markWritten();
  }

  private markWritten(): void {
    for (const { held } of this.unwritten) {
      if (!held.retired) held.written = true;
    }
    this.unwritten = [];
    this.retiredWritten = [];
    this.sendingMarks = [];
    this.writeFailing = false;
  }

  /** Nothing is held: the file goes back to its first line, with no rewrite. */
  private truncate(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.unwritten = [];
    if (this.fileBytes > this.headerBytes) {
      // The retirements are kept until the cut succeeds: should it fail, the next write records them.
      ftruncateSync(fd, this.headerBytes);
      this.fileBytes = this.headerBytes;
      if (this.fsync === 'turn') fdatasyncSync(fd);
    }
    this.retiredWritten = [];
    this.sendingMarks = [];
    this.writeFailing = false;
  }

  /**
   * Writes the held entries to a new file and renames it over the journal, so that the journal is
   * whole at every moment: either the old file with its retirements or the new one without them.
   */
  private compact(): void {
    const file = this.file;
    if (file === undefined || this.fd === undefined) return;
    const temporary = join(this.dir, formatCompactingName(this.run, this.instance, randomBytes(8).toString('hex')));
    const lines = [this.header];
    const sending: number[] = [];
    for (const [entry, held] of this.held) {
      lines.push(formatRecord(held.seq, entry));
      if (held.sending) sending.push(held.seq);
    }
    if (sending.length > 0) lines.push(formatSending(sending));
    const data = Buffer.from(lines.join(''));
    let fd: number | undefined;
    try {
      fd = openSync(temporary, CREATE_APPEND_FLAGS, 0o600);
      writeAllSync(fd, data);
      if (this.fsync === 'turn') fdatasyncSync(fd);
      renameSync(temporary, file);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      try {
        removeFileSync(temporary);
      } catch {
        // Left behind: the next run removes it once this one has ended.
      }
      throw error;
    }
    if (this.fsync === 'turn') syncFolder(this.dir);
    const replaced = this.fd;
    this.fd = fd;
    try {
      closeSync(replaced);
    } catch {
      // The descriptor is released whatever close reports; the journal is the new file now.
    }
    this.counts.compactions++;
    this.counts.writes++;
    this.fileBytes = data.length;
    this.heldBytes = data.length - this.headerBytes;
    this.markWritten();
  }

  private refuse(): void {
    this.counts.entriesNotJournaled++;
    if (this.full) return;
    this.full = true;
    this.warn(
      journalWarning(
        `The journal in \`spoolDir\` ${this.dir} holds \`maxJournalBytes\` (${this.maxJournalBytes}) of entries not yet settled: new entries are kept in memory only, and a crash loses them, until older ones are mailed`,
      ),
    );
  }

  private reportWriteFailure(error: unknown): void {
    if (this.writeFailing) return;
    this.writeFailing = true;
    this.warn(
      journalWarning(
        `Could not write to the journal in \`spoolDir\` ${this.dir}; the entries are kept in memory and written with the next ones: ${reasonOf(error)}`,
        error,
      ),
    );
  }

  private scheduleTouch(): void {
    this.touchTimer = this.clock.setTimeout(() => {
      this.touchTimer = undefined;
      if (this.closed || this.fd === undefined) return;
      try {
        const at = new Date(this.clock.now());
        futimesSync(this.fd, at, at);
      } catch {
        // Only the claim's freshness is lost; a write refreshes it too.
      }
      this.scheduleTouch();
    }, this.touchIntervalMs);
  }
}
