// How long rendering a full batch holds up the event loop: renderBatch, synchronous, against
// renderEntriesInSlices, measured as the longest gap between two turns of a setImmediate chain.
// The machine's other work shows up as gaps too: compare rounds, and mind the load average.
// Run: node -r ts-node/register/transpile-only bench/render-stall.ts
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { defaultLineFormat, renderBatch, type LogEntry } from '../src';
import { captureEntry, renderEntriesInSlices } from '../src/render';

const LEVEL = Symbol.for('level');
const ENTRIES = 10_000;
const ROUNDS = 5;
const format = defaultLineFormat();

function formatted(level: string, message: string, meta: Record<string, unknown>): LogEntry {
  const info = { level, [LEVEL]: level, message, ...meta };
  return format.transform(info, format.options) as LogEntry;
}

function typicalEntries(): LogEntry[] {
  return Array.from({ length: ENTRIES }, (_, index) =>
    formatted(index % 50 === 0 ? 'warn' : 'info', `GET /api/orders/${index} served in ${index % 97} ms`, {
      requestId: `req-${index.toString(36)}`,
      status: 200,
      user: { id: index % 1000, plan: 'pro' },
    }),
  );
}

// About 4 KB of UTF-8 per message: German, Japanese and symbols.
const NON_ASCII = 'Größe der Bestellung überschritten – 注文のサイズが上限を超えました ✓ '.repeat(50);
function nonAsciiEntries(): LogEntry[] {
  const message = NON_ASCII.slice(0, 2460);
  return Array.from({ length: ENTRIES }, (_, index) => formatted('error', `${index} ${message}`, { index }));
}

/** Runs `work` while a chain of setImmediate callbacks records the gaps between two of them. */
async function measureGaps(work: () => Promise<unknown>): Promise<{ gapsMs: number[]; totalMs: number }> {
  let running = true;
  let last = performance.now();
  const gapsMs: number[] = [];
  const sample = () => {
    const at = performance.now();
    gapsMs.push(at - last);
    last = at;
    if (running) setImmediate(sample);
  };
  setImmediate(sample);
  const start = performance.now();
  await work();
  const totalMs = performance.now() - start;
  running = false;
  await new Promise((resolve) => setImmediate(resolve));
  return { gapsMs, totalMs };
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

function format1(values: readonly number[]): string {
  return values.map((value) => value.toFixed(1)).join(' / ');
}

async function main(): Promise<void> {
  const options = { html: true, attachJson: true, hostname: 'web-1' };
  console.log(
    `load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  for (const [name, make] of [
    ['typical entries with a little meta', typicalEntries],
    ['entries with 4 KB non-ASCII messages', nonAsciiEntries],
  ] as const) {
    const entries = make();
    const lineBytes = Buffer.byteLength(String(entries[1]?.[Symbol.for('message')]));
    const syncMs: number[] = [];
    const longestMs: number[] = [];
    const p99Ms: number[] = [];
    const totalMs: number[] = [];
    let mails = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      mails = renderBatch(entries, options).length;
      syncMs.push(performance.now() - start);
      const measured = await measureGaps(() => renderEntriesInSlices(entries.map(captureEntry), options));
      const sorted = [...measured.gapsMs].sort((a, b) => a - b);
      longestMs.push(sorted[sorted.length - 1] ?? 0);
      p99Ms.push(percentile(sorted, 0.99));
      totalMs.push(measured.totalMs);
    }
    console.log(`${ENTRIES} ${name} (${lineBytes} bytes a line), html + attachJson, ${mails} mails; per round:`);
    console.log(`  renderBatch          blocks the event loop for ${format1(syncMs)} ms`);
    console.log(`  renderEntriesInSlices  longest stall ${format1(longestMs)} ms`);
    console.log(`                       99th percentile ${format1(p99Ms)} ms, done in ${format1(totalMs)} ms`);
  }
}

void main();
