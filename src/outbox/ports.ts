import type { CapturedEntry } from '../entry';
import type { MailAttachment, MailMessage, PartEncodings } from '../options';

/** One mail of a rendered batch, as the render layer produces it. */
export interface RenderedPart {
  /** The number of entries in this mail. */
  count: number;
  subject: string;
  text: string;
  html?: string;
  attachments?: readonly MailAttachment[];
  /** How the text and HTML parts are encoded when sent, as their size was measured. */
  transferEncodings?: PartEncodings;
  /** The most severe level of its entries. */
  level?: string;
  /** The conversation it belongs to, and what that is about. */
  threadKey?: string;
  threadTopic?: string;
}

/** What the outbox needs from the mail layer. */
export interface OutboxMailer {
  /**
   * Sends one message. `onWritten` is called once all of it is on its way to the server, while
   * its answer is awaited: the time to prepare the next one. It is not called for a send that
   * fails before.
   */
  send(message: MailMessage, encodings?: PartEncodings, onWritten?: () => void): Promise<{ messageId?: string }>;
  /** Ends the conversation in progress at once; the send in progress rejects. */
  abort(): void;
  /** Nothing waits: let go of the connection so that it keeps no process alive. */
  release(): void;
}

/** A mail of an earlier run, claimed from the spool. */
export interface SpooledPart extends RenderedPart {
  readonly file: string;
}

/** What the outbox needs from the spool. */
export interface OutboxSpool {
  /** Writes a mail synchronously; false (after a warning of its own) when it could not. */
  write(mail: RenderedPart): boolean;
  /** Claims and reads the next mail of an earlier run; undefined when none is left. */
  next(): Promise<SpooledPart | undefined>;
  /** Delivered: forget it. */
  remove(mail: SpooledPart): void;
  /** Not delivered: leave it for the next start. */
  release(mail: SpooledPart): void;
}

/** How a failed send is treated. */
export type FailureKind = 'transient' | 'permanent' | 'refusal' | 'too-large' | 'aborted';

/** A delivery problem for the owner to report; `error` is raw, the owner sanitises it. */
export interface Problem {
  /** What happened, in the package's own words; the error's message follows. */
  context: string;
  error?: unknown;
  /** Our own code, when the problem is ours rather than the server's. */
  code?: string;
  /** The number of log entries concerned. */
  count: number;
}

/** Where the outbox tells what happened, one way: it never waits for an answer. */
export interface OutboxReporter {
  warn(problem: Problem): void;
  mailSent(count: number, messageId: string | undefined): void;
}

/** Renders entries into mails, in slices that leave the event loop free between them. */
export type RenderMails = (entries: readonly CapturedEntry[], notices: readonly string[]) => Promise<RenderedPart[]>;
/** The same, at once: used only while the process exits, when nothing asynchronous runs. */
export type RenderMailsNow = (entries: readonly CapturedEntry[], notices: readonly string[]) => RenderedPart[];

/** What the outbox needs from the write-ahead journal. */
export interface OutboxJournal {
  /** Writes the entry within this turn; at once when `urgent`. */
  append(entry: CapturedEntry, urgent: boolean): void;
  /** The entries are in a mail about to go to the server: if the run ends now, they may arrive twice. */
  markSending(entries: Iterable<CapturedEntry>): void;
  /** The entry has its outcome: it is not recovered any more. */
  retire(entry: CapturedEntry): void;
  retireAll(entries: Iterable<CapturedEntry>): void;
  /** The process is exiting: write what is pending, and remove the journal when nothing is left. */
  close(): void;
}
