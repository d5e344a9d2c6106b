// The benchmark. Headline figures are measured at default options, as a user who sets nothing
// gets them; a figure that needs another option says so in its `options` column and is not a
// headline. Ratios compare two figures measured in the same run, because machines are noisy.
// Scenarios that measure memory, the real clock or the event loop run in a process of their own,
// with the SMTP server in yet another, so that nothing else counts in them.
// Writes BENCHMARKS.md and prints the same; `npm run bench -- burst stall` runs only the named
// steps and writes nothing.
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import nodemailer from 'nodemailer';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { BufferedMailTransport, defaultLineFormat } from '../src';
import { startLocalSmtpServer, type LocalSmtpServer } from '../src/local-smtp-server';
import { summariseProfile, type ProfileSummary, type TimeWindow, type Weighed } from './cpu-profile';
import { loadAverage, NoopTransport } from './support';

interface Row {
  measure: string;
  /** 'defaults', or the options that differ from them. */
  options: string;
  figure: string;
  reference: string;
  ratio: number | undefined;
  target: string;
  met: boolean | undefined;
}

const rows: Row[] = [];
/** Paragraphs of "Where the time goes", each under the row it explains; some depend on this run. */
const findings: Array<{ row: number; text: string }> = [];
const ROOT = join(__dirname, '..');
const DEFAULTS = 'defaults';
const STALL_TARGET_MS = 10;
const MiB = 2 ** 20;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
};
const ns = (value: number) => `${value.toFixed(0)} ns`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;
const mb = (value: number) => `${value.toFixed(1)} MiB`;
const count = (value: number) => value.toLocaleString('en');
const bytes = (value: number) => `${count(value)} bytes (${(value / MiB).toFixed(2)} MiB)`;

