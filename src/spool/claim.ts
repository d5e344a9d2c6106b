import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';

/** Who wrote or claimed a spool file: enough to tell whether that run may still be using it. */
export interface SpoolRun {
  /** A hash of the host name, safe in a file name. */
  readonly host: string;
  readonly pid: number;
  /** The worker thread, 0 for the main thread. */
  readonly threadId: number;
  /** Random, different for every run even when the pid repeats (pid 1 in containers). */
  readonly runId: string;
  /** When the run started, in ms since the epoch. */
  readonly startedAtMs: number;
}

/** A claim or temporary file name written before runs were named: only a pid. */
export interface LegacyRun {
  readonly pid: number;
}

/** What a spool file name says about the file. */
export type SpoolName =
  | { readonly kind: 'mail'; readonly base: string }
  | { readonly kind: 'claim'; readonly base: string; readonly owner: SpoolRun | LegacyRun }
  | { readonly kind: 'temporary'; readonly base: string; readonly owner: SpoolRun | LegacyRun }
  | { readonly kind: 'set-aside' }
  | { readonly kind: 'foreign' };

/** Whether a claim or temporary file is still in use, and if not, why. */
export type ClaimVerdict =
  { readonly kind: 'own' } | { readonly kind: 'live' } | { readonly kind: 'abandoned'; readonly reason: string };

/** How the name of a mail waiting to be sent ends. */
export const MAIL_SUFFIX = '.mail.json';
/** Added to the name of a file that was read but is not a mail of ours. */
export const DAMAGED_SUFFIX = '.damaged';
/** Added to the name of a file that was not read: not a regular file of ours, or too large. */
export const REJECTED_SUFFIX = '.rejected';

const RUN_FIELDS = String.raw`([A-Za-z0-9_-]{16})\.(\d{1,10})\.(\d{1,10})\.([0-9a-f]{16})\.(\d{1,16})`;
const CLAIM = new RegExp(String.raw`^(.+\.mail\.json)\.sending\.${RUN_FIELDS}$`);
const TEMPORARY = new RegExp(String.raw`^(.+\.mail\.json)\.tmp\.${RUN_FIELDS}\.[0-9a-f]{32}$`);
const LEGACY_CLAIM = /^(.+\.mail\.json)\.sending-(\d{1,10})$/;
const LEGACY_TEMPORARY = /^(.+\.mail\.json)\.tmp-(\d{1,10})$/;
// Larger than any pid Linux hands out (4194304); 0 and negative pids would address process groups.
const MAX_PID = 2 ** 31 - 1;

let current: SpoolRun | undefined;

/** This run: one identity per process and thread, so that every spool of the run shares it. */
export function currentRun(): SpoolRun {
  current ??= {
    host: encodeHost(hostname()),
    pid: process.pid,
    threadId,
    runId: randomBytes(8).toString('hex'),
    startedAtMs: Math.round(performance.timeOrigin),
  };
  return current;
}

/** A host name as 16 file-name-safe characters. */
export function encodeHost(name: string): string {
  return createHash('sha256').update(name).digest('base64url').slice(0, 16);
}

function runSuffix(run: SpoolRun): string {
  return `${run.host}.${run.pid}.${run.threadId}.${run.runId}.${run.startedAtMs}`;
}

/** The name a mail file gets while `run` sends it. */
export function formatClaimName(base: string, run: SpoolRun): string {
  return `${base}.sending.${runSuffix(run)}`;
}

/** The name a mail file is written under before it is renamed into place; `random` is 32 hex digits. */
export function formatTemporaryName(base: string, run: SpoolRun, random: string): string {
  return `${base}.tmp.${runSuffix(run)}.${random}`;
}

function parseRun(match: RegExpExecArray): SpoolRun | undefined {
  const [, , host, pid, thread, runId, startedAtMs] = match;
  if (host === undefined || runId === undefined) return undefined;
  const run = { host, pid: Number(pid), threadId: Number(thread), runId, startedAtMs: Number(startedAtMs) };
  return run.pid >= 1 && run.pid <= MAX_PID ? run : undefined;
}

function parseLegacyRun(match: RegExpExecArray): LegacyRun | undefined {
  const pid = Number(match[2]);
  return pid >= 1 && pid <= MAX_PID ? { pid } : undefined;
}

/** Reads what a file name in the spool folder stands for. */
export function parseSpoolName(name: string): SpoolName {
  if (name.endsWith(DAMAGED_SUFFIX) || name.endsWith(REJECTED_SUFFIX)) return { kind: 'set-aside' };
  for (const [pattern, kind, parse] of [
    [CLAIM, 'claim', parseRun],
    [TEMPORARY, 'temporary', parseRun],
    [LEGACY_CLAIM, 'claim', parseLegacyRun],
    [LEGACY_TEMPORARY, 'temporary', parseLegacyRun],
  ] as const) {
    const match = pattern.exec(name);
    if (!match) continue;
    const owner = parse(match);
    return owner && match[1] !== undefined ? { kind, base: match[1], owner } : { kind: 'foreign' };
  }
  return name.endsWith(MAIL_SUFFIX) && name.length > MAIL_SUFFIX.length
    ? { kind: 'mail', base: name }
    : { kind: 'foreign' };
}

/** Whether a process with this pid runs on this host (a process of another user counts). */
export function isProcessAlive(pid: number): boolean {
  if (!(Number.isSafeInteger(pid) && pid >= 1 && pid <= MAX_PID)) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** What the judge needs besides the owner: the claim's age and a way to ask about pids. */
export interface ClaimContext {
  readonly self: SpoolRun;
  /** When the file was last claimed or written, in ms since the epoch. */
  readonly claimedAtMs: number;
  readonly nowMs: number;
  readonly staleClaimMs: number;
  readonly isAlive: (pid: number) => boolean;
}

/**
 * Decides whether a claim (or a temporary file) belongs to a run that may still use it. Another
 * run on this host with our pid and thread is an earlier incarnation (a container restarted as
 * pid 1); another thread of our pid may be a live sibling, so only age settles that case.
 */
export function judgeClaim(owner: SpoolRun | LegacyRun, context: ClaimContext): ClaimVerdict {
  const { self } = context;
  if (!('runId' in owner)) {
    if (owner.pid === self.pid) return { kind: 'abandoned', reason: `pid ${owner.pid} is this process, started again` };
    if (context.nowMs - context.claimedAtMs > context.staleClaimMs) return staleVerdict(context);
    if (context.isAlive(owner.pid)) return { kind: 'live' };
    return { kind: 'abandoned', reason: `pid ${owner.pid} no longer runs` };
  }
  const sameHost = owner.host === self.host;
  if (sameHost && owner.pid === self.pid && owner.threadId === self.threadId && owner.runId === self.runId) {
    return { kind: 'own' };
  }
  if (context.nowMs - context.claimedAtMs > context.staleClaimMs) return staleVerdict(context);
  if (!sameHost) return { kind: 'live' };
  if (owner.pid === self.pid) {
    return owner.threadId === self.threadId
      ? { kind: 'abandoned', reason: `pid ${owner.pid} is this process, started again` }
      : { kind: 'live' };
  }
  if (context.isAlive(owner.pid)) return { kind: 'live' };
  return { kind: 'abandoned', reason: `pid ${owner.pid} no longer runs on this host` };
}

function staleVerdict(context: ClaimContext): ClaimVerdict {
  const ageMs = Math.round(context.nowMs - context.claimedAtMs);
  return {
    kind: 'abandoned',
    reason: `it was claimed ${ageMs} ms ago, more than \`staleClaimMs\` (${context.staleClaimMs} ms)`,
  };
}
