// Entries logged while the SMTP server is down (nothing listens on its port), with the default
// options: how much the heap and the resident memory grow, measured after forced collections.
// Arguments: the number of entries (default 1,000,000) and the size of each message in bytes
// (default: a short message with a little meta). Prints one JSON line.
// Run with: node --expose-gc -r ts-node/register/transpile-only bench/memory-outage.ts [entries] [messageBytes]
import { createServer, type AddressInfo } from 'node:net';
import winston from 'winston';
import { BufferedMailTransport } from '../src';
import { HeapPeak, heapUsedMb, peakRssMb, rssMb } from './support';

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const MESSAGE_BYTES = Number(process.argv[3] ?? 0);
const DEFAULT_MAX_BUFFERED_BYTES = 64 * 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Full collections with turns of the event loop between them, so that freed pages can go back. */
async function settleMemory(): Promise<void> {
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A fresh message of `MESSAGE_BYTES` for each entry, as a program that logs big payloads builds
 * them: decoded from bytes, so that V8 holds it whole instead of as a slice of a shared string.
 */
function messageMaker(): (index: number) => string {
  const template = Buffer.from('payload of a large log entry; '.repeat(Math.ceil(MESSAGE_BYTES / 30) + 1)).subarray(
    0,
    MESSAGE_BYTES,
  );
  return (index) => {
    template.write(`${index.toString().padStart(10, '0')} `, 0, 'latin1');
    return template.toString('latin1');
  };
}

async function main(): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));

  const transport = new BufferedMailTransport({
    smtp: { host: '127.0.0.1', port, auth: { user: 'bench', pass: 'bench-secret' } },
    from: 'bench@example.com',
    to: 'ops@example.com',
  });
  const warnings = new Set<string>();
  transport.on('warn', (warning) => warnings.add(warning.code ?? 'EDELIVERY'));
  const logger = winston.createLogger({ transports: [transport] });
  const makeMessage = MESSAGE_BYTES > 0 ? messageMaker() : undefined;
  // Warm up so that the baseline includes the code paths, not just the modules.
  logger.info('warm-up');
  await settleMemory();
  const baselineMb = rssMb();
  const baselineHeapMb = heapUsedMb();
  const heap = new HeapPeak();

  // Big entries yield to the event loop more often, so that the transport's attempts to connect go on meanwhile.
  const yieldEvery = makeMessage ? 100 : 50_000;
  for (let index = 0; index < ENTRIES; index++) {
    if (makeMessage) logger.info(makeMessage(index));
    else logger.info('Info index = %d', index, { requestId: `r-${index}` });
    if (index % yieldEvery === 0) {
      heap.sample();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  heap.stop();
  await settleMemory();
  const stats = transport.stats();
  const logged = stats.entriesLogged - 1;
  const accounted = stats.entriesDropped + stats.entriesPending + stats.entriesGivenUp + stats.entriesMailed;
  process.stdout.write(
    `${JSON.stringify({
      logged,
      messageBytes: MESSAGE_BYTES,
      baselineMb,
      growthMb: rssMb() - baselineMb,
      heapGrowthMb: heapUsedMb() - baselineHeapMb,
      peakRssGrowthMb: peakRssMb() - baselineMb,
      peakHeapGrowthMb: heap.peakMb - baselineHeapMb,
      dropped: stats.entriesDropped,
      givenUp: stats.entriesGivenUp,
      pending: stats.entriesPending,
      bytesPending: stats.bytesPending,
      exact: accounted === stats.entriesLogged && stats.bytesPending <= DEFAULT_MAX_BUFFERED_BYTES,
      warnings: [...warnings],
    })}\n`,
  );
  process.exit(0);
}

void main();
