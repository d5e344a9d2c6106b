import type { Clock } from '../../src/clock';

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  private current = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  private readonly timerWaiters: Array<() => void> = [];
  fired = 0;

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + ms, callback });
    this.timerWaiters.splice(0).forEach((resolve) => resolve());
    return id;
  }

  /** Resolves when a timer is waiting (at once if one already is). */
  whenTimerSet(): Promise<void> {
    if (this.timers.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.timerWaiters.push(resolve));
  }

  /** Resolves when a timer is set to run at `time` (at once if one already is). */
  whenTimerAt(time: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.pending.includes(time) ? resolve() : this.timerWaiters.push(check));
      check();
    });
  }

  /** Waits for the next timer and runs it; returns the time it was due. */
  async runNextTimer(): Promise<number> {
    await this.whenTimerSet();
    const [at] = this.pending;
    this.advanceTo(at ?? this.current);
    return this.current;
  }

  /**
   * Runs timers, the soonest first, as soon as one is set, until `done` settles. Meant for code
   * that sets a timer only when it has nothing else to do (the outbox's waits), so that the jump
   * skips only idle time, whatever the speed of the machine. Work that `done` starts on a later
   * turn (close() sets its own timer then) may come after a jump: wait for it with `whenTimerAt`.
   */
  async runUntil(done: Promise<unknown>): Promise<void> {
    let finished = false;
    const settled = done.then(
      () => (finished = true),
      () => (finished = true),
    );
    for (;;) {
      await Promise.race([this.whenTimerSet(), settled]);
      if (finished) return;
      const [at] = this.pending;
      if (at !== undefined) this.advanceTo(at);
    }
  }

  clearTimeout(handle: object | number | undefined): void {
    this.timers.delete(handle as number);
  }

  /** The times at which timers are waiting, soonest first. */
  get pending(): number[] {
    return [...this.timers.values()].map((timer) => timer.at).sort((a, b) => a - b);
  }

  /** Moves time to `time`, running every timer due by then in order. */
  advanceTo(time: number): void {
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, timer]) => timer.at <= time)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.current = timer.at;
      this.timers.delete(id);
      this.fired++;
      timer.callback();
    }
    this.current = time;
  }
}
