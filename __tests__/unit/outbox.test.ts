import { estimateEntryBytes } from '../../src/outbox/outbox';
import { Renotify } from '../../src/outbox/renotify';
import {
  crashEntry,
  entry,
  expectEveryEntryAccounted,
  failures,
  lines,
  MemorySpool,
  nextMove,
  scriptedOutbox,
  type OutboxMove,
  type ScriptedMailer,
} from '../helpers/outbox';

// Backoff takes a random part off each wait (see retryDelayMs): with the random source fixed,
// every wait is known to the millisecond. At 0.5 a wait is three quarters of its ceiling.
beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0.5));
afterEach(() => jest.restoreAllMocks());

/** Accepts every send the outbox makes, from `move` on, until it waits or has nothing left. */
async function acceptEverySend(
  scripted: ReturnType<typeof scriptedOutbox>,
  move: Promise<OutboxMove>,
  sentAt: number[] = [],
): Promise<void> {
  const { outbox, mailer, clock } = scripted;
  for (let current = await move; typeof current !== 'string'; current = await nextMove(outbox, mailer, clock)) {
    sentAt.push(clock.now());
    current.accept();
  }
}

/** Accepts every send until `done` settles. */
async function acceptSendsUntil(mailer: ScriptedMailer, done: Promise<unknown>): Promise<void> {
  const finished = done.then(() => undefined);
  for (let send = await Promise.race([mailer.next(), finished]); send;) {
    send.accept();
    send = await Promise.race([mailer.next(), finished]);
  }
}

describe('order and accounting', () => {
  test('batches go one conversation at a time, in order, and every entry is accounted for', async () => {
    const { outbox, mailer, stats, sent } = scriptedOutbox({ capacity: 2 });
    for (let index = 0; index < 5; index++) outbox.accept(entry(`e${index}`));
    const flushed = outbox.flush();

    const first = await mailer.next();
    expect(mailer.sends).toHaveLength(1);
    expect(stats()).toMatchObject({ entriesLogged: 5, entriesPending: 5 });
    expectEveryEntryAccounted(stats());
    first.accept();
    (await mailer.next()).accept();
    (await mailer.next()).accept();
    await flushed;

    expect(mailer.delivered.map(lines)).toEqual([['e0', 'e1'], ['e2', 'e3'], ['e4']]);
    expect(sent).toEqual([2, 2, 1]);
    expect(stats()).toMatchObject({ entriesMailed: 5, mailsSent: 3, entriesPending: 0, bytesPending: 0 });
    expectEveryEntryAccounted(stats());
  });
});

