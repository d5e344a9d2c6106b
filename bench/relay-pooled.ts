// 20,000 entries mailed in 200 mails of 100 through a real relay (the WBM_BENCH_* variables),
// rate limit off, against nodemailer alone sending the same 200 mails, already rendered (headers
// included), over one pooled connection: what the transport adds to what nodemailer and the wire
// cost anyway. All in this process, timed from the first call to the last mail accepted; the
// start of the process is not counted (row 9 counts it). A first round is not timed, and the
// rounds after it alternate which side goes first. The reference's mails are
// the transport's own, captured once beforehand through a transporter that only records them.
// Each round also logs the entries in turns of 100 (an application that logs as it works, so that
// mails go while it logs), and times winston alone logging them to a no-op transport: the part of
// the figure that is winston's, whatever transport it feeds.
// It also times, for row 9c, winston logging in turns to a no-op transport while nodemailer alone
// sends the mails: the least any transport could take there.
// Prints one JSON line; without the variables, a line saying what is missing.
// Run with: node -r ts-node/register/transpile-only bench/relay-pooled.ts
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { BufferedMailTransport, defaultLineFormat, type MailMessage } from '../src';
import { loadAverage, NoopTransport, report } from './support';

const ENTRIES = 20_000;
const CAPACITY = 100;
const ROUNDS = Number(process.env.WBM_BENCH_RELAY_ROUNDS ?? 5);
const REQUIRED = ['WBM_BENCH_HOST', 'WBM_BENCH_USER', 'WBM_BENCH_PASS', 'WBM_BENCH_TO', 'WBM_BENCH_FROM'] as const;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** The transport as the CLI's `send` sets it up: `capacity` 100, no rate limit, exactly the entries logged. */
function options(from: string, to: string) {
  return { from, to, capacity: CAPACITY, rateLimit: false as const, flushOnExit: false, maxBufferedEntries: ENTRIES };
}

function logEntries(transport: TransportStream): winston.Logger {
  const logger = winston.createLogger({ transports: [transport] });
  for (let index = 0; index < ENTRIES; index++) logger.info(`Info index = ${index}`);
  return logger;
}

