// 1,000,000 entries logged while the SMTP server is down, with the default options. Run with
// --expose-gc; prints one JSON line: resident memory growth and whether the drop count is exact.
import { createServer, type AddressInfo } from 'node:net';
import winston from 'winston';
import { BufferedMailTransport } from '../src';

const ENTRIES = 1_000_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;

/** Full collections with turns of the event loop between them, so that freed pages can go back. */
async function settleMemory(): Promise<void> {
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
    flushOnExit: false,
  });
  transport.on('warn', () => undefined);
  const logger = winston.createLogger({ transports: [transport] });
  // Warm up so that the baseline includes the code paths, not just the modules.
  logger.info('warm-up');
  await settleMemory();
  const baselineMb = rssMb();
  const baselineHeapMb = heapMb();

  for (let index = 0; index < ENTRIES; index++) {
    logger.info('Info index = %d', index, { requestId: `r-${index}` });
    if (index % 50_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await settleMemory();
  const growthMb = rssMb() - baselineMb;
  const heapGrowthMb = heapMb() - baselineHeapMb;
  const stats = transport.stats();
  const logged = stats.entriesLogged;
  const accounted = stats.entriesDropped + stats.entriesPending + stats.entriesGivenUp + stats.entriesMailed;
  process.stdout.write(
    `${JSON.stringify({ logged: logged - 1, baselineMb, growthMb, heapGrowthMb, dropped: stats.entriesDropped, pending: stats.entriesPending, exact: accounted === logged && stats.entriesPending <= 10_000 })}\n`,
  );
  process.exit(0);
}

void main();
