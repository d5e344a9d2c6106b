import type { RateLimitOptions } from './options';

/** At most `mails` sends in any `perMs` window; pure, the time is passed in. */
export class SlidingWindow {
  private readonly sentAt: number[] = [];

  constructor(private readonly limit: RateLimitOptions) {}

  record(now: number): void {
    this.forget(now);
    this.sentAt.push(now);
  }

  /** How long to wait at `now` before the next send is allowed; 0 when it is allowed now. */
  delayBeforeNext(now: number): number {
    this.forget(now);
    if (this.sentAt.length < this.limit.mails) return 0;
    const oldest = this.sentAt[this.sentAt.length - this.limit.mails] ?? now;
    return Math.max(0, oldest + this.limit.perMs - now);
  }

  /** How many sends are still allowed in the window at `now`. */
  remaining(now: number): number {
    this.forget(now);
    return Math.max(0, this.limit.mails - this.sentAt.length);
  }

  private forget(now: number): void {
    while (this.sentAt.length > 0 && (this.sentAt[0] ?? now) <= now - this.limit.perMs) this.sentAt.shift();
  }
}