/** The same entries, a batch a turn of the event loop. */
async function logEntriesInTurns(transport: TransportStream): Promise<void> {
  const logger = winston.createLogger({ transports: [transport] });
  for (let index = 0; index < ENTRIES; index++) {
    logger.info(`Info index = ${index}`);
    if (index % CAPACITY === CAPACITY - 1) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The 200 mails the transport hands over for these entries, recorded instead of sent. */
async function captureMails(from: string, to: string): Promise<MailMessage[]> {
  const mails: MailMessage[] = [];
  const transport = new BufferedMailTransport({
    ...options(from, to),
    transporter: {
      sendMail: (message) => {
        mails.push(message);
        return Promise.resolve({ messageId: `captured-${mails.length}` });
      },
    },
  });
  logEntries(transport);
  await transport.close();
  return mails;
}

async function main(): Promise<void> {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    report({ skipped: `not run: set ${missing.join(', ')} (and WBM_BENCH_PORT, WBM_BENCH_CA as needed)` });
    return;
  }
  const env = process.env as Record<(typeof REQUIRED)[number], string> & NodeJS.ProcessEnv;
  const host = env.WBM_BENCH_HOST;
  const port = Number(env.WBM_BENCH_PORT ?? 587);
  const auth = { user: env.WBM_BENCH_USER, pass: env.WBM_BENCH_PASS };
  const tls = env.WBM_BENCH_CA ? { ca: readFileSync(env.WBM_BENCH_CA, 'utf8') } : undefined;
  const { WBM_BENCH_FROM: from, WBM_BENCH_TO: to } = env;
  const loadBefore = loadAverage();
  const mails = await captureMails(from, to);
  if (mails.length !== ENTRIES / CAPACITY) throw new Error(`Expected ${ENTRIES / CAPACITY} mails, got ${mails.length}`);

  const ours: number[] = [];
  const oursInTurns: number[] = [];
  const direct: number[] = [];
  const winstonAlone: number[] = [];
  const floorInTurns: number[] = [];
  const warnings = new Set<string>();
  let oursMails = 0;
  const smtp = { host, port, auth, ...(tls && { tls }) };

  const runOurs = async (log: (transport: TransportStream) => unknown): Promise<number> => {
    const transport = new BufferedMailTransport({ ...options(from, to), smtp });
    transport.on('warn', (warning) => warnings.add(`${warning.code ?? 'EDELIVERY'} ${warning.message}`));
    const started = performance.now();
    await log(transport);
    await transport.flush();
    const elapsed = performance.now() - started;
    const stats = transport.stats();
    oursMails = stats.mailsSent;
    if (stats.entriesMailed !== ENTRIES) throw new Error(`Mailed ${stats.entriesMailed} of ${ENTRIES} entries`);
    await transport.close();
    return elapsed;
  };
  const runWinstonAlone = (): number => {
    const noop = new NoopTransport({ format: defaultLineFormat() });
    const started = performance.now();
    logEntries(noop);
    return performance.now() - started;
  };
  // The least any transport can take in row 9c: winston logging the entries in turns to a no-op
  // transport while nodemailer alone sends the mails, both at once from the start.
  const runFloorInTurns = async (): Promise<number> => {
    const pool = nodemailer.createTransport({ ...smtp, requireTLS: true, pool: true, maxConnections: 1 });
    const started = performance.now();
    const sending = (async () => {
      for (const mail of mails) await pool.sendMail(mail);
    })();
    await logEntriesInTurns(new NoopTransport({ format: defaultLineFormat() }));
    await sending;
    const elapsed = performance.now() - started;
    pool.close();
    return elapsed;
  };
  const runDirect = async (): Promise<number> => {
    const pool = nodemailer.createTransport({ ...smtp, requireTLS: true, pool: true, maxConnections: 1 });
    const started = performance.now();
    for (const mail of mails) await pool.sendMail(mail);
    const elapsed = performance.now() - started;
    pool.close();
    return elapsed;
  };

  // A first round untimed, so that no figure includes compiling the code it runs; then rounds
  // that alternate which side goes first.
  for (let round = -1; round < ROUNDS; round++) {
    const timed = round >= 0;
    const directFirst = round % 2 !== 0;
    const directBefore = directFirst ? await runDirect() : 0;
    const oursElapsed = await runOurs(logEntries);
    const inTurnsElapsed = await runOurs(logEntriesInTurns);
    const winstonElapsed = runWinstonAlone();
    const floorElapsed = await runFloorInTurns();
    const directElapsed = directFirst ? directBefore : await runDirect();
    if (!timed) continue;
    ours.push(oursElapsed);
    oursInTurns.push(inTurnsElapsed);
    winstonAlone.push(winstonElapsed);
    floorInTurns.push(floorElapsed);
    direct.push(directElapsed);
  }
  report({
    server: `${host}:${port}`,
    entries: ENTRIES,
    mails: oursMails,
    oursMs: ours.map(Math.round),
    oursInTurnsMs: oursInTurns.map(Math.round),
    directMs: direct.map(Math.round),
    winstonAloneMs: winstonAlone.map(Math.round),
    floorInTurnsMs: floorInTurns.map(Math.round),
    floorInTurnsMedianMs: Math.round(median(floorInTurns)),
    oursMedianMs: Math.round(median(ours)),
    oursInTurnsMedianMs: Math.round(median(oursInTurns)),
    directMedianMs: Math.round(median(direct)),
    winstonAloneMedianMs: Math.round(median(winstonAlone)),
    warnings: [...warnings],
    load: `${loadBefore} before, ${loadAverage()} after`,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
