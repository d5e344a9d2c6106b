// logger.info() with `journal: true` against the same transport without it and against a no-op
// transport with the same format, at default options otherwise, logging in turns of the event
// loop as a server does (TURN calls a turn): the journal writes once per turn. The relay answers
// every mail at once, so entries are retired from the journal as their mails are accepted.
// Also measures the journal's growth on disk per 100,000 entries when nothing is retired (a relay
// that never answers). Prints one JSON line.
// Run with: node --expose-gc -r ts-node/register/transpile-only bench/hot-path-journal.ts
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import { BufferedMailTransport, defaultLineFormat } from '../src';
import { pairedRatio, runAlternatingRounds, type RoundSubject, type SubjectFigures } from './alternating-rounds';
import { loadAverage, NoopTransport, report } from './support';

const CALLS = Number(process.env.WBM_BENCH_JOURNAL_CALLS ?? 20_000);
const ROUNDS = Number(process.env.WBM_BENCH_JOURNAL_ROUNDS ?? 10);
const TURN = 100;
const GROWTH_ENTRIES = 100_000;
const ROUTES = ['/api/orders/:id', '/api/orders', '/api/users/:id/cart', '/health'] as const;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function logRequest(logger: winston.Logger, index: number): void {
  logger.info('request handled', {
    requestId: `r-${(0x10000000 + index).toString(16)}`,
    userId: 1000 + (index % 5000),
    durationMs: index % 250,
    route: ROUTES[index & 3],
  });
}

async function logInTurns(logger: winston.Logger, calls: number, start: number): Promise<void> {
  for (let done = 0; done < calls; done += TURN) {
    for (let index = done; index < Math.min(calls, done + TURN); index++) logRequest(logger, start + index);
    await nextTurn();
  }
}

const answering = { sendMail: () => Promise.resolve({ messageId: 'bench' }) };
const neverAnswering = { sendMail: () => new Promise<{ messageId: string }>(() => undefined) };

function transportSubject(name: string, journal: boolean, relay: 'answering' | 'stalled'): RoundSubject {
  let folder = '';
  let transport: BufferedMailTransport;
  let logger: winston.Logger;
  let index = 0;
  return {
    name,
    prepare() {
      folder = mkdtempSync(join(tmpdir(), 'wbm-bench-journal-'));
      transport = new BufferedMailTransport({
        transporter: relay === 'answering' ? answering : neverAnswering,
        from: 'bench@example.com',
        to: 'ops@example.com',
        closeTimeoutMs: 1,
        ...(journal && { spoolDir: folder, journal: true }),
      });
      logger = winston.createLogger({ transports: [transport] });
    },
    run: (calls) => logInTurns(logger, calls, (index += calls)),
    async finish() {
      await transport.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function noopSubject(): RoundSubject {
  let logger: winston.Logger;
  let index = 0;
  return {
    name: 'no-op transport',
    prepare() {
      logger = winston.createLogger({ transports: [new NoopTransport({ format: defaultLineFormat() })] });
    },
    run: (calls) => logInTurns(logger, calls, (index += calls)),
  };
}

/** Bytes of journal on disk for GROWTH_ENTRIES entries that nothing retires. */
async function journalGrowth(): Promise<number> {
  const folder = mkdtempSync(join(tmpdir(), 'wbm-bench-journal-'));
  try {
    const transport = new BufferedMailTransport({
      transporter: neverAnswering,
      from: 'bench@example.com',
      to: 'ops@example.com',
      spoolDir: folder,
      // Above what 100,000 entries take, so that every one of them is journaled.
      journal: { maxJournalBytes: 256 * 1024 * 1024 },
      closeTimeoutMs: 1,
    });
    const logger = winston.createLogger({ transports: [transport] });
    await logInTurns(logger, GROWTH_ENTRIES, 0);
    const notJournaled = transport.stats().entriesNotJournaled;
    if (notJournaled > 0) throw new Error(`${notJournaled} entries were not journaled`);
    const bytes = readdirSync(folder)
      .filter((name) => name.startsWith('journal.'))
      .reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
    await transport.close();
    return bytes;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const ratio = (a: SubjectFigures, b: SubjectFigures) => Math.round(pairedRatio(a, b).median * 1000) / 1000;
  const compare = async (relay: 'answering' | 'stalled') => {
    const [on, off, noop] = await runAlternatingRounds(
      [transportSubject('journal on', true, relay), transportSubject('journal off', false, relay), noopSubject()],
      { calls: CALLS, rounds: ROUNDS, warmupRounds: 2 },
    );
    if (!on || !off || !noop) throw new Error('no figures');
    return {
      onNs: Math.round(on.median.nsPerCall),
      offNs: Math.round(off.median.nsPerCall),
      noopNs: Math.round(noop.median.nsPerCall),
      onToNoop: ratio(on, noop),
      offToNoop: ratio(off, noop),
      onToOff: ratio(on, off),
    };
  };
  report({
    calls: CALLS,
    rounds: ROUNDS,
    turn: TURN,
    // Entries wait (the relay has not answered the first mail): the logging path alone.
    waiting: await compare('stalled'),
    // Every mail is accepted at once: rendering, and retiring from the journal, happen in the rounds.
    delivered: await compare('answering'),
    growthBytesPer100k: await journalGrowth(),
    load: `${loadBefore} before, ${loadAverage()} after`,
  });
  // The stalled relays hold their sends forever.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