const nullStream = () =>
  new Writable({
    objectMode: true,
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

const noopTransporter = { sendMail: () => Promise.resolve({ messageId: 'noop' }) };

/** A logger under measure, and how to let go of it once its sample is taken. */
interface Subject {
  logger: winston.Logger;
  close(): Promise<void>;
}

function withTransport(transport: TransportStream, close: () => Promise<void>): Subject {
  return { logger: winston.createLogger({ transports: [transport] }), close };
}

/** Our transport with every option at its default (capacity 100, the rate limit on) but the transporter. */
function mailSubject(capacity?: number): Subject {
  const transport = new BufferedMailTransport({
    transporter: noopTransporter,
    from: 'bench@example.com',
    to: 'ops@example.com',
    ...(capacity !== undefined && { capacity }),
  });
  return withTransport(transport, () => transport.close());
}

const idle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Median cost per logger.info() call, over tinybench's samples of `perSample` calls each. Each
 * sample logs into a fresh logger; between samples, untimed, the previous one is closed, which
 * delivers what it holds (close() does not wait for the rate limit), as a program that pauses
 * between bursts would.
 */
async function costPerCall(name: string, makeSubject: () => Subject, perSample: number): Promise<number> {
  const { Bench } = await import('tinybench');
  let subject = makeSubject();
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add(
    name,
    () => {
      for (let index = 0; index < perSample; index++)
        subject.logger.info('Info index = %d', index, { requestId: 'r-1', userId: 42 });
    },
    {
      beforeEach: async () => {
        await subject.close();
        await idle();
        subject = makeSubject();
      },
    },
  );
  await bench.run();
  await subject.close();
  const result = bench.tasks[0]?.result as { latency?: { p50?: number }; median?: number } | undefined;
  const medianMs = result?.latency?.p50 ?? result?.median ?? Number.NaN;
  return (medianMs * 1e6) / perSample;
}

async function hotPath(): Promise<void> {
  const format = defaultLineFormat();
  const perSample = 1000;
  // Alternated three times, so that a slow phase of the machine hits both sides.
  const noops: number[] = [];
  const oursList: number[] = [];
  for (let round = 0; round < 3; round++) {
    noops.push(await costPerCall('no-op', () => withTransport(new NoopTransport({ format }), idle), perSample));
    oursList.push(await costPerCall('ours', () => mailSubject(), perSample));
  }
  const noop = median(noops);
  const ours = median(oursList);
  const stream = await costPerCall(
    'stream',
    () => withTransport(new winston.transports.Stream({ stream: nullStream(), format }), idle),
    perSample,
  );
  rows.push({
    measure: '1. Hot path: logger.info() with BufferedMailTransport, batches of 100 handed over as they fill',
    options: `${DEFAULTS} (a no-op transporter)`,
    figure: ns(ours),
    reference: `no-op transport, same format: ${ns(noop)}`,
    ratio: ours / noop,
    target: '≤ 1.1x',
    met: ours / noop <= 1.1,
  });
  rows.push({
    measure: '1b. For context: winston Stream transport to a null stream, same format',
    options: '',
    figure: ns(stream),
    reference: `no-op transport: ${ns(noop)}`,
    ratio: stream / noop,
    target: 'none',
    met: undefined,
  });

  // Interleaved rounds, medians: deliveries of earlier samples leave garbage that a later sample may collect.
  const capacities = [10, 100, 1000, 10_000];
  const samples = capacities.map((): number[] => []);
  for (let round = 0; round < 3; round++) {
    for (const [index, capacity] of capacities.entries()) {
      samples[index]?.push(await costPerCall(`capacity ${capacity}`, () => mailSubject(capacity), perSample));
    }
  }
  const byCapacity = samples.map(median);
  const worst = Math.max(...byCapacity) / (byCapacity[0] ?? Number.NaN);
  rows.push({
    measure: '2. Hot path at capacity 10 / 100 / 1,000 / 10,000',
    options: '`capacity` as named; otherwise defaults (a no-op transporter)',
    figure: byCapacity.map(ns).join(' / '),
    reference: `capacity 10: ${ns(byCapacity[0] ?? Number.NaN)}`,
    ratio: worst,
    target: 'does not grow (≤ 1.2x)',
    met: worst <= 1.2,
  });
}

interface FullBufferSide {
  nsPerCall: number;
  cpuNsPerCall: number;
  scavengesPerRound: number;
  scavengeMsPerRound: number;
  majorGcMsPerRound: number;
  oldGrowthMbPerRound: number;
  gcSharePercent: number;
}

interface FullBufferRun {
  prefill: number;
  calls: number;
  rounds: number;
  collectsBetweenRounds: boolean;
  ours: FullBufferSide;
  noop: FullBufferSide;
  ratio: { median: number; p25: number; p75: number; min: number; max: number };
  cpuRatio: { median: number; p25: number; p75: number };
  heldMin: number;
  heldMax: number;
  bytesPendingMax: number;
  mailsAnsweredDuringRounds: number;
  dropped: number;
  warnings: string[];
  load: string;
}

async function hotPathFullBuffer(): Promise<void> {
  // --expose-gc: a full collection before each round, so that no round pays for the garbage of another.
  const run = await runScenario<FullBufferRun>('hot-path-full-buffer.ts', [], ['--expose-gc']);
  const { ours, noop, ratio } = run;
  const held = run.mailsAnsweredDuringRounds === 0 && run.dropped === 0 && run.heldMin >= 50_000;
  rows.push({
    measure: `1c. Hot path with ${count(run.heldMin)} to ${count(run.heldMax)} entries waiting: \`logger.info('request handled', { requestId, userId, durationMs, route })\`, ${run.rounds} rounds of ${count(run.calls)} calls alternating with the no-op transport`,
    options: `${DEFAULTS} (the relay has not answered the first mail yet)`,
    figure: ns(ours.nsPerCall),
    reference: `no-op transport, same format: ${ns(noop.nsPerCall)}; per-round ratios ${ratio.p25.toFixed(2)}x to ${ratio.p75.toFixed(2)}x (quartiles), ${ratio.min.toFixed(2)}x to ${ratio.max.toFixed(2)}x; CPU time ${ns(ours.cpuNsPerCall)} / ${ns(noop.cpuNsPerCall)} (${run.cpuRatio.median.toFixed(2)}x); ${held ? 'nothing sent or dropped during the rounds' : '**entries were sent or dropped during the rounds, or fewer than 50,000 waited**'}; load ${run.load}`,
    ratio: ratio.median,
    target: '≤ 1.1x',
    met: held && ratio.median <= 1.1,
  });
  const side = (figures: FullBufferSide) =>
    `${figures.scavengesPerRound} scavenges taking ${figures.scavengeMsPerRound} ms${figures.majorGcMsPerRound > 0 ? ` and ${figures.majorGcMsPerRound} ms of major collection` : ''}, the old generation grown by ${figures.oldGrowthMbPerRound} MiB, ${figures.gcSharePercent} % of the time in the collector`;
  findings.push({
    row: 1,
    text: `- **1c. Hot path with a full buffer.** Per round of ${count(run.calls)} calls (medians), with this transport:
  ${side(ours)};
  with the no-op transport: ${side(noop)}.
  Entries that wait survive the young generation and are copied into the old one (its growth
  above), where a no-op transport lets them die young: the difference is mostly that copying.`,
  });
}

async function serverFor(options: Parameters<typeof startLocalSmtpServer>[0] = {}): Promise<LocalSmtpServer> {
  return startLocalSmtpServer({ ...options, serverOptions: { size: 0, ...options.serverOptions } });
}

function runProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ms: number; status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ ms: performance.now() - started, status, out }));
  });
}

/** Runs one of the scenario scripts in a process of its own and returns the JSON line it printed last. */
async function runScenario<T>(script: string, args: string[] = [], nodeArgs: string[] = []): Promise<T> {
  const result = await runProcess(process.execPath, [
    ...nodeArgs,
    '-r',
    'ts-node/register/transpile-only',
    join(__dirname, script),
    ...args,
  ]);
  if (result.status !== 0) throw new Error(`${script} failed: ${result.out}`);
  return JSON.parse(result.out.trim().split('\n').pop() ?? '{}') as T;
}

/** What the scenarios against the SMTP server have in common. */
interface Delivery {
  lost: number;
  dropped: number;
  givenUp: number;
  arrived: number;
  mails: number;
  largestMailBytes: number;
  warnings: string[];
  load: string;
}

function lossFigure(run: Delivery, entries: number): string {
  const arrived = run.arrived === entries ? 'all arrived' : `**${count(run.arrived)} arrived**`;
  return `${count(run.lost)} lost (${count(run.dropped)} dropped + ${count(run.givenUp)} given up), ${arrived}`;
}

