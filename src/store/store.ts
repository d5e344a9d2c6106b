import { createHash } from 'node:crypto';
import type { RateLimitOptions } from '../options';
import { RateLimiter } from '../outbox/rate-limit';
import { Renotify, type RenotifyPolicy } from '../outbox/renotify';
import { setMostRecent } from '../recent-map';

/** The answer to a request for a mail slot: granted now, or to be asked for again later. */
export type MailSlot = { readonly granted: true } | { readonly granted: false; readonly retryInMs: number };

/** Where an occurrence of a problem falls in the problem's re-notification window. */
export interface ProblemNote {
  /** `true` for the first occurrence in the group since the window closed: it mails at once. */
  readonly first: boolean;
  /** When the open window ends and its repeats are due as one mail, in milliseconds since the epoch. */
  readonly windowEndsAt: number;
}

/** The occurrences of a problem counted since the last `takeProblemCounts`. */
export interface ProblemCounts {
  /** How many occurrences, the first of a window included. */
  readonly count: number;
  /** On how many distinct hosts (estimated for large numbers, exact for a few). */
  readonly hosts: number;
}

/**
 * The state that the outbox keeps about its rate limit and its re-notification windows. A shared
 * implementation (`RedisStore`) lets every transport of a group count against one rate window
 * and one window per problem; `MemoryStore` is the same for one process. Every operation is
 * atomic; a shared store rejects with `code: 'ESTORE'` when it cannot answer in time.
 */
export interface MailStore {
  /**
   * Takes a slot of the rate window `limit` at `nowMs` when one is free: half of `limit.mails`
   * at once, then evenly spaced, never more than `limit.mails` in any `limit.perMs`.
   */
  takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot>;
  /**
   * Notes `count` occurrences of the problem `fingerprintId` at `nowMs`. The first occurrence in
   * a closed window opens one of `policy.delayMs` and is `first`; later ones are its repeats,
   * and a window with repeats is followed by one twice as long, up to `policy.maxDelayMs`. Every
   * occurrence is counted until `takeProblemCounts`.
   */
  noteProblem(
    fingerprintId: string,
    policy: Readonly<RenotifyPolicy>,
    nowMs: number,
    count: number,
  ): Promise<ProblemNote>;
  /** Reads and resets the occurrences counted for the problem `fingerprintId`. */
  takeProblemCounts(fingerprintId: string): Promise<ProblemCounts>;
  /** Releases what the store holds; resolves once it is released. */
  close(): Promise<void>;
}

/** What the transport's shared state comes from: a connection that holds the state of groups of transports. */
export interface SharedStore {
  /**
   * The state of one group of transports: the store's own group when it was given one,
   * `defaultGroup` otherwise. Closing the returned store releases it.
   */
  openGroup(defaultGroup: string): MailStore;
  /** Releases the connection at once, whatever group is still open. */
  close(): Promise<void>;
}

/** An error of a shared store that could not answer; the caller falls back to its own state. */
export interface StoreError extends Error {
  code: 'ESTORE';
}

/** An `ESTORE` error with `message`, which must hold no secret. */
export function createStoreError(message: string): StoreError {
  return Object.assign(new Error(message), { code: 'ESTORE' as const });
}

/**
 * The default group of a transport: the first 12 hex digits of the SHA-256 of its recipients,
 * trimmed, in lower case, without duplicates and sorted, so that the instances of a service that
 * mail the same people share their windows whatever the order they list them in.
 */
export function groupFromRecipients(recipients: readonly string[]): string {
  const normalized = [...new Set(recipients.map((address) => address.trim().toLowerCase()))].sort();
  return createHash('sha256').update(normalized.join('\n')).digest('hex').slice(0, 12);
}

// Problems counted at most, as `Renotify` remembers at most as many: beyond, the least recently
// seen is forgotten.
const MAX_COUNTED = 1000;

function sameLimit(a: Readonly<RateLimitOptions>, b: Readonly<RateLimitOptions>): boolean {
  return a.mails === b.mails && a.perMs === b.perMs;
}

