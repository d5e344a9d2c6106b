import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MailAttachment } from './options';

/** A mail kept on disk until it can be delivered, as it was rendered. */
export interface SpooledMail {
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  readonly attachments?: readonly MailAttachment[];
  /** The number of log entries in the mail. */
  readonly count: number;
}

function isAttachment(value: unknown): value is MailAttachment {
  const candidate = value as Partial<MailAttachment> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.filename === 'string' &&
    typeof candidate.content === 'string' &&
    typeof candidate.contentType === 'string'
  );
}

/** A spooled mail this process has claimed, so that no other process sends it too. */
export interface ClaimedMail extends SpooledMail {
  readonly file: string;
}

const FORMAT = 'winston-buffered-mail/spool@1';
const SUFFIX = '.mail.json';
const CLAIMED = /\.mail\.json\.sending-(\d+)$/;
const TEMPORARY = /\.mail\.json\.tmp-(\d+)$/;

let sequence = 0;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(content: string): SpooledMail | undefined {
  try {
    const value = JSON.parse(content) as Record<string, unknown>;
    const { format, subject, text, count, html, attachments } = value;
    if (format !== FORMAT || typeof subject !== 'string' || typeof text !== 'string') return undefined;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return undefined;
    if (html !== undefined && typeof html !== 'string') return undefined;
    if (attachments !== undefined && !(Array.isArray(attachments) && attachments.every(isAttachment))) return undefined;
    return {
      subject,
      text,
      count,
      ...(html !== undefined && { html }),
      ...(attachments !== undefined && { attachments }),
    };
  } catch {
    return undefined;
  }
}

/**
 * One file per mail in a folder. Files are written whole under a temporary name and renamed,
 * so a reader never sees half a mail; a file is claimed by renaming it before it is sent, so
 * that two processes sharing the folder do not both send it. Writes are synchronous because
 * the last ones happen while the process exits.
 */
export class Spool {
  constructor(
    private readonly dir: string,
    private readonly warn: (error: Error) => void,
  ) {}

  /** Writes a mail; returns the file, or undefined (after a warning) when it cannot be written. */
  write(mail: SpooledMail): string | undefined {
    const name = `${Date.now()}-${process.pid}-${String(++sequence).padStart(6, '0')}${SUFFIX}`;
    const file = join(this.dir, name);
    const temporary = `${file}.tmp-${process.pid}`;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(temporary, JSON.stringify({ format: FORMAT, createdAt: new Date().toISOString(), ...mail }), {
        mode: 0o600,
      });
      renameSync(temporary, file);
      return file;
    } catch (error) {
      this.warn(
        new Error(`Could not write the undelivered mail to \`spoolDir\` ${this.dir}: ${(error as Error).message}`),
      );
      return undefined;
    }
  }

  /**
   * Claims and reads every mail waiting in the folder, oldest first, including those claimed by
   * a process that no longer runs. Files that are not mails of ours, or are damaged, are skipped
   * with a warning and left where they are.
   */
  claimAll(): ClaimedMail[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.warn(new Error(`Could not read \`spoolDir\` ${this.dir}: ${(error as Error).message}`));
      }
      return [];
    }
    const claimed: ClaimedMail[] = [];
    for (const name of names) {
      const abandonedClaim = CLAIMED.exec(name);
      const abandonedTemporary = TEMPORARY.exec(name);
      if (abandonedTemporary) {
        if (!isAlive(Number(abandonedTemporary[1]))) this.discard(join(this.dir, name));
        continue;
      }
      if (abandonedClaim && isAlive(Number(abandonedClaim[1]))) continue;
      if (!abandonedClaim && !name.endsWith(SUFFIX)) {
        this.warn(new Error(`Skipped ${name} in \`spoolDir\` ${this.dir}: not a spooled mail`));
        continue;
      }
      const original = abandonedClaim ? name.slice(0, -abandonedClaim[0].length + SUFFIX.length) : name;
      const file = join(this.dir, `${original}.sending-${process.pid}`);
      try {
        renameSync(join(this.dir, name), file);
      } catch {
        continue; // another process claimed it first
      }
      const mail = parse(this.read(file));
      if (!mail) {
        this.warn(new Error(`Skipped ${original} in \`spoolDir\` ${this.dir}: damaged or of an unknown format`));
        this.rename(file, join(this.dir, `${original}.damaged`));
        continue;
      }
      claimed.push({ ...mail, file });
    }
    return claimed;
  }

  /** The mail was delivered: forget it. */
  remove(mail: ClaimedMail): void {
    this.discard(mail.file);
  }

  /** The mail was not delivered: leave it for the next start. */
  release(mail: ClaimedMail): void {
    this.rename(mail.file, mail.file.replace(/\.sending-\d+$/, ''));
  }

  private read(file: string): string {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  }

  private rename(from: string, to: string): void {
    try {
      renameSync(from, to);
    } catch {
      // Gone already: nothing left to do.
    }
  }

  private discard(file: string): void {
    try {
      unlinkSync(file);
    } catch {
      // Gone already.
    }
  }
}
