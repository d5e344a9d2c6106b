import { isJournalName } from '../journal/names';
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DAMAGED_SUFFIX,
  MAIL_SUFFIX,
  REJECTED_SUFFIX,
  currentRun,
  formatClaimName,
  formatTemporaryName,
  isProcessAlive,
  judgeClaim,
  parseSpoolName,
  type LegacyRun,
  type SpoolRun,
} from './claim';
import { inspectFolder, prepareFolderSync, type FolderVerdict } from './folder';
import {
  currentUid,
  errorCode,
  readRegularFile,
  reasonOf,
  removeFileSync,
  renameIfPresentSync,
  writeNewFileSync,
} from './files';
import { SpoolFormatError, parseMail, serializeMail, type SpooledMail } from './mail-file';

/** A spooled mail this process has claimed, so that no other process sends it too. */
export interface ClaimedMail extends SpooledMail {
  /** The claimed file, as `remove()` and `release()` need it. */
  readonly file: string;
}

/** How a spool reports problems and bounds what it reads. */
export interface SpoolOptions {
  /** Told about every problem with the folder or a file in it; the error's `code` is `ESPOOL`. */
  warn(error: Error & { code?: string }): void;
  /**
   * The largest file read back, in bytes; larger ones are set aside unread. Must exceed the
   * largest mail the owner writes.
   * @default 67108864 (64 MiB)
   */
  maxFileBytes?: number;
  /**
   * How long a claim may be held, in ms, before any run may take it over, whatever host made it.
   * @default 3600000 (1 hour)
   */
  staleClaimMs?: number;
  /**
   * The least time between two listings of the folder, in ms, once the last listing found nothing
   * more to send.
   * @default 30000
   */
  relistIntervalMs?: number;
  /** The clock, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/** The default `maxFileBytes`, in bytes: 64 MiB. */
export const DEFAULT_MAX_SPOOL_FILE_BYTES = 64 * 1024 * 1024;
/** The default `staleClaimMs`, in ms: 1 hour. */
export const DEFAULT_STALE_CLAIM_MS = 60 * 60 * 1000;
/** The default `relistIntervalMs`, in ms: 30 s. */
export const DEFAULT_RELIST_INTERVAL_MS = 30 * 1000;

interface Candidate {
  readonly name: string;
  readonly base: string;
  readonly owner?: SpoolRun | LegacyRun;
}

let sequence = 0;

function spoolWarning(message: string, cause?: unknown): Error & { code: string } {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'ESPOOL' });
}

function quote(name: string): string {
  return JSON.stringify(name);
}

function checkOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer of at least ${min}, got \`${String(value)}\` (${typeof value})`,
    );
  }
  return value;
}

/**
 * One file per mail in a folder that may hold anything. Mails are written whole under a random
 * temporary name that is never followed if planted, then renamed into place. They are read back
 * lazily, one per `next()`: claimed by renaming the file to a name that identifies this run, checked
 * on the opened descriptor (regular file, ours, bounded), and rebuilt field by field so that
 * nothing from disk can make the mailer read a path or fetch a URL. Writes are synchronous
 * because the last ones happen while the process exits.
 */
export class Spool {
  private readonly dir: string;
  private readonly warn: (error: Error & { code?: string }) => void;
  private readonly maxFileBytes: number;
  private readonly staleClaimMs: number;
  private readonly relistIntervalMs: number;
  private readonly now: () => number;
  private readonly run = currentRun();
  // Oldest last, so that taking the next one is a pop.
  private candidates: Candidate[] = [];
  private listedAtMs: number | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  // Mails this spool wrote or released are for the next run, not for this one's next().
  private readonly keptForNextRun = new Set<string>();
  // Names reported once and not tried again: a warning per listing would drown the real ones.
  private readonly passedOver = new Set<string>();
  private readonly concernsReported = new Set<string>();
  private writeFailing = false;
  private listFailing = false;

  constructor(dir: string, options: SpoolOptions) {
    if (typeof dir !== 'string' || dir.trim() === '') {
      throw new TypeError(`Expected \`spoolDir\` to be a folder path, got \`${String(dir)}\` (${typeof dir})`);
    }
    this.dir = resolve(dir);
    this.warn = (error) => {
      try {
        options.warn(error);
      } catch {
        // A failing listener must not stop a write during the exit, nor reject next().
      }
    };
    this.maxFileBytes = checkOption('maxFileBytes', options.maxFileBytes, DEFAULT_MAX_SPOOL_FILE_BYTES, 1);
    this.staleClaimMs = checkOption('staleClaimMs', options.staleClaimMs, DEFAULT_STALE_CLAIM_MS, 0);
    this.relistIntervalMs = checkOption('relistIntervalMs', options.relistIntervalMs, DEFAULT_RELIST_INTERVAL_MS, 0);
    this.now = options.now ?? Date.now;
  }

