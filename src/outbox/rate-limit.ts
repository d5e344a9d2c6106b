import type { RateLimitOptions } from '../options';

const TOKEN_EPSILON = 1e-9;

/**
 * At most `mails` sends in any `perMs` window, paced so that a backlog does not spend the whole
 * window at once and then wait for it to pass. Half of the window's mails may go at once (the
 * first mails of an incident are not delayed); after that mails are spaced evenly. A token bucket
 * with room for `burst` tokens and a refill of `mails - burst` per window never allows more than
 * `mails` in any window; the sliding window is kept as well, as the guarantee. Pure: the time is
 * passed in.
 */
export class RateLimiter {
  private readonly sentAt: number[] = [];
  private readonly burst: number;
  private readonly refillPerMs: number;
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(private readonly limit: RateLimitOptions) {
    this.burst = Math.max(1, Math.floor(limit.mails / 2));
    this.refillPerMs = Math.max(1, limit.mails - this.burst) / limit.perMs;
    this.tokens = this.burst;
  }

  record(now: number): void {
    this.refill(now);
    this.tokens = Math.max(0, this.tokens - 1);
    this.forget(now);
    this.sentAt.push(now);
  }

  /** How long to wait at `now` before the next send is allowed; 0 when it is allowed now. */
  delayBeforeNext(now: number): number {
    this.refill(now);
    this.forget(now);
    // Refills in steps add up to just under a whole token: a wait of the time asked for is enough.
    const bucketWait = this.tokens >= 1 - TOKEN_EPSILON ? 0 : Math.ceil((1 - this.tokens) / this.refillPerMs);
    let windowWait = 0;
    if (this.sentAt.length >= this.limit.mails) {
      const oldest = this.sentAt[this.sentAt.length - this.limit.mails] ?? now;
      windowWait = Math.max(0, oldest + this.limit.perMs - now);
    }
    return Math.max(bucketWait, windowWait);
  }

  private refill(now: number): void {
    if (this.updatedAt !== undefined && now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.refillPerMs);
    }
    this.updatedAt = now;
  }

  private forget(now: number): void {
    let expired = 0;
    while (expired < this.sentAt.length && (this.sentAt[expired] ?? now) <= now - this.limit.perMs) expired++;
    if (expired > 0) this.sentAt.splice(0, expired);
  }
}
