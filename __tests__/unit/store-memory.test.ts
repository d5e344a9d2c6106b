import { groupFromRecipients, MemoryStore, type MailStore } from '../../src/store/store';

const MINUTE = 60_000;
const POLICY = { delayMs: 5 * MINUTE, maxDelayMs: 20 * MINUTE };

/** The times at which `count` mails get a slot, each asking again after the wait it was told. */
async function slotTimes(store: MailStore, limit: { mails: number; perMs: number }, count: number): Promise<number[]> {
  const times: number[] = [];
  let now = 0;
  while (times.length < count) {
    const slot = await store.takeMailSlot(limit, now);
    if (slot.granted) times.push(now);
    else now += slot.retryInMs;
  }
  return times;
}

describe('MemoryStore mail slots', () => {
  test('half the window at once, then evenly spaced', async () => {
    expect(await slotTimes(new MemoryStore(), { mails: 20, perMs: MINUTE }, 14)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6000, 12_000, 18_000, 24_000,
    ]);
    expect(await slotTimes(new MemoryStore(), { mails: 6, perMs: MINUTE }, 7)).toEqual([
      0, 0, 0, 20_000, 40_000, 60_000, 80_000,
    ]);
  });

  test('a refused slot says how long to wait, and is not taken', async () => {
    const store = new MemoryStore();
    const limit = { mails: 4, perMs: MINUTE };
    expect(await store.takeMailSlot(limit, 0)).toEqual({ granted: true });
    expect(await store.takeMailSlot(limit, 0)).toEqual({ granted: true });
    expect(await store.takeMailSlot(limit, 1000)).toEqual({ granted: false, retryInMs: 29_000 });
    expect(await store.takeMailSlot(limit, 1000)).toEqual({ granted: false, retryInMs: 29_000 });
    expect(await store.takeMailSlot(limit, 30_000)).toEqual({ granted: true });
  });

  test('never more than `mails` in any window of perMs', async () => {
    const store = new MemoryStore();
    const limit = { mails: 7, perMs: 10_000 };
    const granted: number[] = [];
    // Asked at uneven times, as often as the wait allows and more.
    for (let now = 0; now < 100_000; now += 137) {
      if ((await store.takeMailSlot(limit, now)).granted) granted.push(now);
    }
    const crowded = granted.filter(
      (at) => granted.filter((other) => other > at - limit.perMs && other <= at).length > 7,
    );
    expect(crowded).toEqual([]);
    // And the pace is kept: the burst of 3, then 4 (mails - burst) per 10 s, each asked up to 137 ms late.
    expect(granted.length).toBeGreaterThanOrEqual(40);
    expect(granted.length).toBeLessThanOrEqual(43);
  });

  test('a new limit starts a new window', async () => {
    const store = new MemoryStore();
    await store.takeMailSlot({ mails: 2, perMs: MINUTE }, 0);
    expect(await store.takeMailSlot({ mails: 2, perMs: MINUTE }, 0)).toEqual({ granted: false, retryInMs: MINUTE });
    expect(await store.takeMailSlot({ mails: 10, perMs: MINUTE }, 0)).toEqual({ granted: true });
  });
});

describe('MemoryStore problems', () => {
  test('the first occurrence mails at once; repeats wait for the end of its window', async () => {
    const store = new MemoryStore();
    expect(await store.noteProblem('a1', POLICY, 0, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE });
    expect(await store.noteProblem('a1', POLICY, 1000, 1)).toEqual({ first: false, windowEndsAt: 5 * MINUTE });
    expect(await store.noteProblem('b2', POLICY, 2000, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE + 2000 });
  });

  test('a window with repeats is followed by one twice as long, up to maxDelayMs; a quiet one closes', async () => {
    const store = new MemoryStore();
    await store.noteProblem('a1', POLICY, 0, 1);
    await store.noteProblem('a1', POLICY, MINUTE, 1);
    expect(await store.noteProblem('a1', POLICY, 6 * MINUTE, 1)).toEqual({ first: false, windowEndsAt: 15 * MINUTE });
    expect(await store.noteProblem('a1', POLICY, 16 * MINUTE, 1)).toEqual({ first: false, windowEndsAt: 35 * MINUTE });
    expect(await store.noteProblem('a1', POLICY, 36 * MINUTE, 1)).toEqual({ first: false, windowEndsAt: 55 * MINUTE });
    // No repeat from 55 to 75 minutes: the window closes, and the next occurrence is first again.
    expect(await store.noteProblem('a1', POLICY, 76 * MINUTE, 1)).toEqual({
      first: true,
      windowEndsAt: 81 * MINUTE,
    });
  });

  test('occurrences are counted until taken, then start again from zero', async () => {
    const store = new MemoryStore();
    await store.noteProblem('a1', POLICY, 0, 1);
    await store.noteProblem('a1', POLICY, 1, 4);
    await store.noteProblem('a1', POLICY, 2, 1);
    await store.noteProblem('b2', POLICY, 2, 1);
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 6, hosts: 1 });
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 0, hosts: 0 });
    expect(await store.takeProblemCounts('b2')).toEqual({ count: 1, hosts: 1 });
    await store.noteProblem('a1', POLICY, 3, 2);
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 2, hosts: 1 });
  });

  test('occurrences noted with the first are its repeats: counted, and they extend the next window', async () => {
    const store = new MemoryStore();
    expect(await store.noteProblem('a1', POLICY, 0, 3)).toEqual({ first: true, windowEndsAt: 5 * MINUTE });
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 3, hosts: 1 });
    expect(await store.noteProblem('a1', POLICY, 6 * MINUTE, 1)).toEqual({ first: false, windowEndsAt: 15 * MINUTE });
  });

  test('a first occurrence starts the count afresh', async () => {
    const store = new MemoryStore();
    await store.noteProblem('a1', POLICY, 0, 1);
    await store.noteProblem('a1', POLICY, 1, 1);
    // Not taken; two quiet windows later the problem mails again as new, and only it is counted.
    await store.noteProblem('a1', POLICY, 60 * MINUTE, 1);
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 1, hosts: 1 });
  });

  test('close forgets everything', async () => {
    const store = new MemoryStore();
    await store.noteProblem('a1', POLICY, 0, 2);
    await store.takeMailSlot({ mails: 1, perMs: MINUTE }, 0);
    await store.close();
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 0, hosts: 0 });
    expect(await store.noteProblem('a1', POLICY, 1, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE + 1 });
    expect(await store.takeMailSlot({ mails: 1, perMs: MINUTE }, 1)).toEqual({ granted: true });
  });
});

describe('groupFromRecipients', () => {
  test('12 hex digits, the same whatever the order, case, spaces or duplicates of the addresses', () => {
    const group = groupFromRecipients(['ops@example.com', 'dev@example.com']);
    expect(group).toMatch(/^[0-9a-f]{12}$/);
    expect(groupFromRecipients([' DEV@example.com', 'ops@example.com', 'ops@Example.com '])).toBe(group);
  });

  test('different recipients, different groups', () => {
    const groups = new Set([
      groupFromRecipients(['ops@example.com']),
      groupFromRecipients(['dev@example.com']),
      groupFromRecipients(['ops@example.com', 'dev@example.com']),
      // Not the same as one address holding the separator.
      groupFromRecipients(['ops@example.com\ndev@example.com', 'x@example.com']),
    ]);
    expect(groups.size).toBe(4);
  });
});
