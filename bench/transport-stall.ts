// The longest event-loop stall the transport causes while it renders and sends batches of 10,000
// typical entries with `html` and `attachJson` (capacity 10,000, every other option at its
// default), to the local SMTP server in a process of its own. Each round logs 10,000 entries in
// one loop, then measures from the moment that loop returns until flush() resolves, so that the
// logging itself is not counted. Prints one JSON line, with every stall above the 10 ms target on
// the monotonic clock that V8's CPU profiles use, so that a profile of the run can be cut to them.
// WBM_BENCH_STALL_ROUNDS changes the number of rounds.
// Run with: node -r ts-node/register/transpile-only bench/transport-stall.ts
import winston from 'winston';
import {
  loadAverage,
  report,
  round1,
  startLoopDelay,
  startServerProcess,
  startStallWatch,
  transportAtDefaults,
  type Stall,
} from './support';

const ENTRIES = 10_000;
const ROUNDS = Number(process.env.WBM_BENCH_STALL_ROUNDS ?? 3);
const MARKER = 'order shipped';
const TARGET_MS = 10;

async function main(): Promise<void> {
  const server = await startServerProcess(MARKER);
  const transport = transportAtDefaults(server, { capacity: ENTRIES, html: true, attachJson: true });
  const warnings: string[] = [];
  transport.on('warn', (warning) => warnings.push(`${warning.code ?? ''} ${warning.message}`));
  const logger = winston.createLogger({ transports: [transport] });
  const loadBefore = loadAverage();
  const rounds: Array<{ maxMs: number; p99Ms: number; loggingMs: number; sendingMs: number; mails: number }> = [];
  const stalls: Stall[] = [];

  for (let round = 0; round < ROUNDS; round++) {
    const mailsBefore = transport.stats().mailsSent;
    const loggingStarted = performance.now();
    for (let index = 0; index < ENTRIES; index++) logger.info(MARKER, { orderId: round * ENTRIES + index, items: 3 });
    const sendingStarted = performance.now();
    const loop = startLoopDelay();
    const watch = startStallWatch(TARGET_MS);
    await transport.flush();
    const delay = loop.stop();
    stalls.push(...watch.stop());
    rounds.push({
      maxMs: round1(delay.maxMs),
      p99Ms: round1(delay.p99Ms),
      loggingMs: Math.round(sendingStarted - loggingStarted),
      sendingMs: Math.round(performance.now() - sendingStarted),
      mails: transport.stats().mailsSent - mailsBefore,
    });
    // Spread the rounds over time, as bursts are in a real program.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const stats = transport.stats();
  await server.waitForMails(stats.mailsSent);
  report({
    entries: ENTRIES * ROUNDS,
    rounds,
    maxMs: Math.max(...rounds.map((round) => round.maxMs)),
    p99Ms: Math.max(...rounds.map((round) => round.p99Ms)),
    stalls,
    lost: stats.entriesDropped + stats.entriesGivenUp,
    dropped: stats.entriesDropped,
    givenUp: stats.entriesGivenUp,
    arrived: server.mails.reduce((sum, mail) => sum + mail.entries, 0),
    mails: stats.mailsSent,
    largestMailBytes: Math.max(...server.mails.map((mail) => mail.bytes)),
    warnings,
    load: `${loadBefore} before, ${loadAverage()} after`,
  });
  server.stop();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
