// logger.info() while tens of thousands of entries wait, against a no-op transport with the same
// format. The transport has every option at its default; its relay took the first mail and has
// not answered yet (a tarpit, a relay stuck on a slow disk, a lost answer before the socket
// timeout), so every later batch waits behind it in the queue, as it would at defaults, up to
// `maxBufferedBytes`. Each round of ours starts with a fresh transport holding PREFILL entries
// (logged untimed, then a full collection), so the buffer holds PREFILL to PREFILL + CALLS
// entries during the timed calls, and nothing is sent meanwhile; after the round the relay
// answers and close() delivers the lot, untimed. Entries carry a little meta, as a request log does.
// Prints one JSON line.
// Run with: node --expose-gc -r ts-node/register/transpile-only bench/hot-path-full-buffer.ts
import winston from 'winston';
import { BufferedMailTransport, defaultLineFormat } from '../src';
import {
  collectsBetweenRounds,
  pairedRatio,
  runAlternatingRounds,
  type PairedRatio,
  type RoundSubject,
  type SubjectFigures,
} from './alternating-rounds';
import { loadAverage, NoopTransport, report } from './support';

const PREFILL = Number(process.env.WBM_BENCH_FULL_PREFILL ?? 50_000);
const CALLS = Number(process.env.WBM_BENCH_FULL_CALLS ?? 20_000);
const ROUNDS = Number(process.env.WBM_BENCH_FULL_ROUNDS ?? 12);
const WARMUP_ROUNDS = 2;
const ROUTES = ['/api/orders/:id', '/api/orders', '/api/users/:id/cart', '/health'] as const;

/** One request log entry; `index` varies the fields as requests do. */
function logRequest(logger: winston.Logger, index: number): void {
  logger.info('request handled', {
    requestId: `r-${(0x10000000 + index).toString(16)}`,
    userId: 1000 + (index % 5000),
    durationMs: index % 250,
    route: ROUTES[index & 3],
  });
}

/** A relay that takes every mail and answers none until `answer()`: the first mail holds up the rest. */
function stalledRelay() {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let mailsTaken = 0;
  let mailsAnswered = 0;
  return {
    transporter: {
      async sendMail() {
        mailsTaken++;
        await answered;
        mailsAnswered++;
        return { messageId: 'bench' };
      },
    },
    answer,
    get mailsTaken() {
      return mailsTaken;
    },
    get mailsAnswered() {
      return mailsAnswered;
    },
  };
}

interface Held {
  /** Entries pending when the timed calls began, and when they ended. */
  before: number;
  after: number;
  bytesAfter: number;
  mailsAnsweredDuringRound: number;
  dropped: number;
}

function ourSubject(): RoundSubject & { held: Held[]; warnings: Set<string> } {
  const held: Held[] = [];
  const warnings = new Set<string>();
  let current: { transport: BufferedMailTransport; logger: winston.Logger; relay: ReturnType<typeof stalledRelay> };
  let before = 0;
  let index = 0;
  return {
    name: 'BufferedMailTransport',
    held,
    warnings,
    prepare() {
      const relay = stalledRelay();
      const transport = new BufferedMailTransport({
        transporter: relay.transporter,
        from: 'bench@example.com',
        to: 'ops@example.com',
      });
      transport.on('warn', (warning) => warnings.add(warning.code ?? 'EDELIVERY'));
      const logger = winston.createLogger({ transports: [transport] });
      current = { transport, logger, relay };
      for (let count = 0; count < PREFILL; count++) logRequest(logger, index++);
      before = transport.stats().entriesPending;
    },
    run(calls) {
      const { logger } = current;
      for (let count = 0; count < calls; count++) logRequest(logger, index++);
    },
    async finish() {
      const { transport, relay } = current;
      const stats = transport.stats();
      held.push({
        before,
        after: stats.entriesPending,
        bytesAfter: stats.bytesPending,
        mailsAnsweredDuringRound: relay.mailsAnswered,
        dropped: stats.entriesDropped,
      });
      relay.answer();
      await transport.close();
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
    run(calls) {
      for (let count = 0; count < calls; count++) logRequest(logger, index++);
    },
  };
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

function rounded(ratio: PairedRatio) {
  return {
    median: round3(ratio.median),
    p25: round3(ratio.p25),
    p75: round3(ratio.p75),
    min: round3(ratio.min),
    max: round3(ratio.max),
  };
}

function summary(figures: SubjectFigures) {
  const { median } = figures;
  return {
    nsPerCall: Math.round(median.nsPerCall),
    cpuNsPerCall: Math.round(median.cpuNsPerCall),
    scavengesPerRound: median.scavenges,
    scavengeMsPerRound: round1(median.scavengeMs),
    majorGcsPerRound: median.majorGcs,
    majorGcMsPerRound: round1(median.majorGcMs),
    oldGrowthMbPerRound: round1(median.oldGrowthMb),
    gcSharePercent: round1(median.gcShare * 100),
    nsPerCallByRound: figures.rounds.map((round) => Math.round(round.nsPerCall)),
    windowsUs: figures.windowsUs,
    windowsMs: figures.windowsMs.map(({ fromMs, toMs }) => ({ fromMs: round1(fromMs), toMs: round1(toMs) })),
  };
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const ours = ourSubject();
  const [oursFigures, noopFigures] = await runAlternatingRounds([ours, noopSubject()], {
    calls: CALLS,
    rounds: ROUNDS,
    warmupRounds: WARMUP_ROUNDS,
  });
  if (!oursFigures || !noopFigures) throw new Error('no figures');
  const measured = ours.held.slice(WARMUP_ROUNDS);
  const ratio = pairedRatio(oursFigures, noopFigures);
  const cpuRatio = pairedRatio(oursFigures, noopFigures, 'cpuNsPerCall');
  report({
    prefill: PREFILL,
    calls: CALLS,
    rounds: ROUNDS,
    collectsBetweenRounds,
    ours: summary(oursFigures),
    noop: summary(noopFigures),
    ratio: rounded(ratio),
    cpuRatio: rounded(cpuRatio),
    heldMin: Math.min(...measured.map((round) => round.before)),
    heldMax: Math.max(...measured.map((round) => round.after)),
    bytesPendingMax: Math.max(...measured.map((round) => round.bytesAfter)),
    mailsAnsweredDuringRounds: measured.reduce((sum, round) => sum + round.mailsAnsweredDuringRound, 0),
    dropped: measured.reduce((sum, round) => sum + round.dropped, 0),
    warnings: [...ours.warnings],
    load: `${loadBefore} before, ${loadAverage()} after`,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
