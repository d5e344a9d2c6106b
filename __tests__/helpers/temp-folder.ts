import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The project's root folder, where the CLI demo would write `demo-mail/`. */
export const ROOT = join(__dirname, '..', '..');

/** What the run started with, kept from the global setup to the global teardown. */
export interface TempFolderRecord {
  /** The temporary folder the run uses, its own (`TMPDIR` for the run and its child processes). */
  dir: string;
  /** `TMPDIR` before the run. */
  previousTmpdir: string | undefined;
  /** Whether `demo-mail/` existed in the project root when the run started. */
  demoMailBefore: boolean;
}

const KEY = Symbol.for('winston-buffered-mail.temp-folder-record');

export function keepRecord(record: TempFolderRecord): void {
  (globalThis as Record<symbol, unknown>)[KEY] = record;
}

export function takeRecord(): TempFolderRecord {
  const record = (globalThis as Record<symbol, unknown>)[KEY] as TempFolderRecord | undefined;
  if (!record) throw new Error('The global setup did not run: no record of the temporary folder');
  return record;
}

/** The entries of a folder, none if it is gone. */
export function entriesOf(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export const DEMO_MAIL = join(ROOT, 'demo-mail');

/** How the names of the folders and files tests create in the temporary folder begin. */
export const TEST_PREFIX = 'wbm-';
