// A steady stream of typical entries at default options to a healthy server, logged in small
// chunks on a 10 ms timer: 5,000 entries a second for 60 s, then flush(). Reports what was lost,
// the mails and the largest of them, the peak of `stats().bytesPending`, the peak memory, and the
// event-loop delay over the whole run. Prints one JSON line.
// WBM_BENCH_STREAM_RATE (entries a second) and WBM_BENCH_STREAM_SECONDS shorten it for a quick look.
// Run with: node -r ts-node/register/transpile-only bench/steady-stream.ts
import winston from 'winston';
import {
  HeapPeak,
  heapUsedMb,
  loadAverage,
  peakRssMb,
  report,
  round1,
  rssMb,
  startLoopDelay,
  startServerProcess,
  startStallWatch,
  transportAtDefaults,
} from './support';

const RATE_PER_S = Number(process.env.WBM_BENCH_STREAM_RATE ?? 5000);
const DURATION_S = Number(process.env.WBM_BENCH_STREAM_SECONDS ?? 60);
const TICK_MS = 10;
const MARKER = 'order shipped';

async function main(): Promise<void> {
  const server = await startServerProcess(MARKER);
  const transport = transportAtDefaults(server);
  const warnings: string[] = [];
  transport.on('warn', (warning) => warnings.push(`${warning.code ?? ''} ${warning.message}`));
  const logger = winston.createLogger({ transports: [transport] });
  const baselineRssMb = rssMb();
  const baselineHeapMb = heapUsedMb();
  const loadBefore = loadAverage();
  const heap = new HeapPeak();
  const loop = startLoopDelay();
  const stallWatch = startStallWatch(10);
  const total = Math.round(RATE_PER_S * DURATION_S);
  let logged = 0;
  let peakBytesPending = 0;
  let started = 0;
  // What still waits right after each mail: its trend is how fast the backlog grows.
  const afterMail: Array<{ atMs: number; bytes: number }> = [];
  let streaming = true;
  transport.on('mail', () => {
    if (streaming) afterMail.push({ atMs: performance.now() - started, bytes: transport.stats().bytesPending });
  });

  started = performance.now();
  // Each tick logs what the rate asks for by now, so that a late tick catches up instead of slowing the stream.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * RATE_PER_S) / 1000));
      for (; logged < due; logged++) logger.info(MARKER, { orderId: logged, items: 3 });
      peakBytesPending = Math.max(peakBytesPending, transport.stats().bytesPending);
      if (logged < total) return;
      clearInterval(timer);
      resolve();
    }, TICK_MS);
  });
  const streamedMs = performance.now() - started;
  streaming = false;
  await transport.flush();
  const flushedMs = performance.now() - started;
  const delay = loop.stop();
  const stalls = stallWatch.stop();
  heap.stop();

  // The first 10 mails go as fast as the rate limit's burst allows; the pace is set after them.
  const paced = afterMail.slice(10);
  const first = paced[0];
  const last = paced[paced.length - 1];
  const backlogGrowthBytesPerS =
    first && last && last.atMs > first.atMs ? ((last.bytes - first.bytes) * 1000) / (last.atMs - first.atMs) : null;
  const stats = transport.stats();
  await server.waitForMails(stats.mailsSent);
  report({
    ratePerS: RATE_PER_S,
    durationS: DURATION_S,
    entries: total,
    lost: stats.entriesDropped + stats.entriesGivenUp,
    dropped: stats.entriesDropped,
    givenUp: stats.entriesGivenUp,
    mailed: stats.entriesMailed,
    arrived: server.mails.reduce((sum, mail) => sum + mail.entries, 0),
    mails: stats.mailsSent,
    allSecure: server.mails.every((mail) => mail.secure && mail.user === server.credentials.user),
    largestMailBytes: Math.max(...server.mails.map((mail) => mail.bytes)),
    largestMailEntries: Math.max(...server.mails.map((mail) => mail.entries)),
    peakBytesPending,
    backlogGrowthBytesPerS,
    streamedMs: Math.round(streamedMs),
    flushedAfterStreamMs: Math.round(flushedMs - streamedMs),
    baselineRssMb: round1(baselineRssMb),
    peakRssMb: round1(peakRssMb()),
    baselineHeapMb: round1(baselineHeapMb),
    peakHeapMb: round1(heap.peakMb),
    loopMaxMs: round1(delay.maxMs),
    loopP99Ms: round1(delay.p99Ms),
    stalls,
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
