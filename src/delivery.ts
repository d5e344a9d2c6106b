import type { Mailer } from './mailer';
import type { LogEntry, MailMessage } from './options';

/** What happened to one batch. */
export interface DeliveryReport {
  delivered(count: number, messageId: string | undefined): void;
  failed(error: unknown, count: number): void;
}

interface Job {
  readonly entries: LogEntry[];
  abandoned: boolean;
}

/**
 * Sends batches one at a time, in the order they were submitted. Submitting never waits; the
 * mail is composed when its turn comes, so rendering stays off the logging path.
 */
export class Delivery {
  private tail: Promise<void> = Promise.resolve();
  private readonly jobs = new Set<Job>();

  constructor(
    private readonly mailer: Mailer,
    private readonly compose: (entries: LogEntry[]) => MailMessage,
    private readonly report: DeliveryReport,
  ) {}

  /** The number of batches submitted and not yet delivered or given up. */
  get pending(): number {
    return this.jobs.size;
  }

  submit(entries: LogEntry[]): void {
    const job: Job = { entries, abandoned: false };
    this.jobs.add(job);
    this.tail = this.tail.then(() => this.deliver(job));
  }

  /** Resolves once every batch submitted so far is delivered or given up; never rejects. */
  settled(): Promise<void> {
    return this.tail;
  }

  /**
   * Gives up every batch not yet delivered, including the one being sent, whose conversation is
   * cut. Returns the number of entries given up; they are not reported again.
   */
  abandon(): number {
    let count = 0;
    for (const job of this.jobs) {
      job.abandoned = true;
      count += job.entries.length;
    }
    this.jobs.clear();
    this.mailer.release();
    return count;
  }

  private async deliver(job: Job): Promise<void> {
    if (job.abandoned) return;
    let outcome: { messageId: string | undefined } | { error: unknown };
    try {
      const info = await this.mailer.send(this.compose(job.entries));
      outcome = { messageId: typeof info?.messageId === 'string' ? info.messageId : undefined };
    } catch (error) {
      outcome = { error };
    }
    if (job.abandoned) return;
    this.jobs.delete(job);
    if (this.jobs.size === 0) this.mailer.release();
    // A listener that throws must neither break the queue nor turn into an unhandled rejection:
    // it surfaces as an exception of its own, as it would from any event emitter.
    try {
      if ('error' in outcome) this.report.failed(outcome.error, job.entries.length);
      else this.report.delivered(job.entries.length, outcome.messageId);
    } catch (listenerError) {
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }
}
