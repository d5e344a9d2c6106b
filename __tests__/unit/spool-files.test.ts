import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegularFile, writeNewFileSync } from '../../src/spool/files';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbm-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeNewFileSync', () => {
  test('does not follow a symbolic link planted at its name: the target keeps its content and mode', () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'precious', { mode: 0o644 });
    symlinkSync(target, join(dir, 'new'));
    expect(() => writeNewFileSync(join(dir, 'new'), 'mail')).toThrow(/^EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(lstatSync(join(dir, 'new')).isSymbolicLink()).toBe(true);
  });

  test('does not reuse a file planted at its name', () => {
    writeFileSync(join(dir, 'new'), 'planted', { mode: 0o666 });
    expect(() => writeNewFileSync(join(dir, 'new'), 'mail')).toThrow(/^EEXIST/);
    expect(readFileSync(join(dir, 'new'), 'utf8')).toBe('planted');
  });

  test('creates the file readable by its owner only, whatever the umask', () => {
    const previousUmask = process.umask(0);
    try {
      writeNewFileSync(join(dir, 'new'), 'mail');
    } finally {
      process.umask(previousUmask);
    }
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'new'), 'utf8')).toBe('mail');
    expect(readdirSync(dir)).toEqual(['new']);
  });
});

describe('readRegularFile', () => {
  const limits = { maxBytes: 10, uid: process.getuid?.() };

  test('reads a small regular file of ours whole', async () => {
    writeFileSync(join(dir, 'f'), '0123456789');
    const read = await readRegularFile(join(dir, 'f'), limits);
    expect(read).toEqual({ kind: 'read', data: Buffer.from('0123456789') });
  });

  test('reports a file that is gone as vanished', async () => {
    await expect(readRegularFile(join(dir, 'missing'), limits)).resolves.toEqual({ kind: 'vanished' });
  });

  test('does not read a device reached through a link', async () => {
    symlinkSync('/dev/zero', join(dir, 'zero'));
    await expect(readRegularFile(join(dir, 'zero'), limits)).resolves.toEqual({
      kind: 'rejected',
      reason: 'a symbolic link, not a regular file',
    });
  });

  test('sets the modification time once the file passed the checks', async () => {
    writeFileSync(join(dir, 'f'), 'x');
    const touchAtMs = Date.UTC(2030, 0, 1);
    await readRegularFile(join(dir, 'f'), { ...limits, touchAtMs });
    expect(statSync(join(dir, 'f')).mtimeMs).toBe(touchAtMs);
  });
});
