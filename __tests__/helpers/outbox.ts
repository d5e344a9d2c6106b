import type { CapturedEntry } from '../../src/entry';
import type { MailMessage } from '../../src/options';
import { Ledger, type TransportStats } from '../../src/outbox/ledger';
import { Outbox, type OutboxOptions } from '../../src/outbox/outbox';
import type { FailureKind, Problem, RenderedPart, SpooledPart } from '../../src/outbox/ports';
import { ManualClock } from './manual-clock';

/** An entry as the transport keeps it, whose line is its text. */
export function entry(text: string, extra: Partial<CapturedEntry> = {}): CapturedEntry {
  return {
    level: 'info',
    timestamp: undefined,
    message: text,
    metaJson: undefined,
    stack: undefined,
    line: text,
    crash: false,
    ...extra,
  };
}

export function crashEntry(text: string): CapturedEntry {
  return entry(text, { level: 'error', crash: true });
}

/** A send the test settles by hand. */
export interface PendingSend {
  message: MailMessage;
  accept(): void;
  fail(error: unknown): void;
}

/**
 * A mailer whose every send waits for the test to accept or fail it, so that the outbox's policy
 * can be driven step by step; `abort()` fails the send in progress as the mail layer does. A send
 * settled once ignores what the test does with it afterwards, as a promise does.
 */
export class ScriptedMailer {
  readonly sends: PendingSend[] = [];
  readonly delivered: MailMessage[] = [];
  aborts = 0;
  releases = 0;
  private readonly sendWaiters: Array<() => void> = [];
  private readonly releaseWaiters: Array<() => void> = [];

  /** Calls `onWritten` on the next turn, as the mail layer does for a transporter that cannot tell. */
  send(message: MailMessage, _encodings?: unknown, onWritten?: () => void): Promise<{ messageId?: string }> {
    if (onWritten) setImmediate(onWritten);
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => () => {
        const index = this.sends.indexOf(pending);
        if (index === -1) return;
        this.sends.splice(index, 1);
        outcome();
      };
      const pending: PendingSend = {
        message,
        accept: settle(() => {
          this.delivered.push(message);
          resolve({ messageId: `<${this.delivered.length}@test>` });
        }),
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the test decides what the mailer rejects with, as nodemailer would
        fail: (error) => settle(() => reject(error))(),
      };
      this.sends.push(pending);
      this.sendWaiters.splice(0).forEach((wake) => wake());
    });
  }

  abort(): void {
    this.aborts++;
    for (const pending of [...this.sends]) pending.fail(failures.aborted);
  }

  /** The outbox calls it when it has nothing left to send. */
  release(): void {
    this.releases++;
    this.releaseWaiters.splice(0).forEach((wake) => wake());
  }

  /** The send in progress, once there is one. */
  next(): Promise<PendingSend> {
    return new Promise((resolve) => {
      const check = () => {
        const pending = this.sends[0];
        if (pending) resolve(pending);
        else this.sendWaiters.push(check);
      };
      check();
    });
  }

  /** Resolves at the next `release()`. */
  nextRelease(): Promise<void> {
    return new Promise((resolve) => this.releaseWaiters.push(resolve));
  }
}

/** What the outbox does next: a send it started, a wait on a timer, or nothing (all delivered). */
export type OutboxMove = PendingSend | 'waiting' | 'idle';

/**
 * What the outbox does next, once it has done what it can at the current time: start a send, wait
 * for a timer (at once if one is set: the outbox is waiting), or stop, every entry delivered (at
 * once if it holds none and sends nothing). Call it right after what may set the outbox going
 * (accepting an entry, settling a send, moving the clock), before anything else is awaited.
 */
export function nextMove(outbox: Outbox, mailer: ScriptedMailer, clock: ManualClock): Promise<OutboxMove> {
  if (outbox.pendingEntries === 0 && mailer.sends.length === 0) return Promise.resolve('idle');
  return Promise.race([
    mailer.next(),
    clock.whenTimerSet().then(() => 'waiting' as const),
    mailer.nextRelease().then(() => 'idle' as const),
  ]);
}

/** The entry lines of a delivered mail, notices left out. */
export function lines(message: { text: string } | undefined): string[] {
  return (message?.text ?? '').split('\n').filter((line) => line !== '' && !line.startsWith('[winston-buffered-mail]'));
}

