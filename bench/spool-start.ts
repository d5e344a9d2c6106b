// The start of a run that finds ~240 MB in its spool folder (60 mails of 4 MB): how long the
// event loop stalls and how much resident memory grows while the spool is constructed and the
// first mail is claimed. Prints one JSON line, then removes the folder.
// Run with: node -r ts-node/register/transpile-only bench/spool-start.ts
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../src/spool';

const MAILS = 60;
const MAIL_BYTES = 4 * 1024 * 1024;
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const round = (value: number) => Math.round(value * 10) / 10;

/**
 * Runs `work` while a 1 ms timer samples the event loop; returns the longest gap between two
 * ticks (the stall), the peak resident memory growth, and the time the work took.
 */
async function measure(work: () => Promise<unknown>): Promise<{ maxStallMs: number; rssGrowthMb: number; ms: number }> {
  const rssBefore = rssMb();
  let rssPeak = rssBefore;
  let lastTick = performance.now();
  let maxStallMs = 0;
  const sampler = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - lastTick);
    lastTick = now;
    rssPeak = Math.max(rssPeak, rssMb());
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  // A few more ticks, so that a stall at the very end is sampled too.
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssMb());
  return { maxStallMs: round(maxStallMs), rssGrowthMb: round(rssPeak - rssBefore), ms: round(ms) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wbm-bench-spool-'));
  try {
    const line = `${'x'.repeat(127)}\n`;
    const text = line.repeat(MAIL_BYTES / line.length);
    const writer = new Spool(dir, { warn: (error) => console.error(error.message) });
    for (let index = 0; index < MAILS; index++) writer.write({ subject: `mail ${index}`, text, count: 1 });
    const files = readdirSync(dir);
    const spooledMb = files.reduce((sum, name) => sum + readFileSync(join(dir, name)).length, 0) / 2 ** 20;
    // Give the writer's garbage a chance to go before the baseline.
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Another run's spool, as at the next start.
    const lazy = await measure(async () => {
      const spool = new Spool(dir, { warn: (error) => console.error(error.message) });
      const first = await spool.next();
      if (first?.subject !== 'mail 0') throw new Error(`expected the oldest mail, got ${first?.subject}`);
      spool.release(first);
    });

    // What reading every file at start, synchronously, costs (how the spool used to start).
    const eager = await measure(async () => {
      const mails = readdirSync(dir)
        .sort()
        .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown);
      if (mails.length !== MAILS) throw new Error(`expected ${MAILS} mails, got ${mails.length}`);
      await Promise.resolve();
    });

    console.log(
      JSON.stringify({
        mails: MAILS,
        spooledMb: round(spooledMb),
        firstMailLazy: lazy,
        everythingAtStartSync: eager,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