  /**
   * Writes a mail for a later run; returns false, after a warning, when it could not be written.
   * Synchronous, so that it works while the process exits.
   */
  write(mail: SpooledMail): boolean {
    let written: string | undefined;
    try {
      const verdict = prepareFolderSync(this.dir, currentUid());
      this.reportConcerns(verdict);
      if (verdict.refusal !== undefined) throw new Error(verdict.refusal);
      const nowMs = this.now();
      const content = serializeMail(mail, nowMs);
      const contentBytes = Buffer.byteLength(content);
      if (contentBytes > this.maxFileBytes) {
        throw new Error(`the mail takes ${contentBytes} bytes, more than \`maxFileBytes\` (${this.maxFileBytes})`);
      }
      sequence = (sequence + 1) % 1_000_000;
      const time = String(Math.max(0, Math.floor(nowMs))).padStart(13, '0');
      const base = `${time}-${String(sequence).padStart(6, '0')}-${randomBytes(4).toString('hex')}${MAIL_SUFFIX}`;
      const temporary = join(this.dir, formatTemporaryName(base, this.run, randomBytes(16).toString('hex')));
      writeNewFileSync(temporary, content);
      written = temporary;
      renameSync(temporary, join(this.dir, base));
      this.keptForNextRun.add(base);
      this.writeFailing = false;
      return true;
    } catch (error) {
      if (written !== undefined) this.tryRemove(written);
      if (!this.writeFailing) {
        this.warn(
          spoolWarning(`Could not write an undelivered mail to \`spoolDir\` ${this.dir}: ${reasonOf(error)}`, error),
        );
      }
      this.writeFailing = true;
      return false;
    }
  }

  /**
   * Claims and reads the oldest mail left by another run, or resolves undefined when there is
   * none. Files that are not mails of ours are reported and set aside, never read. Never rejects.
   */
  next(): Promise<ClaimedMail | undefined> {
    const result = this.turn.then(() => this.claimNext());
    this.turn = result.catch(() => undefined);
    return result.catch((error: unknown) => {
      this.warn(spoolWarning(`Could not read \`spoolDir\` ${this.dir}: ${reasonOf(error)}`, error));
      return undefined;
    });
  }

  /** The mail was delivered: forget it. A file that is gone already is ignored. */
  remove(mail: ClaimedMail): void {
    try {
      removeFileSync(mail.file);
    } catch (error) {
      this.warn(
        spoolWarning(
          `Could not remove the delivered mail ${quote(basename(mail.file))} from \`spoolDir\` ${this.dir}; the next start may send it again: ${reasonOf(error)}`,
          error,
        ),
      );
    }
  }

  /** The mail was not delivered: leave it for the next start. A file that is gone already is ignored. */
  release(mail: ClaimedMail): void {
    const parsed = parseSpoolName(basename(mail.file));
    if (parsed.kind !== 'claim') return;
    const target = join(dirname(mail.file), parsed.base);
    try {
      if (renameIfPresentSync(mail.file, target)) this.keptForNextRun.add(parsed.base);
    } catch (error) {
      this.warn(
        spoolWarning(
          `Could not put back the undelivered mail ${quote(parsed.base)} in \`spoolDir\` ${this.dir}; it stays claimed until \`staleClaimMs\` passes: ${reasonOf(error)}`,
          error,
        ),
      );
    }
  }

  private async claimNext(): Promise<ClaimedMail | undefined> {
    let listed = false;
    for (;;) {
      const candidate = this.candidates.pop();
      if (candidate) {
        const mail = await this.claim(candidate);
        if (mail) return mail;
        continue;
      }
      const nowMs = this.now();
      if (listed || (this.listedAtMs !== undefined && nowMs - this.listedAtMs < this.relistIntervalMs)) {
        return undefined;
      }
      listed = true;
      this.listedAtMs = nowMs;
      await this.list();
    }
  }

  private async list(): Promise<void> {
    let names: string[];
    try {
      const verdict = await inspectFolder(this.dir, currentUid());
      this.reportConcerns(verdict);
      if (verdict.refusal !== undefined) throw new Error(verdict.refusal);
      names = await readdir(this.dir);
      this.listFailing = false;
    } catch (error) {
      // No folder yet: nothing was spooled.
      if (errorCode(error) !== 'ENOENT' && !this.listFailing) {
        this.warn(spoolWarning(`Could not read \`spoolDir\` ${this.dir}: ${reasonOf(error)}`, error));
      }
      this.listFailing = errorCode(error) !== 'ENOENT';
      return;
    }
    const candidates: Candidate[] = [];
    const temporaries: Candidate[] = [];
    for (const name of names) {
      if (this.passedOver.has(name)) continue;
      const parsed = parseSpoolName(name);
      switch (parsed.kind) {
        case 'mail':
          if (!this.keptForNextRun.has(name)) candidates.push({ name, base: parsed.base });
          break;
        case 'claim':
          candidates.push({ name, base: parsed.base, owner: parsed.owner });
          break;
        case 'temporary':
          temporaries.push({ name, base: parsed.base, owner: parsed.owner });
          break;
        case 'set-aside':
          break;
        case 'foreign':
          // The journal shares the folder and looks after its own files.
          if (!isJournalName(name)) this.passOver(name, 'not a spooled mail; left alone');
          break;
      }
    }
    candidates.sort((a, b) => (a.base < b.base ? 1 : a.base > b.base ? -1 : 0));
    this.candidates = candidates;
    for (const temporary of temporaries) await this.removeIfAbandoned(temporary);
  }