function warningsOf(run: Delivery): string {
  return run.warnings.length === 0 ? 'no warning' : `**warnings: ${run.warnings.join('; ')}**`;
}

async function burst(): Promise<void> {
  const run = await runScenario<
    Delivery & {
      entries: number;
      allSecure: boolean;
      loggedMs: number;
      flushedMs: number;
      mailAtS: number[];
      baselineRssMb: number;
      peakRssMb: number;
      baselineHeapMb: number;
      peakHeapMb: number;
    }
  >('burst.ts');
  const atOnce = run.mailAtS.filter((at) => at <= (run.mailAtS[0] ?? 0) + 1).length;
  const later = run.mailAtS.slice(atOnce);
  rows.push({
    measure: `3. Burst of ${count(run.entries)} typical entries (\`logger.info('order shipped', { orderId, items: 3 })\` in one loop), real clock`,
    options: DEFAULTS,
    figure: `${lossFigure(run, run.entries)}; ${run.mails} mails; \`flush()\` resolved after ${seconds(run.flushedMs)}`,
    reference: `logging loop ${ms(run.loggedMs)}; ${atOnce} mails at once, then at ${later.map((at) => `${at}`).join(', ')} s (the paced rate limit); largest mail ${bytes(run.largestMailBytes)}; ${run.allSecure ? 'all over STARTTLS + AUTH' : '**not all over STARTTLS + AUTH**'}; ${warningsOf(run)}; load ${run.load}`,
    ratio: undefined,
    target: '0 lost',
    met: run.lost === 0 && run.arrived === run.entries,
  });
  rows.push({
    measure: '3b. Memory of that burst',
    options: DEFAULTS,
    figure: `peak RSS ${mb(run.peakRssMb)}, peak heap used ${mb(run.peakHeapMb)}`,
    reference: `before the burst: RSS ${mb(run.baselineRssMb)}, heap ${mb(run.baselineHeapMb)}`,
    ratio: undefined,
    target: 'none',
    met: undefined,
  });
}

async function steadyStream(): Promise<void> {
  const run = await runScenario<
    Delivery & {
      ratePerS: number;
      durationS: number;
      entries: number;
      allSecure: boolean;
      peakBytesPending: number;
      streamedMs: number;
      flushedAfterStreamMs: number;
      baselineRssMb: number;
      peakRssMb: number;
      loopMaxMs: number;
      loopP99Ms: number;
      stalls: TimeWindow[];
      largestMailEntries: number;
      backlogGrowthBytesPerS: number | null;
    }
  >('steady-stream.ts');
  const what = `${count(run.ratePerS)} typical entries a second for ${run.durationS} s (${count(run.entries)}), in chunks on a 10 ms timer, healthy server`;
  rows.push({
    measure: `4. Steady stream: ${what}`,
    options: DEFAULTS,
    figure: `${lossFigure(run, run.entries)}; ${run.mails} mails, the largest ${bytes(run.largestMailBytes)}; peak \`bytesPending\` ${bytes(run.peakBytesPending)}`,
    reference: `\`flush()\` resolved ${seconds(run.flushedAfterStreamMs)} after the stream ended; ${run.allSecure ? 'all over STARTTLS + AUTH' : '**not all over STARTTLS + AUTH**'}; ${warningsOf(run)}; load ${run.load}`,
    ratio: undefined,
    target: '0 lost',
    met: run.lost === 0 && run.arrived === run.entries,
  });
  rows.push({
    measure: '4b. Memory and event loop during that stream (event-loop delay, 1 ms resolution: max / p99)',
    options: DEFAULTS,
    figure: `peak RSS ${mb(run.peakRssMb)}; event-loop delay ${run.loopMaxMs.toFixed(1)} ms / ${run.loopP99Ms.toFixed(1)} ms; ${run.stalls.length} gaps of more than ${STALL_TARGET_MS} ms`,
    reference: `RSS before: ${mb(run.baselineRssMb)}`,
    ratio: undefined,
    target: `none set (${STALL_TARGET_MS} ms is the target of row 5)`,
    met: undefined,
  });
  // After the first 10 mails the paced limit lets one go every 6 s.
  const carriedPerS = (run.largestMailEntries * 10) / 60;
  const growth = run.backlogGrowthBytesPerS;
  const outlook =
    growth === null
      ? 'Row 4 was too short to show a trend after the first 10 mails.'
      : growth <= 0
        ? `Row 4 logs ${count(run.ratePerS)} a second, and what waits right after each mail did not grow.`
        : `Row 4 logs ${count(run.ratePerS)} a second, and what waits right after each mail grew, by about
  ${count(Math.round(growth / 1024))} KiB of \`bytesPending\` a second over this run, so a long enough stream at this rate reaches
  \`maxBufferedBytes\` and loses its oldest entries from then on.`;
  findings.push({
    row: 4,
    text: `- **4. Steady stream.** After the first 10 mails the paced limit lets one mail go every 6 s (10 a
  minute); what waits for the next mail is \`bytesPending\`. The largest mail of row 4 held
  ${count(run.largestMailEntries)} entries, so a stream of such entries is carried up to about ${count(Math.round(carriedPerS))} a second.
  ${outlook}`,
  });
}

interface StallRun extends Delivery {
  entries: number;
  rounds: Array<{ maxMs: number; p99Ms: number; loggingMs: number; sendingMs: number; mails: number }>;
  maxMs: number;
  p99Ms: number;
  stalls: TimeWindow[];
}