describe('retries always back off', () => {
  test.each([
    [0, [500, 1000]],
    [0.5, [750, 1500]],
    [0.999_999, [1000, 2000]],
  ])(
    'a transient failure waits minDelayMs, then twice that, less a random half (random %p: waits %p ms); exhausted tries give up the mail, counted once',
    async (random, [firstWaitMs, secondWaitMs]) => {
      jest.spyOn(Math, 'random').mockReturnValue(random);
      const { outbox, mailer, clock, stats, problems } = scriptedOutbox({ capacity: 1 });
      outbox.accept(entry('lost'));
      const flushed = outbox.flush();

      const tries: number[] = [];
      for (let attempt = 0; attempt < 2; attempt++) {
        const send = await mailer.next();
        tries.push(clock.now());
        send.fail(failures.transient);
        await clock.runNextTimer();
      }
      const last = await mailer.next();
      tries.push(clock.now());
      last.fail(failures.transient);
      await flushed;

      expect(tries).toEqual([0, firstWaitMs, firstWaitMs! + secondWaitMs!]);
      expect(stats()).toMatchObject({ retries: 2, entriesGivenUp: 1, mailsGivenUp: 1, entriesPending: 0 });
      expect(problems.map((problem) => [problem.context, problem.count])).toEqual([
        ['Could not mail 1 log entry after 3 tries', 1],
      ]);
      expectEveryEntryAccounted(stats());
    },
  );

  test('a crash entry goes at once while a mail of an earlier run backs off, and that mail keeps its backoff', async () => {
    const spool = new MemorySpool();
    spool.waiting.push({ file: 'old-1', count: 4, subject: 'old', text: 'old 1\nold 2\nold 3\nold 4\n' });
    const { outbox, mailer, clock, stats } = scriptedOutbox({
      spool,
      retry: { attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    (await mailer.next()).fail(failures.transient);
    await clock.whenTimerSet();
    expect(clock.pending).toEqual([45_000]);

    // A crash arrives during the backoff of the spooled mail: only the crash mail is tried now.
    clock.advanceTo(1000);
    outbox.accept(crashEntry('boom'));
    const crash = await mailer.next();
    expect(lines(crash.message)).toEqual(['boom']);
    crash.fail(failures.transient);
    await clock.whenTimerSet();
    // The mail of the earlier run stays first in the queue: the outbox sleeps until its retry.
    expect(clock.pending).toEqual([45_000]);

    // Another crash entry at once does not make a new conversation before minDelayMs has passed.
    outbox.accept(crashEntry('boom again'));
    await clock.whenTimerSet();
    expect(clock.pending).toEqual([61_000]);
    expect(mailer.sends).toEqual([]);
    expect(stats()).toMatchObject({ entriesLogged: 2, entriesPending: 2, retries: 2 });
    expectEveryEntryAccounted(stats());

    // Then the second crash mail at once; the others follow in queue order: the mail of the
    // earlier run, then the retry of the first crash mail.
    clock.advanceTo(61_000);
    const flushed = outbox.flush();
    await acceptSendsUntil(mailer, flushed);
    expect(mailer.delivered.map((message) => message.text)).toEqual([
      'boom again\n',
      'old 1\nold 2\nold 3\nold 4\n',
      'boom\n',
    ]);
    expect(clock.now()).toBe(61_000);
    expect(spool.removed).toEqual(['old-1']);
    expect(stats()).toMatchObject({ entriesMailed: 2, entriesFromSpool: 4, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });

  test('a stream of crash entries during an outage: each minDelayMs one crash mail with what came since, and the retry of the oldest mail', async () => {
    const scripted = scriptedOutbox({ retry: { attempts: 100, minDelayMs: 1000, maxDelayMs: 1000 } });
    const { outbox, mailer, clock, stats } = scripted;
    const conversations: Array<[number, string[]]> = [];
    /** Fails every send the outbox makes, from `move` on, until it waits. */
    const failEverySend = async (move: Promise<OutboxMove>) => {
      for (let current = await move; typeof current !== 'string'; current = await nextMove(outbox, mailer, clock)) {
        conversations.push([clock.now(), lines(current.message)]);
        current.fail(failures.transient);
      }
    };
    // 40 crash entries, one every 100 ms.
    for (let index = 0; index < 40; index++) {
      outbox.accept(crashEntry(`crash ${index}`));
      await failEverySend(nextMove(outbox, mailer, clock));
      clock.advanceTo((index + 1) * 100);
      await failEverySend(nextMove(outbox, mailer, clock));
    }

    const crashes = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, offset) => `crash ${from + offset}`);
    // Each second: the crash entries that came since, at once, then the oldest mail's retry,
    // which keeps its place at the head of the queue so that log order holds after recovery.
    expect(conversations).toEqual([
      [0, ['crash 0']],
      [1000, crashes(1, 9)],
      [1000, ['crash 0']],
      [2000, crashes(10, 19)],
      [2000, ['crash 0']],
      [3000, crashes(20, 29)],
      [3000, ['crash 0']],
      [4000, crashes(30, 39)],
      [4000, ['crash 0']],
    ]);
    expect(stats()).toMatchObject({ entriesLogged: 40, entriesPending: 40, retries: 9 });
    expectEveryEntryAccounted(stats());
  });
});

describe('rateLimit', () => {
  test('half the window goes at once, the rest evenly; held-back batches are merged, never lost', async () => {
    // 20 mails per 40.96 s: 10 at once, then one every 40960 / 10 = 4096 ms, a pace that binary
    // floating point holds exactly, so that every time below is exact to the millisecond.
    const scripted = scriptedOutbox({ capacity: 1, rateLimit: { mails: 20, perMs: 40_960 } });
    const { outbox, mailer, clock, stats } = scripted;
    const sentAt: number[] = [];
    /** Moves the clock to `time`, letting the outbox send at each timer due on the way. */
    const advanceDelivering = async (time: number) => {
      for (let at = clock.pending[0]; at !== undefined && at <= time; at = clock.pending[0]) {
        clock.advanceTo(at);
        await acceptEverySend(scripted, nextMove(outbox, mailer, clock), sentAt);
      }
      clock.advanceTo(time);
    };
    // A steady stream: 10 entries a second for two minutes, e0 to e1199.
    let logged = 0;
    for (let second = 0; second < 120; second++) {
      for (let index = 0; index < 10; index++) outbox.accept(entry(`e${logged++}`));
      await acceptEverySend(scripted, nextMove(outbox, mailer, clock), sentAt);
      await advanceDelivering((second + 1) * 1000);
    }
    await advanceDelivering(30 * 4096);

    const paced = Array.from({ length: 30 }, (_, index) => 4096 * (index + 1));
    expect(sentAt).toEqual([...Array.from({ length: 10 }, () => 0), ...paced]);
    // Each paced mail holds what was logged since the one before it: the seconds in between.
    const loggedBetween = (after: number, upTo: number) => {
      const from = 10 * (Math.floor(after / 1000) + 1);
      const to = Math.min(1199, 10 * Math.floor(upTo / 1000) + 9);
      return Array.from({ length: to - from + 1 }, (_, offset) => `e${from + offset}`);
    };
    const expected = [
      ...Array.from({ length: 10 }, (_, index) => [`e${index}`]),
      ...paced.map((at, index) => loggedBetween(paced[index - 1] ?? 0, at)),
    ];
    expect(expected.flat()).toEqual(Array.from({ length: 1200 }, (_, index) => `e${index}`));
    expect(mailer.delivered.map(lines)).toEqual(expected);
    expect(mailer.delivered.slice(10).map((message) => message.text.split('\n')[0])).toEqual(
      expected
        .slice(10)
        .map(
          (batches) =>
            `[winston-buffered-mail] This mail holds ${batches.length} batches merged into one by \`rateLimit\`.`,
        ),
    );
    expect(stats()).toMatchObject({ entriesLogged: 1200, entriesMailed: 1200, entriesDropped: 0, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });

  test('at the default 20 mails a minute, a batch logged 1 s after the burst goes 6 s after it, after one wait', async () => {
    const scripted = scriptedOutbox({ capacity: 1, rateLimit: { mails: 20, perMs: 60_000 } });
    const { outbox, mailer, clock } = scripted;
    const sentAt: number[] = [];
    for (let index = 0; index < 10; index++) outbox.accept(entry(`e${index}`));
    await acceptEverySend(scripted, nextMove(outbox, mailer, clock), sentAt);
    clock.advanceTo(1000);
    outbox.accept(entry('e10'));
    expect(await nextMove(outbox, mailer, clock)).toBe('waiting');
    expect(clock.pending).toEqual([6000]);

    clock.advanceTo(6000);
    await acceptEverySend(scripted, nextMove(outbox, mailer, clock), sentAt);
    expect(sentAt).toEqual([...Array.from({ length: 10 }, () => 0), 6000]);
  });

  test('a crash mail does not wait for the rate limit', async () => {
    const { outbox, mailer, clock, stats } = scriptedOutbox({ capacity: 1, rateLimit: { mails: 4, perMs: 60_000 } });
    for (let index = 0; index < 2; index++) {
      outbox.accept(entry(`e${index}`));
      (await mailer.next()).accept();
    }
    outbox.accept(entry('held back'));
    // Two mails at once (half of 4) are spent: the next waits for the pace, 60 s / 2.
    expect(await nextMove(outbox, mailer, clock)).toBe('waiting');
    expect(clock.pending).toEqual([30_000]);
    outbox.accept(crashEntry('boom'));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['held back', 'boom']);
    crash.accept();
    await outbox.flush();
    expect(stats()).toMatchObject({ entriesMailed: 4, mailsSent: 3, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });
});

describe('memory is bounded in bytes', () => {
  test('during an outage the oldest waiting entries are dropped, never from the mail being sent; one warning per episode', async () => {
    const { outbox, mailer, clock, stats, problems } = scriptedOutbox({
      capacity: 10,
      maxBufferedBytes: 64 * 1024,
      retry: { attempts: 100, minDelayMs: 1000, maxDelayMs: 1000 },
    });
    const text = 'x'.repeat(1000);
    for (let index = 0; index < 10; index++) outbox.accept(entry(`${index} ${text}`));
    (await mailer.next()).fail(failures.transient);
    await clock.whenTimerSet();
    for (let index = 10; index < 200; index++) outbox.accept(entry(`${index} ${text}`));

    const held = stats();
    // Within the bound, and no more dropped than needed: one more entry would not fit.
    expect(held.bytesPending).toBeLessThanOrEqual(64 * 1024);
    expect(held.bytesPending + estimateEntryBytes(entry(`199 ${text}`))).toBeGreaterThan(64 * 1024);
    expect(held.entriesDropped).toBe(200 - held.entriesPending);
    expectEveryEntryAccounted(held);
    expect(problems.map((problem) => problem.code)).toEqual(['EOVERFLOW']);
    expect(problems[0]?.context).toContain('mail cannot be sent now');

    await clock.runNextTimer();
    const retried = await mailer.next();
    // The batch being retried is whole.
    expect(lines(retried.message).map((line) => line.split(' ')[0])).toEqual(
      Array.from({ length: 10 }, (_, index) => String(index)),
    );
    retried.accept();
    await acceptSendsUntil(mailer, outbox.flush());
    // The mail after the retried one announces the drops, with their count; the newest entries stayed.
    expect(mailer.delivered[1]?.text.split('\n')[0]).toBe(
      `[winston-buffered-mail] ${held.entriesDropped} log entries were dropped: more was waiting than \`maxBufferedBytes\` allows.`,
    );
    const kept = held.entriesPending - 10;
    expect(mailer.delivered.flatMap(lines).map((line) => Number(line.split(' ')[0]))).toEqual([
      ...Array.from({ length: 10 }, (_, index) => index),
      ...Array.from({ length: kept }, (_, index) => 200 - kept + index),
    ]);
    expect(problems).toHaveLength(1);
    expect(stats()).toMatchObject({ entriesPending: 0, entriesLogged: 200, entriesMailed: held.entriesPending });
    expectEveryEntryAccounted(stats());
  });

  test('a burst of 100,000 typical entries at the default bound loses nothing', async () => {
    const { outbox, mailer, stats } = scriptedOutbox({ capacity: 100, rateLimit: { mails: 20, perMs: 60_000 } });
    for (let index = 0; index < 100_000; index++) {
      outbox.accept(entry(`2026-11-25T10:00:00.000Z INFO  order ${index} shipped {"orderId":${index},"items":3}`));
    }
    expect(stats()).toMatchObject({ entriesLogged: 100_000, entriesDropped: 0, entriesPending: 100_000 });
    expectEveryEntryAccounted(stats());
    // Taking the burst sent nothing yet; then the first batch goes alone.
    expect(mailer.sends).toEqual([]);
    const first = await mailer.next();
    expect(lines(first.message).map((line) => /order (\d+)/.exec(line)?.[1])).toEqual(
      Array.from({ length: 100 }, (_, index) => String(index)),
    );
    expect(mailer.sends).toEqual([first]);
  });
});

describe('size', () => {
  test('a part refused as too large goes again as two halves; a single entry too large is given up alone', async () => {
    const { outbox, mailer, stats, problems } = scriptedOutbox({ capacity: 4, perMail: 2 });
    for (let index = 0; index < 4; index++) outbox.accept(entry(`e${index}`));
    const flushed = outbox.flush();

    (await mailer.next()).fail(failures['too-large']); // part [e0, e1]
    (await mailer.next()).accept(); // [e0]
    (await mailer.next()).fail(failures['too-large']); // [e1] alone: given up
    (await mailer.next()).accept(); // the part after it still goes: [e2, e3]
    await flushed;

    expect(mailer.delivered.map(lines)).toEqual([['e0'], ['e2', 'e3']]);
    expect(stats()).toMatchObject({ entriesMailed: 3, entriesGivenUp: 1, mailsGivenUp: 1 });
    expect(problems).toHaveLength(1);
    expectEveryEntryAccounted(stats());
  });

  test('a crash mail that merges 200,000 waiting entries does not overflow the stack', async () => {
    const { outbox, mailer, stats } = scriptedOutbox({ capacity: 1000, rateLimit: { mails: 1, perMs: 60_000 } });
    outbox.accept(entry('first'));
    for (let index = 0; index < 1000; index++) outbox.accept(entry(`e${index}`));
    (await mailer.next()).accept();
    for (let index = 0; index < 200_000; index++) outbox.accept(entry(`e${index}`));
    outbox.accept(crashEntry('boom'));
    const crash = await mailer.next();
    expect(lines(crash.message)).toHaveLength(200_002);
    crash.accept();
    await outbox.flush();
    expect(stats()).toMatchObject({ entriesMailed: 201_002, mailsSent: 2, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });
});

describe('shutdown', () => {
  test('when closeTimeoutMs runs out the conversation is aborted and the mail spooled; nothing is sent after', async () => {
    const spool = new MemorySpool();
    const { outbox, mailer, clock, stats, problems } = scriptedOutbox({ spool, capacity: 3 });
    for (let index = 0; index < 7; index++) outbox.accept(entry(`e${index}`));
    const closed = outbox.close(5000);
    await mailer.next();
    await clock.whenTimerSet();
    expect(clock.pending).toEqual([5000]);
    clock.advanceTo(5000);
    await closed;

    // The send in progress was aborted, and nothing was tried after it.
    expect(mailer.aborts).toBe(1);
    expect(mailer.sends).toEqual([]);
    expect(mailer.delivered).toEqual([]);
    expect(spool.written.flatMap((mail) => mail.text.split('\n').filter(Boolean))).toEqual(
      Array.from({ length: 7 }, (_, index) => `e${index}`),
    );
    expect(problems.map((problem) => [problem.code, problem.count])).toEqual([['ECLOSETIMEOUT', 7]]);
    expect(stats()).toMatchObject({ entriesSpooled: 7, entriesMailed: 0, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });

  test('when a later part of a split mail cannot be spooled, its entries are given up, each counted once', async () => {
    const spool = new MemorySpool();
    spool.room = 1;
    const { outbox, mailer, clock, stats, problems } = scriptedOutbox({
      spool,
      capacity: 6,
      perMail: 2,
      retry: { attempts: 1, minDelayMs: 1000, maxDelayMs: 1000 },
    });
    for (let index = 0; index < 6; index++) outbox.accept(entry(`e${index}`));
    const flushed = outbox.flush();
    (await mailer.next()).fail(failures.transient);
    await flushed;

    expect(clock.now()).toBe(0);
    expect(spool.written.map(lines)).toEqual([['e0', 'e1']]);
    expect(stats()).toMatchObject({
      entriesSpooled: 2,
      mailsSpooled: 1,
      entriesGivenUp: 4,
      mailsGivenUp: 2,
      entriesPending: 0,
    });
    expect(problems.map((problem) => problem.count)).toEqual([2, 4]);
    expectEveryEntryAccounted(stats());
  });

  test('entries accepted after close() are delivered by the next close()', async () => {
    const { outbox, mailer, stats } = scriptedOutbox();
    await outbox.close(1000);
    outbox.accept(entry('late'));
    const closed = outbox.close(1000);
    (await mailer.next()).accept();
    await closed;
    expect(mailer.delivered.map(lines)).toEqual([['late']]);
    expectEveryEntryAccounted(stats());
  });

  test('at exit, what is left is spooled synchronously, or counted as given up when no spool', () => {
    const { outbox, stats, problems } = scriptedOutbox({ capacity: 100 });
    for (let index = 0; index < 3; index++) outbox.accept(entry(`e${index}`));
    outbox.exit();
    expect(stats()).toMatchObject({ entriesGivenUp: 3, entriesPending: 0 });
    expect(problems.map((problem) => [problem.code, problem.context])).toEqual([
      ['EEXIT', '3 log entries were not delivered before the process exited'],
    ]);
    expectEveryEntryAccounted(stats());
  });
});

describe('what the attacks found', () => {
  test("an abort reported by a user's transporter is retried after a backoff, not resent at once", async () => {
    const { outbox, mailer, clock, stats } = scriptedOutbox({
      retry: { attempts: 3, minDelayMs: 1000, maxDelayMs: 1000 },
    });
    outbox.accept(entry('e0'));
    void outbox.flush();
    (await mailer.next()).fail(failures.aborted);
    await clock.whenTimerSet();
    expect(mailer.sends).toEqual([]);
    expect(clock.pending[0]).toBeGreaterThanOrEqual(500);
    expect(stats()).toMatchObject({ retries: 1, entriesPending: 1 });
    expectEveryEntryAccounted(stats());
  });

  test('crash entries during an outage are bounded by maxBufferedBytes too, dropped after the others', async () => {
    const { outbox, mailer, stats, problems } = scriptedOutbox({
      capacity: 100,
      maxBufferedBytes: 64 * 1024,
      retry: { attempts: 100, minDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    outbox.accept(crashEntry('first crash'));
    (await mailer.next()).fail(failures.transient);
    for (let index = 0; index < 2000; index++) outbox.accept(crashEntry(`crash ${index} ${'x'.repeat(100)}`));

    expect(stats().bytesPending).toBeLessThanOrEqual(64 * 1024);
    expect(stats().entriesDropped).toBeGreaterThan(1500);
    expect(problems.map((problem) => problem.code)).toEqual(['EOVERFLOW']);
    expectEveryEntryAccounted(stats());
  });

  test('a mail of an earlier run that the server refuses for good does not keep the next one from going', async () => {
    const spool = new MemorySpool();
    spool.waiting.push(
      { file: 'poison', count: 1, subject: 'poison', text: 'poison\n' },
      { file: 'good', count: 1, subject: 'good', text: 'good\n' },
    );
    const { outbox, mailer, stats } = scriptedOutbox({ spool });
    (await mailer.next()).fail(failures.permanent);
    const next = await mailer.next();
    expect(next.message.text).toBe('good\n');
    next.accept();
    await outbox.flush();
    expect(spool.released).toEqual(['poison']);
    expect(spool.removed).toEqual(['good']);
    expect(stats()).toMatchObject({ entriesFromSpool: 1, entriesGivenUp: 0 });
  });

  test('a spooled mail refused as too large stays in the spool and is not counted as given up', async () => {
    const spool = new MemorySpool();
    spool.waiting.push({ file: 'big', count: 3, subject: 'big', text: 'a\nb\nc\n' });
    const { outbox, mailer, stats } = scriptedOutbox({ spool });
    (await mailer.next()).fail(failures['too-large']);
    await outbox.flush();
    expect(spool.released).toEqual(['big']);
    expect(stats()).toMatchObject({ entriesLogged: 0, entriesGivenUp: 0, mailsGivenUp: 0 });
    expectEveryEntryAccounted(stats());
  });
});

describe('re-notification', () => {
  const MINUTE = 60_000;
  const renotified = (overrides: Parameters<typeof scriptedOutbox>[0] = {}) =>
    scriptedOutbox({
      capacity: 100,
      isTrigger: (item) => item.crash || item.level === 'error',
      renotify: {
        policy: new Renotify({ delayMs: 5 * MINUTE, maxDelayMs: 60 * MINUTE }),
        fingerprint: (item) => item.message.replace(/\d+/g, '#'),
      },
      ...overrides,
    });
  const failure = (index: number) => entry(`order ${index} failed`, { level: 'error' });

  test('an error loop mails its first error at once and the repeats once, when the window ends', async () => {
    const scripted = renotified();
    const { outbox, mailer, clock, stats } = scripted;
    outbox.accept(entry('starting'));
    outbox.accept(failure(0));
    const first = await mailer.next();
    expect(lines(first.message)).toEqual(['starting', 'order 0 failed']);
    first.accept();
    // 2,000 repeats in a few seconds, among ordinary entries: no mail until the window ends.
    for (let index = 1; index <= 2000; index++) {
      outbox.accept(failure(index));
      if (index % 40 === 0) outbox.accept(entry(`request ${index}`));
      if (index % 500 === 0) clock.advanceTo(clock.now() + 1000);
    }
    expect(await nextMove(outbox, mailer, clock)).toBe('waiting');
    expect(mailer.delivered).toHaveLength(1);
    expect(stats()).toMatchObject({ entriesLogged: 2052, entriesMailed: 2, entriesPending: 2050 });

    clock.advanceTo(5 * MINUTE);
    const digest = await mailer.next();
    expect(lines(digest.message)).toHaveLength(2050);
    expect(lines(digest.message)[0]).toBe('order 1 failed');
    digest.accept();
    await outbox.flush();
    expect(mailer.delivered).toHaveLength(2);
    expect(stats()).toMatchObject({ entriesLogged: 2052, entriesMailed: 2052, mailsSent: 2, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });

  test('ordinary entries still fill batches of `capacity`: repeats do not count towards it', async () => {
    const { outbox, mailer } = renotified({ capacity: 3 });
    outbox.accept(failure(0));
    (await mailer.next()).accept();
    for (let index = 1; index <= 50; index++) outbox.accept(failure(index));
    outbox.accept(entry('a'));
    outbox.accept(entry('b'));
    expect(mailer.sends).toHaveLength(0);
    outbox.accept(entry('c'));
    const batch = await mailer.next();
    expect(lines(batch.message)).toHaveLength(53);
    batch.accept();
  });

  test('another problem mails at once, with the repeats waiting before it', async () => {
    const { outbox, mailer } = renotified();
    outbox.accept(failure(0));
    (await mailer.next()).accept();
    outbox.accept(failure(1));
    outbox.accept(entry('disk full', { level: 'error' }));
    const second = await mailer.next();
    expect(lines(second.message)).toEqual(['order 1 failed', 'disk full']);
    second.accept();
  });

  test('crash entries always mail at once', async () => {
    const { outbox, mailer, clock } = renotified();
    outbox.accept(crashEntry('boom 1'));
    (await mailer.next()).accept();
    // A crash mail after another waits `retry.minDelayMs`, not the re-notification window.
    clock.advanceTo(1000);
    outbox.accept(crashEntry('boom 2'));
    const second = await mailer.next();
    expect(lines(second.message)).toEqual(['boom 2']);
    second.accept();
  });
});

test('entries recovered from a journal are held within maxBufferedBytes like any others, the oldest dropped and counted', async () => {
  const { outbox, stats } = scriptedOutbox({ maxBufferedBytes: 64 * 1024 });
  const recovered = Array.from({ length: 1000 }, (_, index) => entry(`recovered ${index} ${'x'.repeat(100)}`));
  outbox.acceptRecovered(recovered, '[winston-buffered-mail] The previous run ended without shutting down.');
  const held = stats();
  expect(held.entriesRecovered).toBe(1000);
  expect(held.entriesDropped).toBeGreaterThan(0);
  expect(held.bytesPending).toBeLessThanOrEqual(64 * 1024);
  expectEveryEntryAccounted(held);
  await Promise.resolve();
});

test('beyond maxBufferedBytes, the repeats held back for re-notification drop before the entries around them', async () => {
  const scripted = scriptedOutbox({
    capacity: 1_000_000,
    maxBufferedBytes: 256 * 1024,
    isTrigger: (item) => item.level === 'error',
    renotify: { policy: new Renotify({ delayMs: 300_000, maxDelayMs: 3_600_000 }), fingerprint: (item) => item.level },
  });
  const { outbox, mailer, stats } = scripted;
  outbox.accept(entry('db down', { level: 'error' }));
  (await mailer.next()).accept();
  outbox.accept(entry('the pool ran dry first', { level: 'warn' }));
  for (let index = 0; index < 5000; index++)
    outbox.accept(entry(`db down again ${index} ${'x'.repeat(40)}`, { level: 'error' }));
  outbox.accept(entry('and the replica answered', { level: 'info' }));
  expect(stats().entriesDropped).toBeGreaterThan(0);
  expect(stats().bytesPending).toBeLessThanOrEqual(256 * 1024);
  expect(scripted.problems.find((problem) => problem.code === 'EOVERFLOW')?.context).toMatch(
    /because the repeats of a problem wait for the end of its `renotify` window: those repeats, then the oldest waiting entries, are being dropped/,
  );
  const flushed = outbox.flush();
  const digest = await mailer.next();
  const kept = lines(digest.message);
  expect(kept).toContain('the pool ran dry first');
  expect(kept).toContain('and the replica answered');
  digest.accept();
  await flushed;
  expectEveryEntryAccounted(stats());
});