  private passOver(name: string, why: string): void {
    this.passedOver.add(name);
    this.warn(spoolWarning(`Skipped ${quote(name)} in \`spoolDir\` ${this.dir}: ${why}`));
  }

  /** Whether the run that made `candidate` may still use it; undefined when the file is gone. */
  private async judge(candidate: Candidate & { owner: SpoolRun | LegacyRun }) {
    let stats;
    try {
      stats = await lstat(join(this.dir, candidate.name));
    } catch {
      return undefined;
    }
    // A rename keeps the mtime of the write but sets the ctime: the later of the two is when the
    // file was last claimed, and a claimer sets the mtime too where a rename does not.
    const verdict = judgeClaim(candidate.owner, {
      self: this.run,
      claimedAtMs: Math.max(stats.mtimeMs, stats.ctimeMs),
      nowMs: this.now(),
      staleClaimMs: this.staleClaimMs,
      isAlive: isProcessAlive,
    });
    return { verdict, stats };
  }

  private async removeIfAbandoned(temporary: Candidate): Promise<void> {
    if (!temporary.owner) return;
    const judged = await this.judge({ ...temporary, owner: temporary.owner });
    if (judged?.verdict.kind !== 'abandoned') return;
    const { verdict, stats } = judged;
    const uid = currentUid();
    // Only a half-written mail of ours is removed; anything else under such a name may be someone's.
    if (!stats.isFile() || (uid !== undefined && stats.uid !== uid)) {
      this.passOver(temporary.name, 'not a file this user wrote; left alone');
      return;
    }
    try {
      await unlink(join(this.dir, temporary.name));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') this.passOver(temporary.name, `could not remove it: ${reasonOf(error)}`);
      return;
    }
    this.warn(
      spoolWarning(
        `Removed ${quote(temporary.name)} from \`spoolDir\` ${this.dir}: a mail another run was writing when it stopped (${verdict.reason})`,
      ),
    );
  }

  private async claim(candidate: Candidate): Promise<ClaimedMail | undefined> {
    let takeover: string | undefined;
    if (candidate.owner) {
      const verdict = (await this.judge({ ...candidate, owner: candidate.owner }))?.verdict;
      if (verdict?.kind !== 'abandoned') return undefined;
      takeover = verdict.reason;
    }
    const file = join(this.dir, formatClaimName(candidate.base, this.run));
    try {
      await rename(join(this.dir, candidate.name), file);
    } catch (error) {
      // Gone: another process claimed it first.
      if (errorCode(error) !== 'ENOENT')
        this.passOver(candidate.name, `could not claim it: ${reasonOf(error)}; it stays there`);
      return undefined;
    }
    if (takeover !== undefined) {
      this.warn(
        spoolWarning(
          `Took over ${quote(candidate.name)} in \`spoolDir\` ${this.dir}: a claim of another run that ended (${takeover})`,
        ),
      );
    }
    const read = await readRegularFile(file, { maxBytes: this.maxFileBytes, uid: currentUid(), touchAtMs: this.now() });
    if (read.kind === 'vanished') return undefined;
    if (read.kind === 'rejected') {
      this.setAside(file, candidate, REJECTED_SUFFIX, read.reason);
      return undefined;
    }
    try {
      return { ...parseMail(read.data), file };
    } catch (error) {
      if (!(error instanceof SpoolFormatError)) throw error;
      this.setAside(file, candidate, DAMAGED_SUFFIX, `damaged or of an unknown format (${error.message})`);
      return undefined;
    }
  }

  /** Moves a file that is not a mail of ours out of the way, without deleting it: it may be someone's. */
  private setAside(file: string, candidate: Candidate, suffix: string, why: string): void {
    const target = `${candidate.base}${suffix}`;
    let where: string;
    try {
      renameIfPresentSync(file, join(this.dir, target));
      where = `renamed ${quote(target)}`;
    } catch (error) {
      this.passedOver.add(basename(file));
      where = `left as ${quote(basename(file))} (${reasonOf(error)})`;
    }
    this.warn(spoolWarning(`Skipped ${quote(candidate.name)} in \`spoolDir\` ${this.dir}: ${why}; ${where}`));
  }

  private reportConcerns(verdict: FolderVerdict): void {
    for (const { key, message } of verdict.concerns) {
      if (this.concernsReported.has(key)) continue;
      this.concernsReported.add(key);
      this.warn(spoolWarning(`\`spoolDir\` ${this.dir} ${message}`));
    }
  }

  private tryRemove(file: string): void {
    try {
      removeFileSync(file);
    } catch {
      // Left behind: the next run removes it once this one has ended.
    }
  }
}