async function transportStall(): Promise<void> {
  const run = await runScenario<StallRun>('transport-stall.ts');
  const met = run.maxMs < STALL_TARGET_MS;
  rows.push({
    measure: `5. Longest event-loop stall the transport causes: ${run.rounds.length} rounds of 10,000 typical entries logged in one loop, measured from the loop's end until \`flush()\` resolves (delay at 1 ms resolution: max / p99)`,
    options: '`capacity: 10000`, `html: true`, `attachJson: true`; otherwise defaults',
    figure: `${run.maxMs.toFixed(1)} ms / ${run.p99Ms.toFixed(1)} ms`,
    reference: `per round, max / p99: ${run.rounds.map((round) => `${round.maxMs} / ${round.p99Ms} ms (${round.mails} mails in ${seconds(round.sendingMs)})`).join('; ')}; ${lossFigure(run, run.entries)}; ${warningsOf(run)}; load ${run.load}`,
    ratio: undefined,
    target: `longest < ${STALL_TARGET_MS} ms`,
    met,
  });
  if (met) return;
  // Profiled in a separate run: the profiler's own cost must not be in the figures above.
  const dir = mkdtempSync(join(tmpdir(), 'wbm-bench-profile-'));
  try {
    const profiled = await runScenario<StallRun>(
      'transport-stall.ts',
      [],
      ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'],
    );
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('node --cpu-prof wrote no profile');
    const summary = summariseProfile(join(dir, file), profiled.stalls, ROOT);
    findings.push({ row: 5, text: stallFinding(profiled, summary) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stallFinding(run: StallRun, summary: ProfileSummary): string {
  const list = (weights: Weighed[]) => weights.map((entry) => `\`${entry.name}\` ${entry.ms} ms`).join(', ');
  const lines = [
    `- **5. The stall, profiled.** A second run of row 5 under \`node --cpu-prof\` (250 µs sampling; its longest
  stall ${run.maxMs.toFixed(1)} ms) had ${run.stalls.length} gaps of more than ${STALL_TARGET_MS} ms between two ticks of a 1 ms timer, with
  ${summary.sampledMs} ms of samples inside them:`,
    `  - by origin (self time): ${list(summary.byOrigin)};`,
    `  - top functions by self time: ${list(summary.bySelf)};`,
    `  - including what they called: ${list(summary.byTotal)}.`,
  ];
  if (summary.bySelf.some((entry) => entry.name.startsWith('_getTextEncoding nodemailer/'))) {
    lines.push(`  - So the stalls are nodemailer building each mail synchronously: for a text part given as a
    string, \`_getTextEncoding\` walks every character to choose between quoted-printable and base64,
    then the quoted-printable encoder receives the whole part as one chunk and encodes it in one
    \`_transform\` call. A part of a few MB costs tens of milliseconds each time, however finely the
    transport itself renders in slices (\`src/render\` above).`);
  }
  return lines.join('\n');
}

async function endToEndInProcess(): Promise<void> {
  const entries = 100_000;
  const capacity = 1000;
  const ourTimes: number[] = [];
  const directTimes: number[] = [];
  for (let round = 0; round < 3; round++) {
    const server = await serverFor();
    const smtp = { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } };
    const transport = new BufferedMailTransport({
      smtp,
      from: 'bench@example.com',
      to: 'ops@example.com',
      capacity,
      rateLimit: false,
      flushOnExit: false,
    });
    const logger = winston.createLogger({ transports: [transport] });
    const started = performance.now();
    for (let index = 0; index < entries; index++) logger.info(`Info index = ${index}`);
    await transport.flush();
    ourTimes.push(performance.now() - started);
    if (server.mails.length !== entries / capacity)
      throw new Error(`expected ${entries / capacity} mails, got ${server.mails.length}`);
    await transport.close();

    // The reference: the same mails, pre-rendered, sent by nodemailer directly over one pooled connection.
    const texts = server.mails.map((mail) => mail.parsed.text ?? '');
    const direct = nodemailer.createTransport({ pool: true, maxConnections: 1, requireTLS: true, ...smtp });
    const directStarted = performance.now();
    for (const text of texts)
      await direct.sendMail({ from: 'bench@example.com', to: 'ops@example.com', subject: 'bench', text });
    directTimes.push(performance.now() - directStarted);
    direct.close();
    await server.close();
  }
  const ours = median(ourTimes);
  const direct = median(directTimes);
  rows.push({
    measure: `6. Wire speed, in process: ${count(entries)} entries in 100 mails of ${count(capacity)}, STARTTLS + AUTH (not a headline: at defaults the rate limit paces the mails, see row 3)`,
    options: '**`rateLimit: false`, `capacity: 1000`**; `flushOnExit: false`',
    figure: `${ms(ours)} (${count(Math.round((entries / ours) * 1000))} entries/s)`,
    reference: `nodemailer sending the same 100 rendered mails: ${ms(direct)}`,
    ratio: ours / direct,
    target: 'as fast as the wire allows',
    met: undefined,
  });
}

async function neverBlocking(): Promise<void> {
  const latencies = async (delayMs: number): Promise<{ samples: number[]; lost: number; mailed: number }> => {
    const wait = (callback: () => void) => (delayMs > 0 ? void setTimeout(callback, delayMs) : callback());
    const server = await serverFor({
      serverOptions: {
        onConnect: (_session, callback) => wait(() => callback()),
        onMailFrom: (_address, _session, callback) => wait(() => callback()),
        onRcptTo: (_address, _session, callback) => wait(() => callback()),
      },
    });
    const transport = new BufferedMailTransport({
      smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
      from: 'bench@example.com',
      to: 'ops@example.com',
    });
    transport.on('warn', () => undefined);
    const logger = winston.createLogger({ transports: [transport] });
    const samples: number[] = [];
    // Calls spread over time, so that deliveries are in flight while the logging goes on.
    for (let round = 0; round < 50; round++) {
      for (let index = 0; index < 400; index++) {
        const started = process.hrtime.bigint();
        logger.info(`Info index = ${index}`);
        samples.push(Number(process.hrtime.bigint() - started));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await transport.close();
    await server.close();
    const stats = transport.stats();
    return { samples, lost: stats.entriesDropped + stats.entriesGivenUp, mailed: stats.entriesMailed };
  };
  const lostFigure = (lost: number) => (lost === 0 ? '0 lost' : `**${count(lost)} lost**`);
  const fast = await latencies(0);
  const slow = await latencies(1000);
  const ratio = percentile(slow.samples, 99) / percentile(fast.samples, 99);
  if (slow.lost > 0) {
    findings.push({
      row: 7,
      text: `- **7. Entries lost at \`close()\` with the slow server.** The first mail takes about 3 s (connection,
  MAIL FROM, RCPT TO, each answered after 1 s), each later one about 2 s. \`close()\` stops waiting for
  the rate limit, but merges waiting batches only when the limit holds them back, and the limit
  still had room (10 mails may go at once): the batches of 100 went one by one, ${count(slow.mailed)} entries were mailed
  within \`closeTimeoutMs\` (10 s), and ${count(slow.lost)} were given up.`,
    });
  }
  rows.push({
    measure:
      '7. logger.info() latency while the server answers each command after 1 s (p50 / p99), 20,000 calls in rounds of 400 every 20 ms',
    options: DEFAULTS,
    figure: `${ns(percentile(slow.samples, 50))} / ${ns(percentile(slow.samples, 99))}`,
    reference: `fast server: ${ns(percentile(fast.samples, 50))} / ${ns(percentile(fast.samples, 99))}; by \`close()\` (default \`closeTimeoutMs\`, 10 s): ${count(slow.mailed)} mailed and ${lostFigure(slow.lost)} with the slow server, ${count(fast.mailed)} and ${lostFigure(fast.lost)} with the fast one`,
    ratio,
    target: 'p99 ≤ 2x',
    met: ratio <= 2,
  });
}

interface OutageRun {
  logged: number;
  messageBytes: number;
  baselineMb: number;
  growthMb: number;
  heapGrowthMb: number;
  peakRssGrowthMb: number;
  peakHeapGrowthMb: number;
  dropped: number;
  givenUp: number;
  pending: number;
  bytesPending: number;
  exact: boolean;
  warnings: string[];
}

// The bound is on an estimate of what entries hold; the heap may exceed it by the estimate's error.
const OUTAGE_LIMIT_MB = 80;
const OUTAGE_TARGET = `< ${OUTAGE_LIMIT_MB} MiB heap growth (\`maxBufferedBytes\` + 25 %), exact count`;

async function memoryUnderOutage(): Promise<void> {
  const outage = (entries: number, messageBytes = 0) =>
    runScenario<OutageRun>('memory-outage.ts', [String(entries), String(messageBytes)], ['--expose-gc']);
  const describe = (run: OutageRun) =>
    `+${mb(run.heapGrowthMb)} heap, +${mb(run.growthMb)} RSS; \`bytesPending\` ${bytes(run.bytesPending)}; ${count(run.pending)} pending, ${count(run.dropped)} dropped, ${count(run.givenUp)} given up (${run.exact ? 'exact' : '**NOT exact**'})`;
  const small = await outage(1_000_000);
  rows.push({
    measure: `8. Memory under outage: ${count(small.logged)} short entries, server down, after forced GC`,
    options: DEFAULTS,
    figure: describe(small),
    reference: `baseline RSS ${mb(small.baselineMb)}; peak before GC (garbage included): +${mb(small.peakHeapGrowthMb)} heap, +${mb(small.peakRssGrowthMb)} RSS`,
    ratio: undefined,
    target: OUTAGE_TARGET,
    met: small.heapGrowthMb < OUTAGE_LIMIT_MB && small.exact,
  });
  const big: OutageRun[] = [];
  for (const entries of [3000, 9000]) big.push(await outage(entries, 100 * 1024));
  const [three, nine] = big;
  if (!three || !nine) return;
  for (const [index, run] of big.entries()) {
    rows.push({
      measure: `8${index === 0 ? 'b' : 'c'}. Memory under outage: ${count(run.logged)} entries of 100 KB messages, server down, after forced GC`,
      options: DEFAULTS,
      figure: describe(run),
      reference: `baseline RSS ${mb(run.baselineMb)}; peak before GC (garbage included): +${mb(run.peakHeapGrowthMb)} heap, +${mb(run.peakRssGrowthMb)} RSS; the previous design grew the heap by ${index === 0 ? '700 MB' : '2 GB'}`,
      ratio: index === 0 ? undefined : nine.heapGrowthMb / three.heapGrowthMb,
      target: index === 0 ? OUTAGE_TARGET : 'as 8, and no more than 8b (≤ 1.2x)',
      met:
        run.heapGrowthMb < OUTAGE_LIMIT_MB &&
        run.exact &&
        (index === 0 || nine.heapGrowthMb <= 1.2 * Math.max(three.heapGrowthMb, 1)),
    });
  }
}

async function realRelay(): Promise<void> {
  const {
    WBM_BENCH_HOST: host,
    WBM_BENCH_PORT: port = '587',
    WBM_BENCH_USER: user,
    WBM_BENCH_PASS: pass,
  } = process.env;
  const { WBM_BENCH_CA: ca, WBM_BENCH_TO: to, WBM_BENCH_FROM: from, WBM_BENCH_SEED: seed } = process.env;
  // The CLI's `send` mails exactly `--count` entries in mails of `--capacity`, as the seed does.
  const options = '**`rateLimit: false`** (the CLI `send` command), `capacity: 100`';
  if (!host || !user || !pass || !to || !from) {
    rows.push({
      measure: '9. End to end on a real relay: 20,000 entries at capacity 100, whole process',
      options,
      figure: 'not run',
      reference:
        'set WBM_BENCH_HOST, WBM_BENCH_PORT, WBM_BENCH_USER, WBM_BENCH_PASS, WBM_BENCH_CA, WBM_BENCH_TO, WBM_BENCH_FROM (and WBM_BENCH_SEED for the reference)',
      ratio: undefined,
      target: '≤ 0.67x the seed',
      met: undefined,
    });
    return;
  }
  const env = { ...process.env, SMTP_PASSWORD: pass };
  const ours: number[] = [];
  const reference: number[] = [];
  for (let round = 0; round < 3; round++) {
    const run = await runProcess(
      process.execPath,
      [
        'dist/cli.js',
        'send',
        host,
        user,
        '-',
        to,
        from,
        '--port',
        port,
        '--count',
        '20000',
        '--capacity',
        '100',
        ...(ca ? ['--ca', ca] : []),
      ],
      env,
    );
    if (run.status !== 0) throw new Error(`send failed: ${run.out}`);
    ours.push(run.ms);
    if (seed) {
      const seedRun = await runProcess('python3', [
        seed,
        host,
        user,
        pass,
        to,
        from,
        '--port',
        port,
        '--count',
        '20000',
        '--capacity',
        '100',
        ...(ca ? ['--cafile', ca] : []),
      ]);
      if (seedRun.status !== 0) throw new Error(`seed failed: ${seedRun.out}`);
      reference.push(seedRun.ms);
    }
  }
  const ratio = seed ? median(ours) / median(reference) : undefined;
  rows.push({
    measure: `9. End to end on a real relay (${host}:${port}): 20,000 entries at capacity 100, whole process`,
    options,
    figure: ms(median(ours)),
    reference: seed ? `the seed (new connection per batch): ${ms(median(reference))}` : 'WBM_BENCH_SEED not set',
    ratio,
    target: '≤ 0.67x the seed',
    met: ratio === undefined ? undefined : ratio <= 0.67,
  });
}

interface RelayPooledRun {
  skipped?: string;
  server: string;
  entries: number;
  mails: number;
  oursMedianMs: number;
  oursInTurnsMedianMs: number;
  directMedianMs: number;
  winstonAloneMedianMs: number;
  oursMs: number[];
  oursInTurnsMs: number[];
  directMs: number[];
  winstonAloneMs: number[];
  floorInTurnsMedianMs: number;
  floorInTurnsMs: number[];
  warnings: string[];
  load: string;
}

async function relayPooled(): Promise<void> {
  const run = await runScenario<RelayPooledRun>('relay-pooled.ts');
  const measure = (where: string) =>
    `9b. End to end on a real relay${where}, in one process: 20,000 entries in 200 mails of 100 over one pooled connection, from the first call until \`flush()\` resolves`;
  const options = '**`rateLimit: false`**, `capacity: 100`; `flushOnExit: false`';
  const target = '≤ 1.1x nodemailer alone';
  if (run.skipped !== undefined) {
    rows.push({
      measure: measure(''),
      options,
      figure: 'not run',
      reference: run.skipped,
      ratio: undefined,
      target,
      met: undefined,
    });
    return;
  }
  const reference = `nodemailer alone sending the same 200 rendered mails (headers included), pooled, one connection: ${ms(run.directMedianMs)} (rounds: ${run.directMs.map(ms).join(', ')})`;
  rows.push({
    measure: `${measure(` (${run.server})`)}, the entries logged in one loop`,
    options,
    figure: `${ms(run.oursMedianMs)} (rounds: ${run.oursMs.map(ms).join(', ')})`,
    reference: `${reference}; winston alone logging the entries to a no-op transport, same format: ${ms(run.winstonAloneMedianMs)} (rounds: ${run.winstonAloneMs.map(ms).join(', ')}), which the loop holds before any mail can go, so that no transport can take less than the two together, ${ms(run.winstonAloneMedianMs + run.directMedianMs)} (${((run.winstonAloneMedianMs + run.directMedianMs) / run.directMedianMs).toFixed(2)}x); ${run.warnings.length === 0 ? 'no warning' : `**warnings: ${run.warnings.join('; ')}**`}; load ${run.load}`,
    ratio: run.oursMedianMs / run.directMedianMs,
    target,
    met: run.oursMedianMs / run.directMedianMs <= 1.1,
  });
  rows.push({
    measure: `9c. The same, the entries logged a batch (100) a turn of the event loop, as an application logs while it works`,
    options,
    figure: `${ms(run.oursInTurnsMedianMs)} (rounds: ${run.oursInTurnsMs.map(ms).join(', ')})`,
    reference: `${reference}; winston logging the entries the same way to a no-op transport while nodemailer alone sends the mails, both from the start, the least any transport could take: ${ms(run.floorInTurnsMedianMs)} (${(run.floorInTurnsMedianMs / run.directMedianMs).toFixed(2)}x; rounds: ${run.floorInTurnsMs.map(ms).join(', ')})`,
    ratio: run.oursInTurnsMedianMs / run.directMedianMs,
    target,
    met: run.oursInTurnsMedianMs / run.directMedianMs <= 1.1,
  });
}

function table(): string {
  const header = '| what | options | figure | reference | ratio | target | met |\n|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (row) =>
      `| ${row.measure} | ${row.options} | ${row.figure} | ${row.reference} | ${row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`} | ${row.target} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`,
  );
  return [header, ...lines].join('\n');
}

/** What the rows measure and why, whatever the figures of a run. */
const STATIC_FINDINGS: Array<{ row: number; text: string }> = [
  {
    row: 1,
    text: `- **1. Hot path.** At capacity 100, every 100th call hands a full batch to the queue; its mail is
  rendered and sent later, between calls. Each sample logs into a fresh transport and the previous
  one is closed between samples, untimed, so that nothing piles up across samples. The difference
  to a no-op transport is the cost of keeping entries until their mail goes, where a no-op
  transport lets them die young, and of handing a batch over every 100 calls, less some work:
  with the default format, the transport reads and redacts an entry in one pass and makes no line
  (the mail renders it from the entry), where the no-op transport's copy of the format makes one.`,
  },
  {
    row: 3,
    text: `- **3. Burst.** The logging loop is a small part of the wall time; the rest is the paced rate limit:
  10 mails go at once, then one every 6 s, each merging the batches that waited, up to
  \`maxMailBytes\` as estimated before rendering. The estimate counts twice each line's length for
  the text part, so merged mails of short ASCII lines stop near half of the 4 MiB cap (see the
  largest mail), and the burst needs more paced mails than the cap alone would.`,
  },
  {
    row: 6,
    text: `- **6. Wire speed.** The reference sends mails that already exist, so the ratio includes the cost
  of producing 100,000 log entries through winston (formatting and dispatch, the same with any
  transport) and of rendering them.`,
  },
  {
    row: 7,
    text: `- **7. Never blocking.** \`logger.info()\` only appends to the buffer; a full batch is handed to a
  queue and rendered when its turn comes, so a slow server changes nothing on the logging path.`,
  },
  {
    row: 8,
    text: `- **8. Memory under outage.** What is held is bounded by \`maxBufferedBytes\`, estimated from each
  entry's line (twice its length plus 320 bytes); beyond it the oldest waiting entries are
  dropped, counted exactly. So memory stays near the bound whatever the number or the size of
  the entries logged during the outage. The peak before GC is garbage the collector had not yet
  reclaimed (large strings wait for a full collection), not memory held.`,
  },
  {
    row: 9,
    text: `- **9. Real relay.** The seed opens a connection, upgrades it to TLS and logs in for every batch:
  200 times for 20,000 entries at capacity 100. This transport keeps one conversation open while
  mails are queued (nodemailer's pool, one connection, renewed every 100 mails). Both figures
  include the start-up of the process.`,
  },
  {
    row: 9,
    text: `- **9b. Real relay, in one process.** The reference is nodemailer alone, sending the transport's
  own 200 mails, headers included (recorded beforehand through a transporter that only keeps
  them), over one pooled connection, renewed every 100 mails as the transport's is. The difference
  is what the transport adds, and winston: the 20,000 calls of one loop hold the event loop before
  any mail can go, and winston's own work in them (the row's reference gives it) is part of the
  figure whatever transport it feeds. Without a rate limit the transport renders the next mail
  while one is on the wire: once nodemailer has written the whole message, while the server
  works on its answer, which is when the process has nothing else to do. Row 9c logs the same
  entries a batch a turn, so that mails go while the application logs.`,
  },
];

interface JournalSide {
  onNs: number;
  offNs: number;
  noopNs: number;
  onToNoop: number;
  offToNoop: number;
  onToOff: number;
}

interface JournalRun {
  calls: number;
  rounds: number;
  turn: number;
  waiting: JournalSide;
  delivered: JournalSide;
  growthBytesPer100k: number;
  load: string;
}

async function journalCost(): Promise<void> {
  const run = await runScenario<JournalRun>('hot-path-journal.ts', [], ['--expose-gc']);
  const { waiting, delivered } = run;
  const rounds = `${run.rounds} rounds of ${count(run.calls)} calls in turns of ${run.turn}, alternating`;
  rows.push({
    measure: `1d. Hot path with \`journal: true\`, entries waiting (the relay has not answered the first mail), ${rounds}`,
    options: `${DEFAULTS}, \`spoolDir\`, **\`journal: true\`**`,
    figure: ns(waiting.onNs),
    reference: `no-op transport, same format: ${ns(waiting.noopNs)}; without the journal ${ns(waiting.offNs)} (${waiting.offToNoop.toFixed(2)}x the no-op; the journal adds ${waiting.onToOff.toFixed(2)}x); load ${run.load}`,
    ratio: waiting.onToNoop,
    target: '≤ 1.5x',
    met: waiting.onToNoop <= 1.5,
  });
  rows.push({
    measure: `1e. The same, every mail accepted at once (rendering and retiring from the journal in the rounds)`,
    options: `${DEFAULTS}, \`spoolDir\`, **\`journal: true\`**`,
    figure: ns(delivered.onNs),
    reference: `no-op transport: ${ns(delivered.noopNs)}; without the journal ${ns(delivered.offNs)} (${delivered.offToNoop.toFixed(2)}x; the journal adds ${delivered.onToOff.toFixed(2)}x)`,
    ratio: delivered.onToNoop,
    target: '',
    met: undefined,
  });
  rows.push({
    measure: '1f. Journal on disk for 100,000 waiting entries of a request log, nothing retired',
    options: `${DEFAULTS}, \`spoolDir\`, **\`journal: { maxJournalBytes: 256 MiB }\`** (the default 16 MiB holds about 80,000 of them)`,
    figure: `${(run.growthBytesPer100k / 2 ** 20).toFixed(1)} MiB`,
    reference: `${Math.round(run.growthBytesPer100k / 100_000)} bytes an entry; compacted as entries are retired`,
    ratio: undefined,
    target: '',
    met: undefined,
  });
}

async function journalWrites(): Promise<void> {
  const { results } = await runScenario<{ results: Array<{ measure: string; fsync: string; nsPerEntry: number }> }>(
    'journal.ts',
  );
  const find = (fsync: string) =>
    results.find((result) => result.fsync === fsync && result.measure.startsWith('append and retire'))?.nsPerEntry ?? 0;
  const never = find('never');
  const turn = find('turn');
  rows.push({
    measure:
      '1g. The journal alone: 100,000 typical entries appended in turns of 100, each turn retiring those of three turns before, per entry',
    options: '**`journal: { fsync }`** as named',
    figure: `\`'never'\`: ${ns(never)}; \`'turn'\`: ${ns(turn)}`,
    reference: `\`'turn'\` adds one \`fdatasync\` a turn: ${(((turn - never) * 100) / 1e6).toFixed(2)} ms a turn on this machine's disk; load ${loadAverage()}`,
    ratio: never === 0 ? undefined : turn / never,
    target: '',
    met: undefined,
  });
}

async function main(): Promise<void> {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
  const loadAtStart = loadAverage();
  const started = performance.now();
  const only = process.argv.slice(2);
  const steps: Array<[string, () => Promise<void>]> = [
    ['hot', hotPath],
    ['hot-full', hotPathFullBuffer],
    ['journal', journalCost],
    ['journal-writes', journalWrites],
    ['burst', burst],
    ['stream', steadyStream],
    ['stall', transportStall],
    ['e2e', endToEndInProcess],
    ['blocking', neverBlocking],
    ['memory', memoryUnderOutage],
    ['relay', realRelay],
    ['relay-pooled', relayPooled],
  ];
  for (const [name, step] of steps) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name} (load average ${loadAverage()})...\n`);
    await step();
  }
  const body = `# Benchmarks

Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} in ${Math.round((performance.now() - started) / 60_000)} minutes. Machine: ${machine}, shared with
other work: load average (1, 5, 15 min) ${loadAtStart} at the start, ${loadAverage()} at the end.

Headline figures are measured at **default options**, as a user who sets nothing gets them: capacity
100, at most 20 mails a minute (10 at once, then one every 6 s), \`maxBufferedBytes\` 64 MiB,
\`maxMailBytes\` 4 MiB. The \`options\` column names anything else; a row whose options are in bold
is not a headline. Rows 3 to 5 and 8 run in a process of their own, with the SMTP server (the
package's local server: STARTTLS, AUTH, every mail parsed by mailparser) in another one, so that
its work counts neither in the memory nor in the event loop measured; they use the real clock.
Each ratio compares two figures measured in the same run; absolute times are shown, not judged.
Hot-path figures of rows 1 and 2 are tinybench medians of samples of 1,000 calls, each measured
three times, interleaved, and the median kept; row 1c runs in a process of its own, in rounds of
20,000 calls alternating with the no-op transport, each after a full collection and ending with
two scavenges (so that a round pays for copying all it keeps), and keeps the median of the
per-round ratios; row 6 is the median of 3 runs, rows 9b and 9c of 5 rounds after one untimed
round, alternating which side goes first; memory is measured after full
garbage collections. Event-loop delay is Node's \`monitorEventLoopDelay\` at 1 ms resolution: a
value includes that 1 ms.

${table()}

## Where the time goes

${[...STATIC_FINDINGS, ...findings]
  .sort((a, b) => a.row - b.row)
  .map((finding) => finding.text)
  .join('\n')}
`;
  if (only.length === 0) writeFileSync(join(ROOT, 'BENCHMARKS.md'), body);
  process.stdout.write(`${body}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
