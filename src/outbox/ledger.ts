/** Counters since the transport was created, from `stats()`. */
export interface TransportStats {
  /** Entries accepted by the transport. */
  entriesLogged: number;
  /**
   * Entries of an earlier run that ended without shutting down, recovered from its journal; from
   * then on they are counted like the entries logged here.
   */
  entriesRecovered: number;
  /**
   * Of those, the entries that were in a mail on its way to the server when that run ended: they
   * may have been delivered then, and arrive twice.
   */
  entriesRecoveredInFlight: number;
  /** Entries in mails the server accepted. */
  entriesMailed: number;
  /** Mails the server accepted, spooled mails of earlier runs included. */
  mailsSent: number;
  /** Tries repeated after a transient failure. */
  retries: number;
  /** Mails given up: permanent failure, or retries exhausted with no `spoolDir`. */
  mailsGivenUp: number;
  /** Entries in those mails. */
  entriesGivenUp: number;
  /** Entries dropped because `maxBufferedBytes` or `maxBufferedEntries` was reached. */
  entriesDropped: number;
  /** Mails written to `spoolDir` for a later run. */
  mailsSpooled: number;
  /** Entries in those mails. */
  entriesSpooled: number;
  /** Entries of earlier runs delivered from `spoolDir`. */
  entriesFromSpool: number;
  /** Entries that left the `'context'` ring unmailed, as that mode intends. */
  entriesContextDiscarded: number;
  /** Entries waiting now, in the buffer or in mails not yet delivered. */
  entriesPending: number;
  /** Estimated memory held by those entries, in bytes (see `maxBufferedBytes`). */
  bytesPending: number;
  /** Entries the `journal` could not hold (`maxJournalBytes`, or the disk failed): kept in memory only. */
  entriesNotJournaled: number;
}

/** Entries dropped for lack of room, and when they were logged. */
export interface DropSummary {
  count: number;
  first: string | undefined;
  last: string | undefined;
}

export function emptyDropSummary(): DropSummary {
  return { count: 0, first: undefined, last: undefined };
}

/** Adds what `more` dropped after `summary`, in place. */
export function addDrops(summary: DropSummary, more: DropSummary): void {
  if (more.count === 0) return;
  summary.count += more.count;
  summary.first ??= more.first;
  summary.last = more.last ?? summary.last;
}

/**
 * The one owner of every count. Each accepted entry ends in exactly one outcome (mailed, given
 * up, spooled, dropped, context-discarded) or is still pending; the outbox records outcomes here
 * as they happen, and `entriesPending` is read from what the outbox really holds, so that
 * `entriesLogged = entriesMailed + entriesGivenUp + entriesSpooled + entriesDropped +
 * entriesContextDiscarded + entriesPending` is a check, not a definition.
 */
export class Ledger {
  entriesLogged = 0;
  private entriesMailed = 0;
  private mailsSent = 0;
  private retries = 0;
  private mailsGivenUp = 0;
  private entriesGivenUp = 0;
  private entriesDropped = 0;
  private mailsSpooled = 0;
  private entriesSpooled = 0;
  private entriesFromSpool = 0;
  entriesContextDiscarded = 0;
  entriesRecovered = 0;
  entriesRecoveredInFlight = 0;
  /** Dropped entries that no delivered mail has announced yet. */
  private unannounced = emptyDropSummary();
  /** Drops since the last delivered mail: one warning per episode. */
  private episodeDrops = 0;

  mailed(entries: number, fromSpool: boolean): void {
    this.mailsSent++;
    if (fromSpool) this.entriesFromSpool += entries;
    else this.entriesMailed += entries;
    this.episodeDrops = 0;
  }

  retried(): void {
    this.retries++;
  }

  gaveUp(entries: number, mails: number): void {
    this.entriesGivenUp += entries;
    this.mailsGivenUp += mails;
  }

  spooled(entries: number, mails: number): void {
    this.entriesSpooled += entries;
    this.mailsSpooled += mails;
  }

  /** Records dropped entries; returns true for the first drop of an episode, which deserves a warning. */
  dropped(summary: DropSummary): boolean {
    if (summary.count === 0) return false;
    this.entriesDropped += summary.count;
    addDrops(this.unannounced, summary);
    const first = this.episodeDrops === 0;
    this.episodeDrops += summary.count;
    return first;
  }

  /** Entries dropped since the last delivered mail. */
  get droppedThisEpisode(): number {
    return this.episodeDrops;
  }

  /** Takes the drops the next mail must announce; give them back with `announceLater` if it fails. */
  takeUnannounced(): DropSummary {
    const summary = this.unannounced;
    this.unannounced = emptyDropSummary();
    return summary;
  }

  announceLater(summary: DropSummary): void {
    if (summary.count === 0) return;
    const later = this.unannounced;
    this.unannounced = { ...summary };
    addDrops(this.unannounced, later);
  }

  snapshot(entriesPending: number, bytesPending: number, entriesNotJournaled = 0): TransportStats {
    return {
      entriesLogged: this.entriesLogged,
      entriesRecovered: this.entriesRecovered,
      entriesRecoveredInFlight: this.entriesRecoveredInFlight,
      entriesMailed: this.entriesMailed,
      mailsSent: this.mailsSent,
      retries: this.retries,
      mailsGivenUp: this.mailsGivenUp,
      entriesGivenUp: this.entriesGivenUp,
      entriesDropped: this.entriesDropped,
      mailsSpooled: this.mailsSpooled,
      entriesSpooled: this.entriesSpooled,
      entriesFromSpool: this.entriesFromSpool,
      entriesContextDiscarded: this.entriesContextDiscarded,
      entriesPending,
      bytesPending,
      entriesNotJournaled,
    };
  }
}
