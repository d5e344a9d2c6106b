import type { Clock } from '../clock';
import type { RateLimitOptions } from '../options';
import type { RenotifyPolicy } from '../outbox/renotify';
import { MemoryStore, type MailSlot, type MailStore, type ProblemCounts, type ProblemNote } from './store';

/** Options of `new FallbackStore(shared, memory, options)`. */
export interface FallbackStoreOptions {
  /**
   * While the shared store fails, how long at least between two calls that try it again, in milliseconds.
   * @default 5000
   */
  probeIntervalMs?: number;
  /** Called with the error when the shared store fails and answers start coming from memory; once per outage. */
  onFallback?: (error: Error) => void;
  /** Called when the shared store answers again after an outage. */
  onRecover?: () => void;
  /**
   * The time the probe interval is measured with.
   * @default Date.now
   */
  clock?: Pick<Clock, 'now'>;
}

/** How long at least between two tries of a failing shared store, in milliseconds. */
export const DEFAULT_PROBE_INTERVAL_MS = 5000;

function call(listener: (() => void) | undefined): void {
  try {
    listener?.();
  } catch {
    // A failing listener must not change the answer.
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A shared store that never fails its caller: when the shared store rejects, the answer comes from
 * the store of this process, and `onFallback` is told once; while it keeps failing, one call at
 * most every `probeIntervalMs` tries it again, and the first that succeeds goes back to it and
 * tells `onRecover`. The memory store is kept up to date with what the shared store answers, so
 * that a process that falls back still knows the mails it sent and the problems it saw.
 */
export class FallbackStore implements MailStore {
  readonly #shared: MailStore;
  readonly #memory: MailStore;
  readonly #probeIntervalMs: number;
  readonly #onFallback: ((error: Error) => void) | undefined;
  readonly #onRecover: (() => void) | undefined;
  readonly #clock: Pick<Clock, 'now'>;
  #failing = false;
  #probing = false;
  #triedAt = 0;

  constructor(shared: MailStore, memory: MailStore = new MemoryStore(), options: FallbackStoreOptions = {}) {
    const probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    if (typeof probeIntervalMs !== 'number' || !Number.isInteger(probeIntervalMs) || probeIntervalMs < 1) {
      throw new TypeError(
        `Expected the \`FallbackStore\` option \`probeIntervalMs\` to be a positive integer, got ${String(probeIntervalMs)}`,
      );
    }
    this.#shared = shared;
    this.#memory = memory;
    this.#probeIntervalMs = probeIntervalMs;
    this.#onFallback = options.onFallback;
    this.#onRecover = options.onRecover;
    this.#clock = options.clock ?? { now: () => Date.now() };
  }

  /** Whether answers come from the shared store: `false` during an outage. */
  get sharedInUse(): boolean {
    return !this.#failing;
  }

  takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot> {
    return this.answer(
      () => this.#shared.takeMailSlot(limit, nowMs),
      () => this.#memory.takeMailSlot(limit, nowMs),
      async (slot) => {
        // The mails of this process are a part of the group's, so its own window has room for them.
        if (slot.granted) await this.#memory.takeMailSlot(limit, nowMs);
      },
    );
  }

  noteProblem(
    fingerprintId: string,
    policy: Readonly<RenotifyPolicy>,
    nowMs: number,
    count: number,
  ): Promise<ProblemNote> {
    const note = () => this.#memory.noteProblem(fingerprintId, policy, nowMs, count);
    return this.answer(() => this.#shared.noteProblem(fingerprintId, policy, nowMs, count), note, note);
  }

  takeProblemCounts(fingerprintId: string): Promise<ProblemCounts> {
    const take = () => this.#memory.takeProblemCounts(fingerprintId);
    return this.answer(() => this.#shared.takeProblemCounts(fingerprintId), take, take);
  }

  /** Closes both stores. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#shared.close(), this.#memory.close()]);
  }

  private async answer<T>(
    shared: () => Promise<T>,
    memory: () => Promise<T>,
    mirror: (answer: T) => Promise<unknown>,
  ): Promise<T> {
    let answer: T;
    if (this.#failing) {
      const now = this.#clock.now();
      if (this.#probing || now - this.#triedAt < this.#probeIntervalMs) return memory();
      this.#probing = true;
      this.#triedAt = now;
      try {
        answer = await shared();
      } catch {
        return memory();
      } finally {
        this.#probing = false;
      }
      this.#failing = false;
      call(this.#onRecover);
    } else {
      try {
        answer = await shared();
      } catch (error) {
        this.fail(toError(error));
        return memory();
      }
    }
    await mirror(answer);
    return answer;
  }

  private fail(error: Error): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#triedAt = this.#clock.now();
    const onFallback = this.#onFallback;
    call(onFallback && (() => onFallback(error)));
  }
}
