// What the scenarios at default options share: the SMTP server in a process of its own, the
// transport as a user sets it up, and the measures of memory and of the event loop.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { BufferedMailTransport, type BufferedMailTransportOptions } from '../src';
import TransportStream from 'winston-transport';
import type { ServerMessage } from './smtp-server-process';

/** One mail as the server process summarised it. */
export interface MailSummary {
  /** The raw message as it arrived, in bytes. */
  bytes: number;
  /** Lines of its text part that carry the marker: the entries it brought. */
  entries: number;
  secure: boolean;
  user: string | undefined;
}

/** The local SMTP server (STARTTLS + AUTH) running in a child process. */
export interface ServerProcess {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly ca: string;
  readonly credentials: { user: string; pass: string };
  readonly mails: MailSummary[];
  /** Resolves once `count` mails have been summarised; rejects after `timeoutMs`. */
  waitForMails(count: number, timeoutMs?: number): Promise<void>;
  stop(): void;
}

/** Starts the server process; `marker` is the text that identifies an entry's line in a mail. */
export function startServerProcess(marker: string): Promise<ServerProcess> {
  // Not the parent's own flags: --cpu-prof or --expose-gc are for the process being measured.
  const child = fork(join(__dirname, 'smtp-server-process.ts'), [marker], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const mails: MailSummary[] = [];
  const waiters = new Set<() => void>();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`The SMTP server process exited early (${code})`)));
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'mail') {
        const { bytes, entries, secure, user } = message;
        mails.push({ bytes, entries, secure, user });
        waiters.forEach((check) => check());
        return;
      }
      resolve({
        host: '127.0.0.1',
        port: message.port,
        ca: message.ca,
        credentials: message.credentials,
        mails,
        waitForMails(count, timeoutMs = 30_000) {
          return new Promise<void>((done, fail) => {
            const check = () => {
              if (mails.length < count) return;
              waiters.delete(check);
              clearTimeout(timer);
              done();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`Expected ${count} mails at the server, got ${mails.length} within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        stop() {
          child.removeAllListeners('exit');
          child.disconnect();
        },
      });
    });
  });
}

/**
 * A transport as a user sets it up: every option at its default except the server, the
 * addresses and the certificate to trust, plus `extra` where a scenario names an option.
 */
export function transportAtDefaults(
  server: ServerProcess,
  extra: Partial<BufferedMailTransportOptions> = {},
): BufferedMailTransport {
  return new BufferedMailTransport({
    smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
    from: 'bench@example.com',
    to: 'ops@example.com',
    ...extra,
  });
}

const MiB = 2 ** 20;

/** Peak resident memory of this process since it started, in MiB (the kernel's own high-water mark). */
export function peakRssMb(): number {
  return (process.resourceUsage().maxRSS * 1024) / MiB;
}

export function rssMb(): number {
  return process.memoryUsage.rss() / MiB;
}

export function heapUsedMb(): number {
  return getHeapStatistics().used_heap_size / MiB;
}

/** The highest heap use seen by `sample()`, which the scenario calls where it likes and a 10 ms timer calls too. */
export class HeapPeak {
  peakMb = heapUsedMb();
  private readonly timer = setInterval(() => this.sample(), 10);

  sample(): void {
    this.peakMb = Math.max(this.peakMb, heapUsedMb());
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/** Event-loop delay, as Node measures it with a 1 ms timer: max and p99 in milliseconds. */
export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

export function startLoopDelay(): { stop(): LoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6 };
    },
  };
}

/** A stretch of time during which a 1 ms timer could not run, in microseconds of the monotonic clock. */
export interface Stall {
  fromUs: number;
  toUs: number;
}

/** Records every gap between two ticks of a 1 ms timer longer than `thresholdMs`. */
export function startStallWatch(thresholdMs: number): { stop(): Stall[] } {
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const stalls: Stall[] = [];
  let last = nowUs();
  const timer = setInterval(() => {
    const now = nowUs();
    if (now - last > thresholdMs * 1000) stalls.push({ fromUs: last, toUs: now });
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return stalls;
    },
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

/** Prints the scenario's result as the last line of the output, for bench/run.ts. */
export function report(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export const round1 = (value: number): number => Math.round(value * 10) / 10;

/** The reference of the logging-path rows: a transport that takes each entry and keeps nothing. */
export class NoopTransport extends TransportStream {
  override log(_info: unknown, next: () => void): void {
    next();
  }
}
