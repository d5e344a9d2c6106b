import type { MailMessage } from '../../src/options';
import { Fleet } from '../../src/outbox/fleet';
import { Renotify } from '../../src/outbox/renotify';
import { FallbackStore } from '../../src/store/fallback';
import { createStoreError, MemoryStore, type MailSlot, type MailStore } from '../../src/store/store';
import type { CapturedEntry } from '../../src/entry';
import { entry, expectEveryEntryAccounted, lines, scriptedOutbox } from '../helpers/outbox';
import { ManualClock } from '../helpers/manual-clock';

const MINUTE = 60_000;
const RENOTIFY = { delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE };
const isProblem = (item: CapturedEntry) => !item.crash && item.level === 'error';
const fingerprint = (item: CapturedEntry) => item.message.replace(/\d+/g, '#');

/** Lets the outboxes go as far as they can without the clock moving. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Transports of one group: outboxes on one clock, sharing `store`. */
function fleetOf(count: number, store: MailStore, overrides: Parameters<typeof scriptedOutbox>[0] = {}) {
  const clock = new ManualClock();
  const members = Array.from({ length: count }, () => {
    const fleet = new Fleet({ store, clock, fingerprint, renotify: RENOTIFY, isProblem });
    return scriptedOutbox({
      clock,
      capacity: 100,
      isTrigger: (item) => item.crash || item.level === 'error',
      renotify: { policy: new Renotify(RENOTIFY), fingerprint },
      fleet,
      ...overrides,
    });
  });
  const sent: Array<{ at: number; member: number; message: MailMessage }> = [];
  /** Accepts every send as it starts, moving the clock from timer to timer up to `until`. */
  async function runUntil(until: number): Promise<void> {
    for (;;) {
      await settle();
      let accepted = false;
      members.forEach((member, index) => {
        for (const pending of [...member.mailer.sends]) {
          sent.push({ at: clock.now(), member: index, message: pending.message });
          pending.accept();
          accepted = true;
        }
      });
      if (accepted) continue;
      const [next] = clock.pending;
      if (next === undefined || next > until) {
        clock.advanceTo(Math.max(clock.now(), until));
        await settle();
        if (members.every((member) => member.mailer.sends.length === 0)) return;
        continue;
      }
      clock.advanceTo(next);
    }
  }
  return { clock, members, sent, runUntil };
}

