// Times a synchronous loop of calls under several setups, in rounds that alternate between them
// in one process, so that a slow phase of a shared machine hits every setup alike. Each round is
// prepared untimed (a buffer filled, say) and records what the garbage collector did inside it:
// scavenges, major collections, and how much the old generation grew (what survived the young
// one: the promoted bytes, less what a major collection freed meanwhile). With `--expose-gc`, a
// round starts after a full collection, and ends, still timed, with two scavenges: what its last
// calls kept would otherwise be copied into the old generation by the next round's collections
// or the untimed full one, and a round must pay for all of its own copying, as a steady stream of
// calls does.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { TimeWindow } from './cpu-profile';

/** One setup to time. */
export interface RoundSubject {
  readonly name: string;
  /** Untimed, before each round: e.g. fills a buffer. */
  prepare?(): void | Promise<void>;
  /**
   * The timed work: `calls` calls, synchronously; or in turns of the event loop, when what is
   * measured does part of its work between turns (a journal writes once per turn).
   */
  run(calls: number): void | Promise<void>;
  /** Untimed, after each round: lets go of what the round kept. */
  finish?(): void | Promise<void>;
}

/** What one round of one subject cost. */
export interface RoundFigures {
  nsPerCall: number;
  /**
   * CPU time of the process per call (every thread, the collector's helpers included), which a
   * process of somebody else running on the same cores does not inflate as it does the wall time.
   */
  cpuNsPerCall: number;
  /** Scavenges (young-generation collections) inside the round, and the time they took. */
  scavenges: number;
  scavengeMs: number;
  /** Major collections and incremental marking steps inside the round, and the time they took. */
  majorGcs: number;
  majorGcMs: number;
  /** Growth of every space but the young generation during the round, in MiB. */
  oldGrowthMb: number;
  /** Share of the round's time spent in collections, from 0 to 1. */
  gcShare: number;
}

/** A subject's rounds and their medians. */
export interface SubjectFigures {
  name: string;
  rounds: RoundFigures[];
  /** The timed stretches, in microseconds of the monotonic clock, as V8's CPU profiles count. */
  windowsUs: TimeWindow[];
  /** The same stretches in milliseconds of `performance.now()`, as `node --trace-gc` counts from the start. */
  windowsMs: Array<{ fromMs: number; toMs: number }>;
  median: RoundFigures;
}

/** One subject compared with the reference round by round: the median ratio and its spread. */
export interface PairedRatio {
  name: string;
  median: number;
  /** The quartiles of the per-round ratios. */
  p25: number;
  p75: number;
  min: number;
  max: number;
}

export interface RoundsOptions {
  /** Calls per timed round. */
  calls: number;
  /** Timed rounds of each subject. */
  rounds: number;
  /** Rounds of each subject run first and thrown away, so that the code is optimised. */
  warmupRounds: number;
}

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
const MiB = 2 ** 20;
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

/** Whether a full collection runs before each round (`node --expose-gc`). */
export const collectsBetweenRounds = gc !== undefined;

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function quantile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

function oldGenerationBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) if (!YOUNG_SPACES.has(space.space_name)) bytes += space.space_used_size;
  return bytes;
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

interface Window extends TimeWindow {
  fromMs: number;
  toMs: number;
  nsPerCall: number;
  cpuNsPerCall: number;
  oldGrowthMb: number;
}

