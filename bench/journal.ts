// The cost of the journal on the logging path, at its defaults and with `fsync: 'turn'`:
// nanoseconds per entry when 100,000 entries are appended in turns of 100 (the write of each turn
// included), the same when each turn also retires the entries of three turns before (as mails
// accepted by the server do), and, for comparison, one write per entry instead of one per turn.
// Then how much the file grows per 100,000 typical entries when none is retired.
// Each figure is the median of five runs. Prints one JSON object per measure, then all of them on
// one line, then removes its folder.
// Run with: node -r ts-node/register/transpile-only bench/journal.ts
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CapturedEntry } from '../src/entry';
import { Journal, type JournalFsync } from '../src/journal';

const ENTRIES = 100_000;
const PER_TURN = 100;
const RETIRED_AFTER_TURNS = 3;
const REPEATS = 5;

function typicalEntry(index: number): CapturedEntry {
  return {
    level: 'info',
    timestamp: new Date(Date.UTC(2030, 0, 1) + index).toISOString(),
    message: `GET /api/orders/${index} 200`,
    metaJson: `{"requestId":"${index.toString(16).padStart(8, '0')}","durationMs":12}`,
    stack: undefined,
    line: undefined,
    crash: false,
  };
}

// Built before the clock starts: the transport builds the entry whether or not it journals it.
const entries = Array.from({ length: ENTRIES }, (_, index) => typicalEntry(index));

interface Run {
  fsync: JournalFsync;
  retire: boolean;
  /** One write per entry instead of one per turn. */
  writeEach: boolean;
}

async function measure(dir: string, run: Run): Promise<{ nsPerEntry: number; fileBytes: number; writes: number }> {
  const journal = new Journal(dir, { fsync: run.fsync, warn: (error) => console.error(error.message) });
  const turns: CapturedEntry[][] = [];
  let elapsedNs = 0n;
  for (let start = 0; start < ENTRIES; start += PER_TURN) {
    const batch = entries.slice(start, start + PER_TURN);
    const began = process.hrtime.bigint();
    for (const entry of batch) {
      journal.append(entry);
      if (run.writeEach) journal.flush();
    }
    turns.push(batch);
    const settled = turns[turns.length - 1 - RETIRED_AFTER_TURNS];
    if (run.retire && settled) journal.retireAll(settled);
    // The turn's write runs here, in the microtask queued by the first append.
    await Promise.resolve();
    elapsedNs += process.hrtime.bigint() - began;
    // The next turn, as the event loop would give it.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { writes } = journal.stats();
  const fileBytes = journal.file === undefined ? 0 : statSync(journal.file).size;
  for (const batch of turns) journal.retireAll(batch);
  journal.close();
  return { nsPerEntry: Number(elapsedNs) / ENTRIES, fileBytes, writes };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wbm-bench-journal-'));
  try {
    // Once to warm up the code paths, not reported.
    await measure(dir, { fsync: 'never', retire: true, writeEach: false });
    const runs: Array<Run & { measure: string }> = [
      { measure: 'append, one write per turn of 100', fsync: 'never', retire: false, writeEach: false },
      { measure: 'append and retire, one write per turn of 100', fsync: 'never', retire: true, writeEach: false },
      { measure: 'append, one write per entry (for comparison)', fsync: 'never', retire: false, writeEach: true },
      { measure: 'append, one write per turn of 100', fsync: 'turn', retire: false, writeEach: false },
      { measure: 'append and retire, one write per turn of 100', fsync: 'turn', retire: true, writeEach: false },
    ];
    const results: Array<{ measure: string; fsync: JournalFsync; nsPerEntry: number }> = [];
    for (const { measure: name, ...run } of runs) {
      const repeats = [];
      for (let repeat = 0; repeat < REPEATS; repeat++) repeats.push(await measure(dir, run));
      repeats.sort((a, b) => a.nsPerEntry - b.nsPerEntry);
      const { nsPerEntry, fileBytes, writes } = repeats[Math.floor(REPEATS / 2)]!;
      const growth = run.retire ? {} : { fileBytesPer100kEntries: fileBytes, bytesPerEntry: fileBytes / ENTRIES };
      console.log(
        JSON.stringify({ measure: name, fsync: run.fsync, nsPerEntry: Math.round(nsPerEntry), writes, ...growth }),
      );
      results.push({ measure: name, fsync: run.fsync, nsPerEntry: Math.round(nsPerEntry) });
    }
    // Last, on one line, for the benchmark's report.
    console.log(JSON.stringify({ results }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
