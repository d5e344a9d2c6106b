// How long rendering a full batch holds up the event loop.
// Run: node -r ts-node/register/transpile-only bench/render-stall.ts
import { performance } from 'node:perf_hooks';
import { defaultLineFormat, renderBatch, type LogEntry } from '../src';
import { renderBatchInSlices } from '../src/render';

const LEVEL = Symbol.for('level');
const ENTRIES = 10_000;
const ROUNDS = 3;
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
const NON_ASCII = 'Größe der Bestellung überschritten – 注文のサイズが上限を超えました ✓ '.repeat(60);
function nonAsciiEntries(): LogEntry[] {
  const message = NON_ASCII.slice(0, 2000);
  return Array.from({ length: ENTRIES }, (_, index) => formatted('error', `${index} ${message}`, { index }));
}

/** Runs `work` while a chain of setImmediate callbacks records the longest gap between two of them. */
async function longestGapMs(work: () => Promise<unknown>): Promise<{ longestMs: number; totalMs: number }> {
  let running = true;
  let last = performance.now();
  let longestMs = 0;
  const sample = () => {
    const at = performance.now();
    longestMs = Math.max(longestMs, at - last);
    last = at;
    if (running) setImmediate(sample);
  };
  setImmediate(sample);
  const start = performance.now();
  await work();
  const totalMs = performance.now() - start;
  running = false;
  await new Promise((resolve) => setImmediate(resolve));
  return { longestMs, totalMs };
}

async function main(): Promise<void> {
  const options = { html: true, attachJson: true, hostname: 'web-1' };
  for (const [name, make] of [
    ['typical entries with a little meta', typicalEntries],
    ['entries with 4 KB non-ASCII messages', nonAsciiEntries],
  ] as const) {
    const entries = make();
    const lineBytes = Buffer.byteLength(String(entries[1]?.[Symbol.for('message')]));
    let syncMs = Number.POSITIVE_INFINITY;
    let sliced = { longestMs: Number.POSITIVE_INFINITY, totalMs: Number.POSITIVE_INFINITY };
    let mails = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      mails = renderBatch(entries, options).length;
      syncMs = Math.min(syncMs, performance.now() - start);
      const measured = await longestGapMs(() => renderBatchInSlices(entries, options));
      if (measured.longestMs < sliced.longestMs) sliced = measured;
    }
    console.log(`${ENTRIES} ${name} (${lineBytes} bytes a line), html + attachJson, ${mails} mails:`);
    console.log(`  renderBatch            blocks the event loop for ${syncMs.toFixed(1)} ms`);
    console.log(
      `  renderBatchInSlices    longest stall ${sliced.longestMs.toFixed(1)} ms, done in ${sliced.totalMs.toFixed(1)} ms`,
    );
  }
  console.log(`(best of ${ROUNDS} rounds each)`);
}

void main();