describe('a fleet sharing one store', () => {
  test('shares the rate limit: four transports allowed 6 mails a minute send 6 in a minute, and merge the rest', async () => {
    const { members, sent, runUntil } = fleetOf(4, new MemoryStore(), {
      capacity: 1,
      renotify: undefined,
      rateLimit: { mails: 6, perMs: MINUTE },
    });
    members.forEach((member, index) => {
      for (let batch = 0; batch < 10; batch++) member.outbox.accept(entry(`member ${index} batch ${batch}`));
    });
    await runUntil(MINUTE - 1);
    // Half of the window at once, the rest spaced evenly: one every 20 s.
    expect(sent.map((mail) => mail.at)).toEqual([0, 0, 0, MINUTE / 3, (2 * MINUTE) / 3]);

    await runUntil(10 * MINUTE);
    for (const { at } of sent) {
      expect(sent.filter((mail) => mail.at >= at && mail.at < at + MINUTE).length).toBeLessThanOrEqual(6);
    }
    const delivered = sent.flatMap((mail) => lines(mail.message)).sort();
    const logged = members.flatMap((_, index) =>
      Array.from({ length: 10 }, (__, batch) => `member ${index} batch ${batch}`),
    );
    expect(delivered).toEqual(logged.sort());
    for (const member of members) expectEveryEntryAccounted(member.stats());
  });

  test('the first transport to see a problem mails it at once; the others hold it as a repeat until its window ends', async () => {
    const { clock, members, sent, runUntil } = fleetOf(3, new MemoryStore());
    const [first, second, third] = members;
    first!.outbox.accept(entry('db down 1', { level: 'error' }));
    await runUntil(0);
    expect(sent.map((mail) => lines(mail.message))).toEqual([['db down 1']]);

    clock.advanceTo(MINUTE);
    second!.outbox.accept(entry('request 7 slow'));
    second!.outbox.accept(entry('db down 2', { level: 'error' }));
    third!.outbox.accept(entry('db down 3', { level: 'error' }));
    // Another problem is the first of its kind: it goes at once.
    third!.outbox.accept(entry('disk full', { level: 'error' }));
    await runUntil(2 * MINUTE);
    expect(sent.map((mail) => [mail.member, lines(mail.message)])).toEqual([
      [0, ['db down 1']],
      [2, ['disk full']],
    ]);
    expect(second!.stats()).toMatchObject({ entriesPending: 2, entriesMailed: 0 });
    expect(third!.stats()).toMatchObject({ entriesPending: 1, entriesMailed: 1 });

    // The first transport's window ends at 5 minutes: the repeats held elsewhere go then.
    await runUntil(5 * MINUTE);
    expect(sent.slice(2).map((mail) => [mail.at, mail.member, lines(mail.message)])).toEqual([
      [5 * MINUTE, 1, ['request 7 slow', 'db down 2']],
      [5 * MINUTE, 2, ['db down 3']],
    ]);
    for (const member of members) {
      expect(member.stats()).toMatchObject({ entriesPending: 0 });
      expectEveryEntryAccounted(member.stats());
    }
  });

  test('a problem another transport mailed is held back even behind mails the rate limit merges', async () => {
    const { members, sent, runUntil } = fleetOf(2, new MemoryStore(), {
      capacity: 1,
      rateLimit: { mails: 2, perMs: MINUTE },
    });
    const [first, second] = members;
    first!.outbox.accept(entry('db down 1', { level: 'error' }));
    await runUntil(0);
    for (let index = 0; index < 3; index++) second!.outbox.accept(entry(`request ${index} handled`));
    second!.outbox.accept(entry('db down 2', { level: 'error' }));
    await runUntil(4 * MINUTE);
    const secondLines = sent.filter((mail) => mail.member === 1).flatMap((mail) => lines(mail.message));
    expect(secondLines).toEqual(['request 0 handled', 'request 1 handled', 'request 2 handled']);
    await runUntil(6 * MINUTE);
    expect(
      sent
        .filter((mail) => mail.member === 1)
        .map((mail) => [mail.at, lines(mail.message)])
        .pop(),
    ).toEqual([5 * MINUTE, ['db down 2']]);
    for (const member of members) expectEveryEntryAccounted(member.stats());
  });

  test('a flush sends what is held as a repeat at once', async () => {
    const { members, sent, runUntil } = fleetOf(2, new MemoryStore());
    const [first, second] = members;
    first!.outbox.accept(entry('db down 1', { level: 'error' }));
    await runUntil(0);
    second!.outbox.accept(entry('db down 2', { level: 'error' }));
    await runUntil(0);
    expect(sent).toHaveLength(1);

    const flushed = second!.outbox.flush();
    await runUntil(0);
    await flushed;
    expect(sent.map((mail) => [mail.at, mail.member, lines(mail.message)])).toEqual([
      [0, 0, ['db down 1']],
      [0, 1, ['db down 2']],
    ]);
    expectEveryEntryAccounted(second!.stats());
  });

  test('while the shared store fails, each transport decides alone, loses nothing, and is told once', async () => {
    const down: MailStore = {
      takeMailSlot: () => Promise.reject(createStoreError('Redis at 127.0.0.1:1 is unreachable')),
      noteProblem: () => Promise.reject(createStoreError('Redis at 127.0.0.1:1 is unreachable')),
      takeProblemCounts: () => Promise.reject(createStoreError('Redis at 127.0.0.1:1 is unreachable')),
      close: () => Promise.resolve(),
    };
    const told: Error[] = [];
    const clock = new ManualClock();
    const members = [0, 1].map(() =>
      scriptedOutbox({
        clock,
        capacity: 100,
        isTrigger: (item) => item.level === 'error',
        renotify: { policy: new Renotify(RENOTIFY), fingerprint },
        rateLimit: { mails: 4, perMs: MINUTE },
        fleet: new Fleet({
          store: new FallbackStore(down, new MemoryStore(), { clock, onFallback: (error) => told.push(error) }),
          clock,
          fingerprint,
          renotify: RENOTIFY,
          isProblem,
        }),
      }),
    );
    for (const member of members) member.outbox.accept(entry('db down', { level: 'error' }));
    await settle();
    // Each mails its first error, as it would alone.
    for (const member of members) {
      const pending = await member.mailer.next();
      expect(lines(pending.message)).toEqual(['db down']);
      pending.accept();
    }
    for (const member of members) await member.outbox.flush();
    expect(told.map((error) => error.message)).toEqual([
      'Redis at 127.0.0.1:1 is unreachable',
      'Redis at 127.0.0.1:1 is unreachable',
    ]);
    for (const member of members) {
      expect(member.stats()).toMatchObject({ entriesMailed: 1, entriesPending: 0 });
      expectEveryEntryAccounted(member.stats());
    }
  });

  test('a close that begins while the group decides on a slot does not wait for the rate limit', async () => {
    const answers: Array<(slot: MailSlot) => void> = [];
    const memory = new MemoryStore();
    const slow: MailStore = {
      takeMailSlot: () => new Promise((resolve) => answers.push(resolve)),
      noteProblem: (...args) => memory.noteProblem(...args),
      takeProblemCounts: (id) => memory.takeProblemCounts(id),
      close: () => memory.close(),
    };
    const clock = new ManualClock();
    const { outbox, mailer, stats } = scriptedOutbox({
      clock,
      capacity: 1,
      rateLimit: { mails: 6, perMs: MINUTE },
      fleet: new Fleet({ store: slow, clock, fingerprint, renotify: undefined, isProblem }),
    });
    outbox.accept(entry('request 1 handled'));
    await settle();
    expect(answers).toHaveLength(1);
    const closed = outbox.close(10_000);
    await settle();
    // The group is full for the next 10 minutes: the answer comes after the close began.
    answers[0]!({ granted: false, retryInMs: 10 * MINUTE });
    const pending = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(pending.message)).toEqual(['request 1 handled']);
    pending.accept();
    await closed;
    expect(stats()).toMatchObject({ entriesMailed: 1, entriesPending: 0 });
  });
});

