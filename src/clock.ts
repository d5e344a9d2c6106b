/** A handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** Time as the transport sees it; replaced in tests to drive time-based behaviour. */
export interface Clock {
  now(): number;
  /**
   * Schedules `callback`. The timer must not keep the process alive unless `keepAlive` is true,
   * which is asked only while the transport shuts down.
   */
  setTimeout(callback: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms, keepAlive = false) {
    const timer = setTimeout(callback, ms);
    if (!keepAlive) timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
