import type { SpoolRun } from '../spool/claim';

/** What a journal file name says about the file. */
export type JournalName =
  | { readonly kind: 'journal'; readonly owner: SpoolRun; readonly instance: number }
  | {
      readonly kind: 'recovering';
      readonly owner: SpoolRun;
      readonly instance: number;
      /** The run that took the journal over to hand its entries on. */
      readonly claimer: SpoolRun;
    }
  | { readonly kind: 'compacting'; readonly owner: SpoolRun; readonly instance: number };

const PREFIX = 'journal.';
const SUFFIX = '.ndjson';
// The fields of a spool claim (src/spool/claim.ts), in the same order and syntax, so that a name
// reads the same whichever of the two wrote it.
const RUN = String.raw`([A-Za-z0-9_-]{16})\.(\d{1,10})\.(\d{1,10})\.([0-9a-f]{16})\.(\d{1,16})`;
const INSTANCE = String.raw`(\d{1,10})`;
const JOURNAL = new RegExp(String.raw`^journal\.${RUN}\.${INSTANCE}\.ndjson$`);
const RECOVERING = new RegExp(String.raw`^journal\.${RUN}\.${INSTANCE}\.recovering\.${RUN}\.ndjson$`);
const COMPACTING = new RegExp(String.raw`^journal\.${RUN}\.${INSTANCE}\.compacting\.[0-9a-f]{16}\.ndjson$`);
// 0 and negative pids would address process groups.
const MAX_PID = 2 ** 31 - 1;

function formatRun(run: SpoolRun): string {
  return `${run.host}.${run.pid}.${run.threadId}.${run.runId}.${run.startedAtMs}`;
}

function readRun(fields: ReadonlyArray<string | undefined>): SpoolRun | undefined {
  const [host, pid, thread, runId, startedAtMs] = fields;
  if (host === undefined || runId === undefined) return undefined;
  const run = { host, pid: Number(pid), threadId: Number(thread), runId, startedAtMs: Number(startedAtMs) };
  return run.pid >= 1 && run.pid <= MAX_PID && Number.isSafeInteger(run.startedAtMs) ? run : undefined;
}

/** The name of the journal `run` writes; `instance` tells apart the journals of one run. */
export function formatJournalName(run: SpoolRun, instance: number): string {
  return `${PREFIX}${formatRun(run)}.${instance}${SUFFIX}`;
}

/** The name a journal gets while `claimer` hands its entries on. */
export function formatRecoveringName(owner: SpoolRun, instance: number, claimer: SpoolRun): string {
  return `${PREFIX}${formatRun(owner)}.${instance}.recovering.${formatRun(claimer)}${SUFFIX}`;
}

/** The name a journal is rewritten under before it replaces the journal; `random` is 16 hex digits. */
export function formatCompactingName(run: SpoolRun, instance: number, random: string): string {
  return `${PREFIX}${formatRun(run)}.${instance}.compacting.${random}${SUFFIX}`;
}

/** Reads a file name of the journal's; undefined for any other name. */
export function parseJournalName(name: string): JournalName | undefined {
  if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) return undefined;
  let match = JOURNAL.exec(name);
  if (match) {
    const owner = readRun(match.slice(1, 6));
    return owner && { kind: 'journal', owner, instance: Number(match[6]) };
  }
  match = RECOVERING.exec(name);
  if (match) {
    const owner = readRun(match.slice(1, 6));
    const claimer = readRun(match.slice(7, 12));
    return owner && claimer && { kind: 'recovering', owner, instance: Number(match[6]), claimer };
  }
  match = COMPACTING.exec(name);
  if (match) {
    const owner = readRun(match.slice(1, 6));
    return owner && { kind: 'compacting', owner, instance: Number(match[6]) };
  }
  return undefined;
}

/** Whether a file in the spool folder is one of the journal's, so that the spool leaves it alone. */
export function isJournalName(name: string): boolean {
  return parseJournalName(name) !== undefined;
}
