import type { Mailer, SmtpError } from './mailer';
import type { LogEntry, MailMessage } from './options';

/** What happened to one batch. */
export interface DeliveryReport {
  delivered(count: number, messageId: string | undefined): void;
  failed(error: unknown, count: number): void;
}

/**
 * Sends batches one at a time, in the order they were submitted. Submitting never waits; the
 * mail is composed when its turn comes, so rendering stays off the logging path.
 */
export class Delivery {
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor(
    private readonly mailer: Mailer,
    private readonly compose: (entries: LogEntry[]) => MailMessage,
    private readonly report: DeliveryReport,
  ) {}

  /** The number of batches submitted and not yet delivered or given up. */
  get pending(): number {
    return this.inFlight;
  }

  submit(entries: LogEntry[]): void {
    this.inFlight++;
    this.tail = this.tail.then(() => this.deliver(entries));
  }

  /** Resolves once every batch submitted so far is delivered or given up; never rejects. */
  settled(): Promise<void> {
    return this.tail;
  }

  private async deliver(entries: LogEntry[]): Promise<void> {
    let outcome: { messageId: string | undefined } | { error: unknown };
    try {
      const info = await this.mailer.send(this.compose(entries));
      outcome = { messageId: typeof info?.messageId === 'string' ? info.messageId : undefined };
    } catch (error) {
      outcome = { error: error as SmtpError };
    } finally {
      if (--this.inFlight === 0) this.mailer.release();
    }
    // A listener that throws must neither break the queue nor turn into an unhandled rejection:
    // it surfaces as an exception of its own, as it would from any event emitter.
    try {
      if ('error' in outcome) this.report.failed(outcome.error, entries.length);
      else this.report.delivered(entries.length, outcome.messageId);
    } catch (listenerError) {
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }
}
