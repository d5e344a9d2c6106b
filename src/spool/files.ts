import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

// Windows has neither flag; there the checks on the opened file still apply.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;
// O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
const READ_FLAGS = constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const READ_CHUNK_BYTES = 64 * 1024;

/** The error code of a failed system call, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The message of anything thrown; fs errors may come from another realm, so not `instanceof Error`. */
export function reasonOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** This process's user id, or undefined where there is none (Windows). */
export function currentUid(): number | undefined {
  return process.getuid?.();
}

/**
 * Creates a new file readable by its owner only and writes `data` to it, then flushes it to the
 * disk. Fails (EEXIST, ELOOP) rather than follow a link or reuse a file planted at `path`.
 */
export function writeNewFileSync(path: string, data: string): void {
  const fd = openSync(path, CREATE_FLAGS, 0o600);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    removeFileSync(path);
    throw error;
  }
  closeSync(fd);
}

/** Renames a file; false when it is gone already, other failures are thrown. */
export function renameIfPresentSync(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Removes a file; false when it is gone already, other failures are thrown. */
export function removeFileSync(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** The outcome of reading a file that may be anything. */
export type FileRead =
  | { readonly kind: 'read'; readonly data: Buffer }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'vanished' };

/** What a file must be before it is read. */
export interface ReadLimits {
  /** Files larger than this are not read. */
  readonly maxBytes: number;
  /** The owner the file must have; undefined where there are no user ids. */
  readonly uid: number | undefined;
  /** Set as the file's modification time once it passed the checks, in ms since the epoch. */
  readonly touchAtMs?: number;
}

function describeType(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Why a file must not be read, judged on the opened file itself; undefined when it may be read. */
function refuseToRead(stats: Stats, limits: ReadLimits): string | undefined {
  if (!stats.isFile()) return `${describeType(stats)}, not a regular file`;
  if (limits.uid !== undefined && stats.uid !== limits.uid) {
    return `owned by uid ${stats.uid}, not by this user (uid ${limits.uid})`;
  }
  if (stats.nlink > 1) return `it has ${stats.nlink} hard links, a spooled mail has one`;
  if (stats.size > limits.maxBytes)
    return `${stats.size} bytes, more than the ${limits.maxBytes} a spooled mail may have`;
  return undefined;
}

/**
 * Reads a file only if it is a regular file of the expected owner and size: opened without
 * following links and without blocking, checked on the descriptor, read with a bound whatever
 * its size said.
 */
export async function readRegularFile(path: string, limits: ReadLimits): Promise<FileRead> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return { kind: 'vanished' };
    if (code === 'ELOOP' || code === 'EMLINK')
      return { kind: 'rejected', reason: 'a symbolic link, not a regular file' };
    if (code === 'ENXIO') return { kind: 'rejected', reason: 'a socket or a device, not a regular file' };
    return { kind: 'rejected', reason: `it could not be opened: ${reasonOf(error)}` };
  }
  try {
    const stats = await handle.stat();
    const refusal = refuseToRead(stats, limits);
    if (refusal !== undefined) return { kind: 'rejected', reason: refusal };
    if (limits.touchAtMs !== undefined) {
      const at = new Date(limits.touchAtMs);
      await handle.utimes(at, at);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let chunkBytes = Math.min(stats.size, limits.maxBytes) + 1;
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkBytes);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limits.maxBytes) {
        return { kind: 'rejected', reason: `more than the ${limits.maxBytes} bytes a spooled mail may have` };
      }
      chunkBytes = READ_CHUNK_BYTES;
    }
    return { kind: 'read', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) };
  } catch (error) {
    return { kind: 'rejected', reason: `it could not be read: ${reasonOf(error)}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