function figuresOf(window: Window, events: readonly PerformanceEntry[]): RoundFigures {
  const inside = events.filter((event) => event.startTime >= window.fromMs && event.startTime <= window.toMs);
  const ofKind = (...kinds: number[]) =>
    inside.filter((event) =>
      kinds.includes((event as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0),
    );
  const sum = (list: PerformanceEntry[]) => list.reduce((total, event) => total + event.duration, 0);
  const scavenges = ofKind(constants.NODE_PERFORMANCE_GC_MINOR);
  const majors = ofKind(constants.NODE_PERFORMANCE_GC_MAJOR, constants.NODE_PERFORMANCE_GC_INCREMENTAL);
  const scavengeMs = sum(scavenges);
  const majorGcMs = sum(majors);
  return {
    nsPerCall: window.nsPerCall,
    cpuNsPerCall: window.cpuNsPerCall,
    scavenges: scavenges.length,
    scavengeMs,
    majorGcs: majors.length,
    majorGcMs,
    oldGrowthMb: window.oldGrowthMb,
    gcShare: (scavengeMs + majorGcMs) / (window.toMs - window.fromMs),
  };
}

function medianFigures(rounds: readonly RoundFigures[]): RoundFigures {
  const of = (key: keyof RoundFigures) => median(rounds.map((round) => round[key]));
  return {
    nsPerCall: of('nsPerCall'),
    cpuNsPerCall: of('cpuNsPerCall'),
    scavenges: of('scavenges'),
    scavengeMs: of('scavengeMs'),
    majorGcs: of('majorGcs'),
    majorGcMs: of('majorGcMs'),
    oldGrowthMb: of('oldGrowthMb'),
    gcShare: of('gcShare'),
  };
}

/**
 * Runs `options.rounds` timed rounds of every subject, after the warm-up rounds. The order of the
 * subjects is reversed every other round, so that neither always runs right after the other.
 */
export async function runAlternatingRounds(
  subjects: readonly RoundSubject[],
  options: RoundsOptions,
): Promise<SubjectFigures[]> {
  const events: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => events.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const windows = subjects.map((): Window[] => []);
  try {
    for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
      const order = subjects.map((subject, index) => ({ subject, index }));
      if (round % 2 === 1) order.reverse();
      for (const { subject, index } of order) {
        await subject.prepare?.();
        gc?.();
        await turn();
        const oldBefore = oldGenerationBytes();
        const cpuBefore = process.cpuUsage();
        const fromUs = process.hrtime.bigint() / 1000n;
        const fromMs = performance.now();
        await subject.run(options.calls);
        gc?.({ type: 'minor' });
        gc?.({ type: 'minor' });
        const toMs = performance.now();
        const toUs = process.hrtime.bigint() / 1000n;
        const cpu = process.cpuUsage(cpuBefore);
        const oldGrowthMb = (oldGenerationBytes() - oldBefore) / MiB;
        await subject.finish?.();
        if (round >= options.warmupRounds) {
          windows[index]?.push({
            fromUs: Number(fromUs),
            toUs: Number(toUs),
            fromMs,
            toMs,
            nsPerCall: ((toMs - fromMs) * 1e6) / options.calls,
            cpuNsPerCall: ((cpu.user + cpu.system) * 1e3) / options.calls,
            oldGrowthMb,
          });
        }
      }
    }
    // The observer is told of collections on a later turn.
    await turn();
  } finally {
    observer.disconnect();
  }
  return subjects.map((subject, index) => {
    const rounds = (windows[index] ?? []).map((window) => figuresOf(window, events));
    const windowsUs = (windows[index] ?? []).map(({ fromUs, toUs }) => ({ fromUs, toUs }));
    const windowsMs = (windows[index] ?? []).map(({ fromMs, toMs }) => ({ fromMs, toMs }));
    return { name: subject.name, rounds, windowsUs, windowsMs, median: medianFigures(rounds) };
  });
}

/**
 * A subject's cost relative to `reference`, compared round by round (the rounds alternate), in
 * wall time or, with `measure: 'cpuNsPerCall'`, in CPU time.
 */
export function pairedRatio(
  subject: SubjectFigures,
  reference: SubjectFigures,
  measure: 'nsPerCall' | 'cpuNsPerCall' = 'nsPerCall',
): PairedRatio {
  const ratios = subject.rounds.map(
    (round, index) => round[measure] / (reference.rounds[index]?.[measure] ?? Number.NaN),
  );
  return {
    name: subject.name,
    median: median(ratios),
    p25: quantile(ratios, 0.25),
    p75: quantile(ratios, 0.75),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  };
}