describe('a shared store that stops answering stands in the way of nothing', () => {
  /** A store whose calls from the `stallFrom`-th on never settle; the earlier ones are a MemoryStore's. */
  function stallingStore(stallFrom: number) {
    const memory = new MemoryStore();
    const calls: string[] = [];
    const answer = <T>(name: string, call: () => Promise<T>): Promise<T> => {
      calls.push(name);
      return calls.length >= stallFrom ? new Promise<T>(() => undefined) : call();
    };
    const store: MailStore = {
      takeMailSlot: (limit, now) => answer('slot', () => memory.takeMailSlot(limit, now)),
      noteProblem: (id, policy, now, count) => answer('note', () => memory.noteProblem(id, policy, now, count)),
      takeProblemCounts: (id) => answer('counts', () => memory.takeProblemCounts(id)),
      close: () => Promise.resolve(),
    };
    return { store, calls };
  }

  function stallingOutbox(stallFrom: number, overrides: Parameters<typeof scriptedOutbox>[0] = {}) {
    const clock = new ManualClock();
    const { store, calls } = stallingStore(stallFrom);
    const scripted = scriptedOutbox({
      clock,
      capacity: 100,
      isTrigger: (item) => item.crash || item.level === 'error',
      renotify: { policy: new Renotify(RENOTIFY), fingerprint },
      fleet: new Fleet({ store, clock, fingerprint, renotify: RENOTIFY, isProblem }),
      ...overrides,
    });
    return { ...scripted, calls };
  }

  test('a crash entry goes at once while the group is asked whether a problem mails', async () => {
    const { outbox, mailer, clock, calls, stats } = stallingOutbox(1);
    outbox.accept(entry('db down', { level: 'error' }));
    await settle();
    expect(calls).toEqual(['note']);
    outbox.accept(entry('uncaught: boom', { level: 'error', crash: true }));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['db down', 'uncaught: boom']);
    crash.accept();
    await settle();
    expect(stats()).toMatchObject({ entriesMailed: 2, entriesPending: 0 });
  });

  test('a crash entry goes at once while the group is asked for a mail slot', async () => {
    const { outbox, mailer, clock, calls, stats } = stallingOutbox(1, {
      renotify: undefined,
      capacity: 1,
      rateLimit: { mails: 6, perMs: MINUTE },
    });
    outbox.accept(entry('request 1 handled'));
    await settle();
    expect(calls).toEqual(['slot']);
    outbox.accept(entry('uncaught: boom', { level: 'error', crash: true }));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['request 1 handled', 'uncaught: boom']);
    crash.accept();
    await settle();
    expect(stats()).toMatchObject({ entriesMailed: 2, entriesPending: 0 });
  });

  test("a crash entry goes at once while the group's counts for a mail are read", async () => {
    // The first mail's problem is noted; the second mail's counts are never answered.
    const { outbox, mailer, clock, calls, stats } = stallingOutbox(2);
    outbox.accept(entry('db down 1', { level: 'error' }));
    (await mailer.next()).accept();
    outbox.accept(entry('db down 2', { level: 'error' }));
    const flushed = outbox.flush();
    await settle();
    expect(calls).toEqual(['note', 'note']);
    outbox.accept(entry('uncaught: boom', { level: 'error', crash: true }));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['db down 2', 'uncaught: boom']);
    crash.accept();
    await flushed;
    expect(stats()).toMatchObject({ entriesMailed: 3, entriesPending: 0 });
  });

  test('a close while the group is asked sends at once, without asking again', async () => {
    const { outbox, mailer, clock, calls, stats } = stallingOutbox(1, { rateLimit: { mails: 6, perMs: MINUTE } });
    outbox.accept(entry('db down', { level: 'error' }));
    await settle();
    const closed = outbox.close(10_000);
    const pending = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(pending.message)).toEqual(['db down']);
    pending.accept();
    await closed;
    expect(calls).toEqual(['note']);
    expect(stats()).toMatchObject({ entriesMailed: 1, entriesPending: 0 });
  });
});

