import type { CapturedEntry } from '../entry';
import { defaultFingerprint, fingerprintId, MAX_FINGERPRINT_LENGTH } from './fingerprint';
import { NPM_LEVELS, rankLevel } from './severity';

/** How `groupEntries` counts the kinds of a batch and which repeats it collapses. */
export interface GroupingOptions {
  /** The logger's levels: a lower number is more severe. @default winston's npm levels */
  levels?: Readonly<Record<string, number>>;
  /** Names the kind of an entry; it should not throw (a throw counts as the default fingerprint). @default defaultFingerprint */
  fingerprint?: (entry: CapturedEntry) => string;
  /**
   * The least severe level whose repeats may be collapsed; less severe entries are always listed.
   * A level the logger does not know collapses nothing.
   * @default 'warn', or 'warning' for levels that have it and no 'warn'
   */
  collapseFromLevel?: string;
  /**
   * How many entries of a kind, at `collapseFromLevel` or more severe, stay listed before the rest
   * collapse; `Infinity` collapses nothing.
   * @default 10
   */
  keepPerGroup?: number;
}

/** The entries of a kind left out of the line list and stated by one line in their place. */
export interface CollapsedRun {
  /** How many entries the line stands for. */
  readonly count: number;
  /** The index in the batch of the first of them, where the line goes. */
  readonly firstIndex: number;
  /** The indices in the batch of all of them, in order. */
  readonly indices: readonly number[];
  /** Their first and last timestamps as written; undefined when none of them had one. */
  readonly firstTimestamp: string | undefined;
  readonly lastTimestamp: string | undefined;
}

/** The entries of a batch that share a fingerprint. */
export interface EntryGroup {
  /** The fingerprint. */
  readonly key: string;
  /** A short stable name of the fingerprint, 12 hex digits (see `fingerprintId`). */
  readonly id: string;
  /** The most severe level among its entries, the first one on a tie. */
  readonly level: string;
  readonly count: number;
  /** The index in the batch of its first entry. */
  readonly firstIndex: number;
  /** The first and the last timestamp among its entries, as written; undefined when none had one. */
  readonly firstTimestamp: string | undefined;
  readonly lastTimestamp: string | undefined;
  /** Its first entry, shown in full. */
  readonly sample: CapturedEntry;
  /** Whether some of its entries are at `collapseFromLevel` or more severe: a problem, not the record. */
  readonly severe: boolean;
  /** Its entries left out of the line list; undefined when all are listed. */
  readonly collapsed: CollapsedRun | undefined;
}

/** The kinds of a batch and what its line list shows. */
export interface GroupingPlan {
  /** The number of entries grouped. */
  readonly entryCount: number;
  /** The kinds, most severe first, then most frequent, then first seen. */
  readonly groups: readonly EntryGroup[];
  /** Per entry of the batch, whether its line is listed; false when collapsed. */
  readonly listed: readonly boolean[];
  /** The number of entries collapsed, over all kinds. */
  readonly collapsedCount: number;
  /** The kind whose collapse line goes where the entry at that index would have been. */
  readonly collapseLines: ReadonlyMap<number, EntryGroup>;
  /** The number of entries at `collapseFromLevel` or more severe. */
  readonly severeCount: number;
}

/** How many entries of a kind stay listed before the rest collapse, when not told. */
export const DEFAULT_KEEP_PER_GROUP = 10;

// One entry left out would be stated by a line as long as its own: it stays listed.
const MIN_COLLAPSED = 2;

class GroupTally implements EntryGroup {
  count = 0;
  level: string;
  rank: number;
  firstTimestamp: string | undefined;
  lastTimestamp: string | undefined;
  collapsed: { -readonly [K in keyof CollapsedRun]: CollapsedRun[K] } | undefined;
  /** Its entries at the collapse level or more severe, all of them, then those seen so far. */
  severeCount = 0;
  severeSeen = 0;
  #id: string | undefined;

  constructor(
    readonly key: string,
    readonly sample: CapturedEntry,
    readonly firstIndex: number,
    rank: number,
  ) {
    this.level = sample.level;
    this.rank = rank;
  }

  get severe(): boolean {
    return this.severeCount > 0;
  }

