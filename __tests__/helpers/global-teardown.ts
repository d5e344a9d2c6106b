import { existsSync, rmSync } from 'node:fs';
import { DEMO_MAIL, entriesOf, takeRecord, TEST_PREFIX } from './temp-folder';

/**
 * Fails the run when a test left one of its `wbm-*` folders or files in the temporary folder, or
 * left `demo-mail/` behind. Caches that libraries keep there (v8-compile-cache...) are not ours.
 */
export default function teardown(): void {
  const { dir, previousTmpdir, demoMailBefore } = takeRecord();
  const left = entriesOf(dir).filter((name) => name.startsWith(TEST_PREFIX));
  const demoMailLeft = !demoMailBefore && existsSync(DEMO_MAIL);
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  // Removed either way, so that a failed run leaves nothing behind either; the error names what was left.
  rmSync(dir, { recursive: true, force: true });
  if (demoMailLeft) rmSync(DEMO_MAIL, { recursive: true, force: true });
  const leftovers = [...left.map((name) => `${dir}/${name}`), ...(demoMailLeft ? [DEMO_MAIL] : [])];
  if (leftovers.length > 0) {
    throw new Error(
      `Tests left ${leftovers.length} file(s) or folder(s) behind; each test must remove what it creates:\n  ${leftovers.join('\n  ')}`,
    );
  }
}
