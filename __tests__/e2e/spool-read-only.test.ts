import { execFile } from 'node:child_process';
import { chmodSync, chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSpoolFolder, mailName, type SpoolFolder } from '../helpers/spool-folder';

const ROOT = join(__dirname, '..', '..');
// Permission bits do not stop root: as root, the run is made as the unprivileged user `nobody`.
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let folder: SpoolFolder;
beforeEach(() => {
  folder = createSpoolFolder();
});
afterEach(() => folder.remove());

test('a folder that can be listed but not changed is reported for the write and for the claim, not skipped silently', async () => {
  const planted = folder.plant(mailName(1), { subject: 'waiting', text: 't', count: 1 });
  if (isRoot) {
    chownSync(folder.dir, NOBODY, NOBODY);
    chownSync(planted, NOBODY, NOBODY);
  }
  chmodSync(folder.dir, 0o500);

  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(ROOT, '__tests__', 'fixtures', 'spool-read-only.ts'), folder.dir],
    {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      ...(isRoot && { uid: NOBODY, gid: NOBODY }),
    },
  );

  expect(JSON.parse(stdout)).toEqual({
    written: false,
    claimed: null,
    warnings: [
      expect.stringMatching(
        new RegExp(`^ESPOOL: Could not write an undelivered mail to \`spoolDir\` ${folder.dir}: EACCES`),
      ),
      expect.stringMatching(
        new RegExp(
          `^ESPOOL: Skipped "${mailName(1)}" in \`spoolDir\` ${folder.dir}: could not claim it: EACCES.*; it stays there$`,
        ),
      ),
    ],
  });
  expect(readdirSync(folder.dir)).toEqual([mailName(1)]);
});
