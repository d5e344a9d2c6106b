import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { nextTurn, type Clock, type TimerHandle } from '../clock';
import type { CapturedEntry } from '../entry';
import { formatCount } from '../render/line';
import { firstLineOf } from '../render/subject';
import type { RateLimitOptions } from '../options';
import { setMostRecent } from '../recent-map';
import type { MailSlot, MailStore, ProblemCounts, ProblemNote } from '../store/store';
import type { RenotifyPolicy } from './renotify';

/** How long the occurrences of problems are counted here before they are added to the shared counts. */
export const TALLY_INTERVAL_MS = 1000;

// Problems counted between two additions, and first occurrences awaiting the shared answer, at
// most: beyond, the counts are lost (never an entry), and a first occurrence mails as if alone.
const MAX_TALLIED = 1000;
// Problems a mail asks the shared counts of, at most: the most frequent in it.
const MAX_COUNTED_PER_MAIL = 20;
const SLICE_MS = 2;

interface Tally {
  count: number;
  /** This process mailed the problem at once: whether it was first in the group decides if it goes. */
  firstHere: boolean;
}

/** The name of a problem in the shared store: short, and free of any text of the entry. */
function problemId(fingerprint: string): string {
  return createHash('sha256').update(fingerprint).digest('hex').slice(0, 32);
}

/** What a mail says about the group's counts of its problems. */
export interface ProblemNotices {
  readonly notices: string[];
  /** The mail with these notices is rendered: their counts are reported, and forgotten here. */
  reported(): void;
}

export interface FleetOptions {
  store: MailStore;
  clock: Clock;
  /** The problem an entry belongs to. */
  fingerprint: (entry: CapturedEntry) => string;
  /** Re-notification windows, shared by the group; undefined when every trigger entry mails at once. */
  renotify: Readonly<RenotifyPolicy> | undefined;
  /** Whether an entry counts as an occurrence of a problem (an entry of the trigger level). */
  isProblem: (entry: CapturedEntry) => boolean;
}

/**
 * What the outbox shares with the other transports of its group through a `MailStore`: the rate
 * window, and for each problem its re-notification window and its counts. Occurrences are
 * counted here on the logging path, synchronously, and added to the shared counts at most every
 * `TALLY_INTERVAL_MS` and before each mail; the store is only asked between mails, so that it
 * never stands in the way of `logger.info()`. The store given is expected never to reject (a
 * `FallbackStore`).
 */
export class Fleet {
  readonly #options: FleetOptions;
  #tally = new Map<string, Tally>();
  /** For a problem this process mailed at once, the group's answer to that occurrence. */
  readonly #firstAnswers = new Map<string, ProblemNote>();
  /** Counts taken from the store that no mail has reported yet. */
  readonly #unreported = new Map<string, ProblemCounts>();
  #timer: TimerHandle | undefined;
  #adding: Promise<void> = Promise.resolve();

  constructor(options: FleetOptions) {
    this.#options = options;
  }

  /** Takes a slot of the group's rate window. */
  takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot> {
    return this.#options.store.takeMailSlot(limit, nowMs);
  }

