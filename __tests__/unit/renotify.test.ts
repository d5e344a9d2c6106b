import { Renotify } from '../../src/outbox/renotify';

const MINUTE = 60_000;

describe('Renotify', () => {
  test('the first entry of a problem sends; its repeats wait for the end of the window', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE });
    expect(renotify.offer('db down', 0)).toEqual({ send: true });
    expect(renotify.offer('db down', 1000)).toEqual({ send: false, dueAt: 5 * MINUTE });
    expect(renotify.offer('db down', 5 * MINUTE - 1)).toEqual({ send: false, dueAt: 5 * MINUTE });
  });

  test('other problems send at once, each in its own window', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE });
    renotify.offer('db down', 0);
    expect(renotify.offer('disk full', 1000)).toEqual({ send: true });
    expect(renotify.offer('disk full', 2000)).toEqual({ send: false, dueAt: 5 * MINUTE + 1000 });
  });

  test('while the problem keeps repeating, the window doubles up to maxDelayMs', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 20 * MINUTE });
    renotify.offer('db down', 0);
    const dueTimes: number[] = [];
    for (let at = 1000; at < 120 * MINUTE; at += MINUTE) {
      const decision = renotify.offer('db down', at);
      expect(decision.send).toBe(false);
      if (!decision.send && dueTimes[dueTimes.length - 1] !== decision.dueAt) dueTimes.push(decision.dueAt);
    }
    expect(dueTimes).toEqual([5, 15, 35, 55, 75, 95, 115, 135].map((minutes) => minutes * MINUTE));
  });

  test('a window without a repeat closes it: the next entry sends at once, with the first delay again', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE });
    renotify.offer('db down', 0);
    renotify.offer('db down', MINUTE);
    // The repeats went out at 5 min; nothing in the window 5–15 min.
    expect(renotify.offer('db down', 16 * MINUTE)).toEqual({ send: true });
    expect(renotify.offer('db down', 17 * MINUTE)).toEqual({ send: false, dueAt: 21 * MINUTE });
  });

  test('a problem seen once and not again sends at once after its window', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE });
    renotify.offer('db down', 0);
    expect(renotify.offer('db down', 5 * MINUTE)).toEqual({ send: true });
  });

  test('remembers at most 1000 problems, forgetting the least recently seen', () => {
    const renotify = new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE });
    renotify.offer('kind 0', 0);
    for (let index = 1; index < 1000; index++) renotify.offer(`kind ${index}`, 1);
    renotify.offer('kind 0', 2);
    renotify.offer('one more', 3);
    expect(renotify.tracked).toBe(1000);
    expect(renotify.offer('kind 0', 4).send).toBe(false);
    expect(renotify.offer('kind 1', 5)).toEqual({ send: true });
  });
});
