/** A handle returned by `Clock.setTimeout`: a Node.js Timeout, or whatever a test clock uses. */
export type TimerHandle = object | number;

/** Time as the transport sees it; replaced in tests to drive time-based behaviour. */
export interface Clock {
  now(): number;
  /**
   * Schedules `callback`. The timer must not keep the process alive unless `keepAlive` is true,
   * which is asked only while the transport shuts down.
   */
  setTimeout(callback: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  /** Cancels a timer; ignores `undefined` and timers that already ran. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

// Captured at load time, so that fake timers a test runner installs later do not stall it.
const realSetImmediate = globalThis.setImmediate;

/**
 * Resolves after the current turn of the event loop: entries logged in the same tick may still
 * be travelling through winston's pipe until then.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms, keepAlive = false) {
    const timer = setTimeout(callback, ms);
    if (!keepAlive) timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout);
  },
};
