import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, type SpoolOptions } from '../../src/spool';
import { SPOOL_FORMAT } from '../../src/spool/mail-file';

/** A fresh folder under the system's temporary folder, and what a spool in it reported. */
export interface SpoolFolder {
  readonly dir: string;
  readonly warnings: Array<Error & { code?: string }>;
  /** The messages of `warnings`. */
  messages(): string[];
  /** The codes of `warnings`. */
  codes(): Array<string | undefined>;
  /** A spool of this folder that records its warnings; a new one stands for another run's reader. */
  open(options?: Omit<SpoolOptions, 'warn'>, dir?: string): Spool;
  /** Writes a file as an earlier run would have left it. */
  plant(name: string, mail: Record<string, unknown>): string;
  remove(): void;
}

/** Creates a folder for one test; call `remove()` after it. */
export function createSpoolFolder(): SpoolFolder {
  const dir = mkdtempSync(join(tmpdir(), 'wbm-spool-'));
  const warnings: Array<Error & { code?: string }> = [];
  return {
    dir,
    warnings,
    messages: () => warnings.map((warning) => warning.message),
    codes: () => warnings.map((warning) => warning.code),
    open: (options = {}, at = dir) => new Spool(at, { ...options, warn: (error) => warnings.push(error) }),
    plant(name, mail) {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ format: SPOOL_FORMAT, ...mail }), { mode: 0o600 });
      return file;
    },
    remove() {
      chmodSync(dir, 0o700);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A name for a mail file written at `timeMs` by an earlier run. */
export function mailName(timeMs: number, sequence = 1): string {
  return `${String(timeMs).padStart(13, '0')}-${String(sequence).padStart(6, '0')}-0badc0de.mail.json`;
}