function samePolicy(a: Readonly<RenotifyPolicy>, b: Readonly<RenotifyPolicy>): boolean {
  return a.delayMs === b.delayMs && a.maxDelayMs === b.maxDelayMs;
}

/**
 * The state of one process, kept in memory: the default, and what a `FallbackStore` answers from
 * while the shared store cannot. Its rate window is the outbox's `RateLimiter` and its windows
 * per problem are `Renotify`, so one process behaves the same with and without a shared store.
 */
export class MemoryStore implements MailStore {
  #limiter: { limit: Readonly<RateLimitOptions>; limiter: RateLimiter } | undefined;
  #renotify: { policy: Readonly<RenotifyPolicy>; renotify: Renotify } | undefined;
  readonly #counts = new Map<string, number>();

  takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot> {
    if (this.#limiter === undefined || !sameLimit(this.#limiter.limit, limit)) {
      this.#limiter = { limit: { mails: limit.mails, perMs: limit.perMs }, limiter: new RateLimiter(limit) };
    }
    const { limiter } = this.#limiter;
    const retryInMs = limiter.delayBeforeNext(nowMs);
    if (retryInMs > 0) return Promise.resolve({ granted: false, retryInMs });
    limiter.record(nowMs);
    return Promise.resolve({ granted: true });
  }

  noteProblem(
    fingerprintId: string,
    policy: Readonly<RenotifyPolicy>,
    nowMs: number,
    count: number,
  ): Promise<ProblemNote> {
    if (this.#renotify === undefined || !samePolicy(this.#renotify.policy, policy)) {
      this.#renotify = {
        policy: { delayMs: policy.delayMs, maxDelayMs: policy.maxDelayMs },
        renotify: new Renotify(policy),
      };
    }
    const { renotify } = this.#renotify;
    const decision = renotify.offer(fingerprintId, nowMs);
    if (decision.send) {
      this.#counts.delete(fingerprintId);
      // The others noted with the first one are its repeats.
      if (count > 1) renotify.offer(fingerprintId, nowMs);
      this.addCount(fingerprintId, count);
      return Promise.resolve({ first: true, windowEndsAt: nowMs + policy.delayMs });
    }
    this.addCount(fingerprintId, count);
    return Promise.resolve({ first: false, windowEndsAt: decision.dueAt });
  }

  takeProblemCounts(fingerprintId: string): Promise<ProblemCounts> {
    const count = this.#counts.get(fingerprintId) ?? 0;
    this.#counts.delete(fingerprintId);
    return Promise.resolve({ count, hosts: count > 0 ? 1 : 0 });
  }

  close(): Promise<void> {
    this.#limiter = undefined;
    this.#renotify = undefined;
    this.#counts.clear();
    return Promise.resolve();
  }

  private addCount(fingerprintId: string, count: number): void {
    // Counted again: remembered as recent.
    setMostRecent(this.#counts, fingerprintId, (this.#counts.get(fingerprintId) ?? 0) + count, MAX_COUNTED);
  }
}

/**
 * The group `name` of `shared`, opened at its first use and again after `close()`: a transport
 * that is closed and used again gets its group back, and one that never sends holds no connection.
 */
export class ReopeningGroup implements MailStore {
  readonly #shared: SharedStore;
  readonly #name: string;
  #group: MailStore | undefined;

  constructor(shared: SharedStore, name: string) {
    this.#shared = shared;
    this.#name = name;
  }

  takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot> {
    return this.#open().takeMailSlot(limit, nowMs);
  }

  noteProblem(
    fingerprintId: string,
    policy: Readonly<RenotifyPolicy>,
    nowMs: number,
    count: number,
  ): Promise<ProblemNote> {
    return this.#open().noteProblem(fingerprintId, policy, nowMs, count);
  }

  takeProblemCounts(fingerprintId: string): Promise<ProblemCounts> {
    return this.#open().takeProblemCounts(fingerprintId);
  }

  async close(): Promise<void> {
    const group = this.#group;
    this.#group = undefined;
    await group?.close();
  }

  #open(): MailStore {
    this.#group ??= this.#shared.openGroup(this.#name);
    return this.#group;
  }
}
