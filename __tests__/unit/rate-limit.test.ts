import { RateLimiter } from '../../src/outbox/rate-limit';

/** The times at which `count` mails go, each as soon as the limiter allows, all waiting from 0. */
function sendTimes(limiter: RateLimiter, count: number): number[] {
  const times: number[] = [];
  let now = 0;
  for (let index = 0; index < count; index++) {
    now += limiter.delayBeforeNext(now);
    limiter.record(now);
    times.push(now);
  }
  return times;
}

describe('RateLimiter', () => {
  test('half the window goes at once, then one mail every perMs / (mails - half)', () => {
    expect(sendTimes(new RateLimiter({ mails: 20, perMs: 60_000 }), 14)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6000, 12_000, 18_000, 24_000,
    ]);
    expect(sendTimes(new RateLimiter({ mails: 5, perMs: 60_000 }), 5)).toEqual([0, 0, 20_000, 40_000, 60_000]);
  });

  test('a limit of one mail per window sends one, then one per window', () => {
    expect(sendTimes(new RateLimiter({ mails: 1, perMs: 60_000 }), 3)).toEqual([0, 60_000, 120_000]);
  });

  test('never more than `mails` in any window of perMs, whenever the sends are asked for', () => {
    const limit = { mails: 7, perMs: 10_000 };
    const limiter = new RateLimiter(limit);
    const sentAt: number[] = [];
    // Asked for at uneven times: some at once, some after a pause.
    const pausesMs = [0, 1, 250, 3000];
    let asked = 0;
    for (let index = 0; index < 500; index++) {
      const at = asked + limiter.delayBeforeNext(asked);
      limiter.record(at);
      sentAt.push(at);
      asked = at + pausesMs[index % pausesMs.length]!;
    }
    const crowded = sentAt.filter((at) => sentAt.filter((other) => other > at - limit.perMs && other <= at).length > 7);
    expect(crowded).toEqual([]);
  });

  test('after a quiet window the burst is there again', () => {
    const limiter = new RateLimiter({ mails: 20, perMs: 60_000 });
    sendTimes(limiter, 10);
    expect(limiter.delayBeforeNext(0)).toBe(6000);
    expect(limiter.delayBeforeNext(60_000)).toBe(0);
    for (let index = 0; index < 10; index++) limiter.record(60_000);
    expect(limiter.delayBeforeNext(60_000)).toBe(6000);
  });

  test('after waiting the delay it asked for, the next send is allowed', () => {
    const limiter = new RateLimiter({ mails: 20, perMs: 60_000 });
    for (let index = 0; index < 10; index++) limiter.record(0);
    // Asked 1 s after the burst: the next token comes 6 s after the burst.
    const waitMs = limiter.delayBeforeNext(1000);
    expect(waitMs).toBe(5000);
    expect(limiter.delayBeforeNext(1000 + waitMs)).toBe(0);
  });
});