/** Errors shaped like nodemailer's, by kind. */
export const failures: Record<FailureKind, unknown> = {
  transient: Object.assign(new Error('451 try later'), { responseCode: 451 }),
  permanent: Object.assign(new Error('550 no'), { responseCode: 550 }),
  refusal: Object.assign(new Error('535 bad login'), { code: 'EAUTH', responseCode: 535 }),
  'too-large': Object.assign(new Error('552 too big'), { responseCode: 552 }),
  aborted: Object.assign(new Error('aborted'), { code: 'EABORTED' }),
};

function classify(error: unknown): FailureKind {
  for (const [kind, sample] of Object.entries(failures)) if (sample === error) return kind as FailureKind;
  return 'transient';
}

/** A spool in memory, shaped like the real one. */
export class MemorySpool {
  readonly written: RenderedPart[] = [];
  readonly waiting: SpooledPart[] = [];
  readonly removed: string[] = [];
  readonly released: string[] = [];
  /** How many more mails can be written; Infinity for a healthy disk. */
  room = Number.POSITIVE_INFINITY;

  write(mail: RenderedPart): boolean {
    if (this.room <= 0) return false;
    this.room--;
    this.written.push(mail);
    return true;
  }

  next(): Promise<SpooledPart | undefined> {
    return Promise.resolve(this.waiting.shift());
  }

  remove(mail: SpooledPart): void {
    this.removed.push(mail.file);
  }

  release(mail: SpooledPart): void {
    this.released.push(mail.file);
  }
}

/** Renders one line per entry, splitting every `perMail` entries, as the render layer would by size. */
function renderLines(perMail: number) {
  return (entries: readonly CapturedEntry[], notices: readonly string[]): RenderedPart[] => {
    const parts: RenderedPart[] = [];
    for (let start = 0; start < entries.length; start += perMail) {
      const slice = entries.slice(start, start + perMail);
      const lines = slice.map((item) => item.line ?? item.message);
      parts.push({
        count: slice.length,
        subject: `${slice.length} entries`,
        text: `${[...(start === 0 ? notices : []), ...lines].join('\n')}\n`,
      });
    }
    return parts;
  };
}

/** An outbox on a manual clock with a scripted mailer, recording what it reports. */
export function scriptedOutbox(overrides: Partial<OutboxOptions> & { perMail?: number } = {}) {
  const clock = new ManualClock();
  const mailer = new ScriptedMailer();
  const ledger = new Ledger();
  const problems: Problem[] = [];
  const sent: number[] = [];
  const { perMail = 1_000_000, ...options } = overrides;
  const render = renderLines(perMail);
  const outbox = new Outbox({
    clock,
    mailer,
    spool: undefined,
    reporter: { warn: (problem) => problems.push(problem), mailSent: (count) => sent.push(count) },
    ledger,
    render: (entries, notices) => Promise.resolve(render(entries, notices)),
    renderNow: render,
    toMessage: (part) => ({ from: 'a@example.com', to: ['b@example.com'], subject: part.subject, text: part.text }),
    classify,
    capacity: 10,
    mode: 'batch',
    flushIntervalMs: undefined,
    isTrigger: (item) => item.crash,
    retry: { attempts: 3, minDelayMs: 1000, maxDelayMs: 8000 },
    rateLimit: undefined,
    maxBufferedBytes: 64 * 1024 * 1024,
    maxBufferedEntries: undefined,
    maxMailBytes: 4 * 1024 * 1024,
    estimateMailBytes: (item) => (item.line ?? item.message).length + 1,
    ...options,
  });
  const stats = () => ledger.snapshot(outbox.pendingEntries, outbox.pendingBytes);
  return { outbox, clock, mailer, ledger, problems, sent, stats };
}

/**
 * Every accepted entry is mailed, given up, spooled, dropped, context-discarded or pending: the
 * identity `stats()` promises, asserted at the end of every delivery test. Takes the stats, or the
 * transport (or anything with `stats()`) to read them from.
 */
export function expectEveryEntryAccounted(source: TransportStats | { stats(): TransportStats }): void {
  const stats = 'stats' in source ? source.stats() : source;
  const outcomes =
    stats.entriesMailed +
    stats.entriesGivenUp +
    stats.entriesSpooled +
    stats.entriesDropped +
    stats.entriesContextDiscarded +
    stats.entriesPending;
  const accepted = stats.entriesLogged + stats.entriesRecovered;
  expect({ accepted, outcomes }).toEqual({ accepted, outcomes: accepted });
}
