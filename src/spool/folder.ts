import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';

/** What was found about the spool folder: a reason to refuse it, and things worth a warning. */
export interface FolderVerdict {
  /** Set when nothing may be written to or read from the folder. */
  readonly refusal?: string;
  /** Warnings about a folder that is still used, keyed so that each is given once. */
  readonly concerns: ReadonlyArray<{ readonly key: string; readonly message: string }>;
}

function formatMode(mode: number): string {
  return `0o${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** Judges the folder from its own entry (`link`, not followed) and what it leads to (`target`). */
export function judgeFolder(link: Stats, target: Stats, uid: number | undefined): FolderVerdict {
  const concerns: Array<{ key: string; message: string }> = [];
  if (link.isSymbolicLink()) {
    concerns.push({
      key: 'symlink',
      message:
        'is a symbolic link; the folder it points to is used, and whoever can change the link chooses where mails go',
    });
  }
  if (!target.isDirectory()) return { refusal: 'it is not a folder', concerns };
  if (uid !== undefined && target.uid !== uid) {
    return {
      refusal: `it is owned by uid ${target.uid}, not by this user (uid ${uid}); a folder another user controls is not used`,
      concerns,
    };
  }
  if ((target.mode & 0o077) !== 0) {
    concerns.push({
      key: 'mode',
      message: `has mode ${formatMode(target.mode)}: other users can see or change spooled mails; make it owner-only (chmod 700)`,
    });
  }
  return { concerns };
}

/** Creates the folder (owner-only) when missing, then judges it. Throws what the system reports. */
export function prepareFolderSync(dir: string, uid: number | undefined): FolderVerdict {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const link = lstatSync(dir);
  return judgeFolder(link, link.isSymbolicLink() ? statSync(dir) : link, uid);
}

/** Judges an existing folder. Throws what the system reports (ENOENT when there is none). */
export async function inspectFolder(dir: string, uid: number | undefined): Promise<FolderVerdict> {
  const link = await lstat(dir);
  return judgeFolder(link, link.isSymbolicLink() ? await stat(dir) : link, uid);
}
