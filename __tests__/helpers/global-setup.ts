import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_MAIL, keepRecord } from './temp-folder';

/**
 * Gives the run a temporary folder of its own, so that what other programs on the machine put in
 * the system's temporary folder meanwhile is not taken for ours: whatever `wbm-*` entry is in it
 * at the end was left by a test.
 * Test workers and the child processes of tests inherit `TMPDIR`, so `os.tmpdir()` is that folder.
 */
export default function setup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'winston-buffered-mail-tests-'));
  // Searchable by everyone, as the system's temporary folder is: a test runs a child process as
  // another user in a folder inside it.
  chmodSync(dir, 0o755);
  keepRecord({
    dir,
    previousTmpdir: process.env.TMPDIR,
    demoMailBefore: existsSync(DEMO_MAIL),
  });
  process.env.TMPDIR = dir;
}