test('the counts taken for a mail that a crash entry interrupted are reported by the next mail about the problem', async () => {
  const memory = new MemoryStore();
  const gates: Array<() => void> = [];
  let gated = true;
  // Two hosts, as Redis would count them; the first read of the counts waits for the test.
  const store: MailStore = {
    takeMailSlot: (limit, now) => memory.takeMailSlot(limit, now),
    noteProblem: (id, policy, now, count) => memory.noteProblem(id, policy, now, count),
    takeProblemCounts: async (id) => {
      if (gated) await new Promise<void>((resolve) => gates.push(resolve));
      const counts = await memory.takeProblemCounts(id);
      return { count: counts.count, hosts: counts.count > 0 ? 2 : 0 };
    },
    close: () => Promise.resolve(),
  };
  const { members } = fleetOf(2, store);
  const [first, second] = members;
  first!.outbox.accept(entry('db down 1', { level: 'error' }));
  (await first!.mailer.next()).accept();
  second!.outbox.accept(entry('db down 2', { level: 'error' }));
  await settle();
  const flushed = second!.outbox.flush();
  await settle();
  expect(gates).toHaveLength(1);
  second!.outbox.accept(entry('uncaught: boom', { level: 'error', crash: true }));
  const crash = await second!.mailer.next();
  expect(crash.message.text).not.toContain('The hosts sharing');
  crash.accept();
  await flushed;
  // The interrupted read ends now, and takes the counts from the store.
  gated = false;
  gates[0]!();
  await settle();
  second!.outbox.accept(entry('db down 3', { level: 'error' }));
  const next = second!.outbox.flush();
  const mail = await second!.mailer.next();
  expect(mail.message.text).toContain('The hosts sharing this mail\'s store saw "db down 3" 3 times on 2 hosts');
  mail.accept();
  await next;
});
