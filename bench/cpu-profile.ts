// Reads a V8 CPU profile (`node --cpu-prof`) and tells where the time went during given stretches
// of time, e.g. the event-loop stalls a scenario recorded on the same monotonic clock.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of time, in microseconds of the monotonic clock (`process.hrtime`), as V8's profiles use. */
export interface TimeWindow {
  fromUs: number;
  toUs: number;
}

export interface Weighed {
  name: string;
  ms: number;
}

/** Where the samples inside the windows were spent. */
export interface ProfileSummary {
  sampledMs: number;
  /** Self time by origin: our render, mail or outbox layer, a dependency, V8's collector... */
  byOrigin: Weighed[];
  /** Functions by self time. */
  bySelf: Weighed[];
  /** Functions by time spent in them or in what they called, leaving out the event loop's own frames. */
  byTotal: Weighed[];
}

function originOf(url: string, functionName: string, root: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection (V8)';
  if (functionName === '(program)' || functionName === '(idle)') return functionName;
  if (url === '') return 'native code';
  if (url.startsWith('node:')) return 'Node.js internals';
  const path = relative(root, url.replace(/^file:\/\//, ''));
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dependency) return dependency[1] ?? path;
  const ours = /^src\/([^/]+)\//.exec(path);
  if (ours) return `src/${ours[1] ?? ''}`;
  return path.split('/').slice(0, 2).join('/');
}

function frameOf(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName;
  const path = url.startsWith('node:') ? url : relative(root, url.replace(/^file:\/\//, ''));
  return `${functionName || '(anonymous)'} ${path.replace(/^.*node_modules\//, '')}:${lineNumber + 1}`;
}

const top = (weights: Map<string, number>, count: number, sampledMs: number): Weighed[] =>
  [...weights]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }))
    .filter((entry) => entry.ms >= sampledMs / 100);

/** Summarises the samples of the profile at `path` that fall inside `windows`; `root` shortens file names. */
export function summariseProfile(path: string, windows: readonly TimeWindow[], root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const inside = (at: number) => windows.some((window) => at >= window.fromUs && at <= window.toUs);
  const byOrigin = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const byTotal = new Map<string, number>();
  const add = (weights: Map<string, number>, key: string, ms: number) => weights.set(key, (weights.get(key) ?? 0) + ms);
  let at = profile.startTime;
  let sampledMs = 0;
  profile.samples.forEach((id, index) => {
    const deltaUs = profile.timeDeltas[index] ?? 0;
    at += deltaUs;
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[index + 1] ?? deltaUs) / 1000;
    const node = nodes.get(id);
    if (!node || !inside(at)) return;
    sampledMs += ms;
    add(byOrigin, originOf(node.callFrame.url, node.callFrame.functionName, root), ms);
    add(bySelf, frameOf(node, root), ms);
    const seen = new Set<string>();
    for (let current: ProfileNode | undefined = node; current; current = nodes.get(parents.get(current.id) ?? -1)) {
      const { url, functionName } = current.callFrame;
      if (functionName.startsWith('(') || url.startsWith('node:')) continue;
      const frame = frameOf(current, root);
      if (seen.has(frame)) continue;
      seen.add(frame);
      add(byTotal, frame, ms);
    }
  });
  return {
    sampledMs: Math.round(sampledMs),
    byOrigin: top(byOrigin, 8, sampledMs),
    bySelf: top(bySelf, 8, sampledMs),
    byTotal: top(byTotal, 10, sampledMs),
  };
}
