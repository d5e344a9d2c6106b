// A burst of 100,000 typical entries at default options (capacity 100, 20 mails a minute, 64 MiB),
// to the local SMTP server in a process of its own, on the real clock: how many are lost, how
// many mails carry them, how long until flush() resolves, and the peak memory. Prints one JSON line.
// Run with: node -r ts-node/register/transpile-only bench/burst.ts
import winston from 'winston';
import {
  HeapPeak,
  heapUsedMb,
  loadAverage,
  peakRssMb,
  report,
  round1,
  rssMb,
  startServerProcess,
  transportAtDefaults,
} from './support';

const ENTRIES = Number(process.env.WBM_BENCH_BURST_ENTRIES ?? 100_000);
const MARKER = 'order shipped';

async function main(): Promise<void> {
  const server = await startServerProcess(MARKER);
  const transport = transportAtDefaults(server);
  const warnings: string[] = [];
  transport.on('warn', (warning) => warnings.push(`${warning.code ?? ''} ${warning.message}`));
  const mailAtMs: number[] = [];
  let started = 0;
  transport.on('mail', () => mailAtMs.push(performance.now() - started));
  const logger = winston.createLogger({ transports: [transport] });
  const baselineRssMb = rssMb();
  const baselineHeapMb = heapUsedMb();
  const loadBefore = loadAverage();
  const heap = new HeapPeak();

  started = performance.now();
  for (let index = 0; index < ENTRIES; index++) {
    logger.info(MARKER, { orderId: index, items: 3 });
    if (index % 1000 === 0) heap.sample();
  }
  const loggedMs = performance.now() - started;
  await transport.flush();
  const flushedMs = performance.now() - started;
  heap.stop();

  const stats = transport.stats();
  await server.waitForMails(stats.mailsSent);
  const arrived = server.mails.reduce((sum, mail) => sum + mail.entries, 0);
  report({
    entries: ENTRIES,
    lost: stats.entriesDropped + stats.entriesGivenUp,
    dropped: stats.entriesDropped,
    givenUp: stats.entriesGivenUp,
    mailed: stats.entriesMailed,
    arrived,
    mails: stats.mailsSent,
    allSecure: server.mails.every((mail) => mail.secure && mail.user === server.credentials.user),
    largestMailBytes: Math.max(...server.mails.map((mail) => mail.bytes)),
    loggedMs: Math.round(loggedMs),
    flushedMs: Math.round(flushedMs),
    mailAtS: mailAtMs.map((ms) => round1(ms / 1000)),
    baselineRssMb: round1(baselineRssMb),
    peakRssMb: round1(peakRssMb()),
    baselineHeapMb: round1(baselineHeapMb),
    peakHeapMb: round1(heap.peakMb),
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