  // Hashed on demand: a batch of all different entries has as many kinds as entries.
  get id(): string {
    return (this.#id ??= fingerprintId(this.key));
  }

  add(entry: CapturedEntry, rank: number, severe: boolean): void {
    this.count++;
    if (rank < this.rank) {
      this.rank = rank;
      this.level = entry.level;
    }
    if (entry.timestamp !== undefined) {
      this.firstTimestamp ??= entry.timestamp;
      this.lastTimestamp = entry.timestamp;
    }
    if (severe) this.severeCount++;
  }

  /** Leaves out its entry at `index`, logged at `timestamp`. */
  collapse(index: number, timestamp: string | undefined): void {
    const run = (this.collapsed ??= {
      count: 0,
      firstIndex: index,
      indices: [],
      firstTimestamp: undefined,
      lastTimestamp: undefined,
    });
    run.count++;
    (run.indices as number[]).push(index);
    if (timestamp !== undefined) {
      run.firstTimestamp ??= timestamp;
      run.lastTimestamp = timestamp;
    }
  }
}

// Kinds remembered per batch: beyond, the rest are computed each time.
const MAX_CACHED_KINDS = 1024;

/**
 * The default fingerprint, remembered for each level and message within a batch: a batch usually
 * repeats a few messages many times, and normalising one costs a few microseconds.
 */
function cachedDefaultFingerprint(): (entry: CapturedEntry) => string {
  const byLevel = new Map<string, Map<string, string>>();
  let cached = 0;
  return (entry) => {
    if (entry.stack !== undefined) return defaultFingerprint(entry);
    let byMessage = byLevel.get(entry.level);
    const known = byMessage?.get(entry.message);
    if (known !== undefined) return known;
    const key = defaultFingerprint(entry);
    if (cached < MAX_CACHED_KINDS) {
      if (byMessage === undefined) byLevel.set(entry.level, (byMessage = new Map<string, string>()));
      byMessage.set(entry.message, key);
      cached++;
    }
    return key;
  };
}

function keyOf(entry: CapturedEntry, fingerprint: (entry: CapturedEntry) => string): string {
  try {
    const key: unknown = fingerprint(entry);
    if (typeof key === 'string' && key !== '') return key.slice(0, MAX_FINGERPRINT_LENGTH);
  } catch {
    // Falls back below, like a fingerprint that returned nothing usable.
  }
  return defaultFingerprint(entry);
}

function collapseRankOf(levels: Readonly<Record<string, number>>, collapseFromLevel: string | undefined): number {
  const name =
    collapseFromLevel ?? (!Object.hasOwn(levels, 'warn') && Object.hasOwn(levels, 'warning') ? 'warning' : 'warn');
  return rankLevel(name, levels);
}

function compareGroups(a: GroupTally, b: GroupTally): number {
  if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.count !== b.count) return b.count - a.count;
  return a.firstIndex - b.firstIndex;
}

/**
 * Groups a batch by fingerprint, in steps: it yields after each entry, so that slicing can share
 * the event loop, and returns the plan. See `groupEntries`.
 */
export function* groupEntriesInSteps(
  entries: readonly CapturedEntry[],
  options: GroupingOptions = {},
): Generator<void, GroupingPlan, void> {
  const levels = options.levels ?? NPM_LEVELS;
  const fingerprint = options.fingerprint ?? cachedDefaultFingerprint();
  const keep =
    options.keepPerGroup !== undefined && options.keepPerGroup >= 0
      ? Math.floor(options.keepPerGroup)
      : DEFAULT_KEEP_PER_GROUP;
  const collapseRank = collapseRankOf(levels, options.collapseFromLevel);
  const tallies = new Map<string, GroupTally>();
  const groupOf: GroupTally[] = new Array<GroupTally>(entries.length);
  const severeOf: boolean[] = new Array<boolean>(entries.length);
  let severeCount = 0;

  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const key = keyOf(entry, fingerprint);
    const rank = rankLevel(entry.level, levels);
    // Unknown levels rank last: an entry of one is never severe, and a threshold of one has no entry.
    const severe = rank <= collapseRank && Number.isFinite(collapseRank);
    let tally = tallies.get(key);
    if (tally === undefined) {
      tally = new GroupTally(key, entry, index, rank);
      tallies.set(key, tally);
    }
    tally.add(entry, rank, severe);
    groupOf[index] = tally;
    severeOf[index] = severe;
    if (severe) severeCount++;
    yield;
  }

  const listed: boolean[] = new Array<boolean>(entries.length);
  const collapseLines = new Map<number, EntryGroup>();
  let collapsedCount = 0;
  for (let index = 0; index < entries.length; index++) {
    const tally = groupOf[index]!;
    listed[index] = true;
    if (severeOf[index] !== true || tally.severeCount - keep < MIN_COLLAPSED || ++tally.severeSeen <= keep) continue;
    listed[index] = false;
    collapsedCount++;
    if (tally.collapsed === undefined) collapseLines.set(index, tally);
    tally.collapse(index, entries[index]!.timestamp);
  }

  const groups = Array.from(tallies.values()).sort(compareGroups);
  return { entryCount: entries.length, groups, listed, collapsedCount, collapseLines, severeCount };
}

/**
 * Groups a batch by fingerprint and plans its line list, in O(n): entries at `collapseFromLevel`
 * or more severe beyond the first `keepPerGroup` of their kind are collapsed, stated by one line
 * where the first of them would have been; less severe entries are always listed. A kind with a
 * single entry beyond `keepPerGroup` keeps it listed. Never throws.
 */
export function groupEntries(entries: readonly CapturedEntry[], options: GroupingOptions = {}): GroupingPlan {
  const steps = groupEntriesInSteps(entries, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
