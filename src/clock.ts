/** A handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** Time as the transport sees it; replaced in tests to drive time-based behaviour. */
export interface Clock {
  now(): number;
  /** Schedules `callback`; the timer must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