  /**
   * Counts an occurrence of the problem `fingerprint`; `firstHere` when this process mails it at
   * once. Synchronous and cheap: it runs on the logging path.
   */
  count(fingerprint: string, firstHere: boolean): void {
    if (this.#options.renotify === undefined) return;
    const tally = this.#tally.get(fingerprint);
    if (tally !== undefined) {
      tally.count++;
      tally.firstHere ||= firstHere;
    } else if (this.#tally.size < MAX_TALLIED) {
      this.#tally.set(fingerprint, { count: 1, firstHere });
    }
    if (firstHere) this.#firstAnswers.delete(fingerprint);
    this.#timer ??= this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.addCounts();
    }, TALLY_INTERVAL_MS);
  }

  /** Adds what was counted here to the group's counts; resolves once the store answered. */
  addCounts(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#options.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // One addition at a time, in order: an answer about a first occurrence must not be
    // overwritten by the answer to an older one.
    // Never left failed: the next addition must still run.
    this.#adding = this.#adding.then(() => this.#add()).catch(() => undefined);
    return this.#adding;
  }

  async #add(): Promise<void> {
    const policy = this.#options.renotify;
    if (policy === undefined || this.#tally.size === 0) return;
    const tally = this.#tally;
    this.#tally = new Map();
    const now = this.#options.clock.now();
    await Promise.all(
      [...tally].map(async ([fingerprint, { count, firstHere }]) => {
        const note = await this.#options.store.noteProblem(problemId(fingerprint), policy, now, count);
        if (firstHere) setMostRecent(this.#firstAnswers, fingerprint, note, MAX_TALLIED);
      }),
    );
  }

  /**
   * For a mail sent at once because of a problem this process saw first, when another transport
   * of the group already mailed it within its window: the time that window ends, when the
   * occurrences here are due as repeats. Undefined when the mail goes now. Asks the store first.
   */
  async repeatsUntil(fingerprint: string): Promise<number | undefined> {
    const policy = this.#options.renotify;
    if (policy === undefined) return undefined;
    await this.addCounts();
    const answer = this.#firstAnswers.get(fingerprint);
    this.#firstAnswers.delete(fingerprint);
    // No window ends later than the longest one from now, whatever a store answers; without an
    // answer (forgotten, or counted while the store was not asked) the mail goes.
    const latest = this.#options.clock.now() + Math.max(policy.delayMs, policy.maxDelayMs);
    if (answer === undefined || answer.first || answer.windowEndsAt > latest) return undefined;
    return answer.windowEndsAt;
  }

  /**
   * What a mail says about its problems beyond this process: for each problem of `entries` that
   * the group saw on more than one host since it was last reported, how often and on how many
   * hosts. Reads and resets those counts; not those of `first`, the problem this mail is the
   * first about, which the next mail about it reports.
   */
  async problemNotices(entries: readonly CapturedEntry[], first: string | undefined): Promise<ProblemNotices> {
    const none: ProblemNotices = { notices: [], reported: () => undefined };
    if (this.#options.renotify === undefined) return none;
    const problems = new Map<string, { message: string; count: number }>();
    let sliceStart = performance.now();
    for (let index = 0; index < entries.length; index++) {
      // Fingerprints cost microseconds each: thousands of them leave the event loop free in between.
      if (index % 64 === 63 && performance.now() - sliceStart > SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
      const entry = entries[index]!;
      if (!this.#options.isProblem(entry)) continue;
      const fingerprint = this.#options.fingerprint(entry);
      const problem = problems.get(fingerprint);
      if (problem) problem.count++;
      else problems.set(fingerprint, { message: entry.message, count: 1 });
    }
    if (first !== undefined) problems.delete(first);
    if (problems.size === 0) return none;
    await this.addCounts();
    const mostFrequent = [...problems].sort((a, b) => b[1].count - a[1].count).slice(0, MAX_COUNTED_PER_MAIL);
    const counted = await Promise.all(
      mostFrequent.map(async ([fingerprint, { message }]) => {
        const taken = await this.#options.store.takeProblemCounts(problemId(fingerprint));
        // Taken from the store, they are kept here until a mail reports them.
        const unreported = this.#unreported.get(fingerprint);
        const counts = {
          count: (unreported?.count ?? 0) + taken.count,
          hosts: Math.max(unreported?.hosts ?? 0, taken.hosts),
        };
        setMostRecent(this.#unreported, fingerprint, counts, MAX_TALLIED);
        return { fingerprint, message, counts };
      }),
    );
    const shown = counted.filter(({ counts }) => counts.hosts > 1);
    return {
      notices: shown.map(
        ({ message, counts }) =>
          `The hosts sharing this mail's store saw "${firstLineOf(message)}" ${formatCount(counts.count)} times on ${formatCount(counts.hosts)} hosts since it was last reported; each host mails its own entries.`,
      ),
      reported: () => {
        for (const { fingerprint, counts } of shown) {
          if (this.#unreported.get(fingerprint) === counts) this.#unreported.delete(fingerprint);
        }
      },
    };
  }

  /**
   * Adds what was counted to the group's counts, then closes the store; counting again later
   * opens it again.
   */
  async close(): Promise<void> {
    await this.addCounts();
    await this.#options.store.close();
  }
}
