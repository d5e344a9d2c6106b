import {
  crashEntry,
  entry,
  expectEveryEntryAccounted,
  failures,
  lines,
  MemorySpool,
  scriptedOutbox,
  settle,
} from '../helpers/outbox';

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
  test('a transient failure waits minDelayMs, then doubles; exhausted tries give up the mail, counted once', async () => {
    const { outbox, mailer, clock, stats, problems } = scriptedOutbox({ capacity: 1 });
    outbox.accept(entry('lost'));
    const flushed = outbox.flush();

    const tries: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const send = await mailer.next();
      tries.push(clock.now());
      send.fail(failures.transient);
      await settle();
      if (attempt < 2) await clock.runNextTimer();
    }
    await flushed;

    // Backoff takes a random half off each wait: the first in [500, 1000], the second in [1000, 2000].
    expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(500);
    expect(tries[1]! - tries[0]!).toBeLessThanOrEqual(1000);
    expect(tries[2]! - tries[1]!).toBeGreaterThanOrEqual(1000);
    expect(tries[2]! - tries[1]!).toBeLessThanOrEqual(2000);
    expect(stats()).toMatchObject({ retries: 2, entriesGivenUp: 1, mailsGivenUp: 1, entriesPending: 0 });
    expect(problems.map((problem) => [problem.context, problem.count])).toEqual([
      ['Could not mail 1 log entry after 3 tries', 1],
    ]);
    expectEveryEntryAccounted(stats());
  });

  test('a crash entry goes at once while a mail of an earlier run backs off, and that mail keeps its backoff', async () => {
    const spool = new MemorySpool();
    spool.waiting.push({ file: 'old-1', count: 4, subject: 'old', text: 'old 1\nold 2\nold 3\nold 4\n' });
    const { outbox, mailer, clock, stats } = scriptedOutbox({
      spool,
      retry: { attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    (await mailer.next()).fail(failures.transient);
    await settle();
    expect(clock.pending).toHaveLength(1);
    const retryAt = clock.pending[0]!;
    expect(retryAt).toBeGreaterThanOrEqual(30_000);

    // A crash arrives during the backoff of the spooled mail: only the crash mail is tried now.
    clock.advanceTo(1000);
    outbox.accept(crashEntry('boom'));
    const crash = await mailer.next();
    expect(lines(crash.message)).toEqual(['boom']);
    crash.fail(failures.transient);
    await settle();
    // Another crash entry at once does not make a new conversation before minDelayMs has passed.
    outbox.accept(crashEntry('boom again'));
    await settle();
    expect(mailer.sends).toHaveLength(0);
    expect(Math.min(...clock.pending)).toBeGreaterThanOrEqual(1000 + 60_000);
    expect(stats()).toMatchObject({ entriesLogged: 2, entriesPending: 2, retries: 2 });
    expectEveryEntryAccounted(stats());
  });

  test('a stream of crash entries during an outage is at most one conversation per minDelayMs', async () => {
    const { outbox, mailer, clock } = scriptedOutbox({ retry: { attempts: 100, minDelayMs: 1000, maxDelayMs: 1000 } });
    const conversationsAt: number[] = [];
    let logged = 0;
    for (let step = 0; step < 40; step++) {
      outbox.accept(crashEntry(`crash ${logged++}`));
      await settle();
      for (const send of [...mailer.sends]) {
        conversationsAt.push(clock.now());
        send.fail(failures.transient);
      }
      await settle();
      clock.advanceTo(clock.now() + 100);
    }
    // 40 crash entries over 4 s: one try at most per second, not one per entry.
    expect(conversationsAt.length).toBeLessThanOrEqual(5);
    for (let index = 1; index < conversationsAt.length; index++) {
      expect(conversationsAt[index]! - conversationsAt[index - 1]!).toBeGreaterThanOrEqual(1000);
    }
  });
});

describe('rateLimit', () => {
  test('half the window goes at once, the rest evenly; held-back batches are merged, never lost', async () => {
    const { outbox, mailer, clock, stats } = scriptedOutbox({
      capacity: 1,
      rateLimit: { mails: 20, perMs: 60_000 },
    });
    const sentAt: number[] = [];
    let logged = 0;
    // A steady stream: 10 entries a second for two minutes.
    for (let second = 0; second < 120; second++) {
      for (let index = 0; index < 10; index++) outbox.accept(entry(`e${logged++}`));
      for (let turn = 0; turn < 40; turn++) {
        await settle(1);
        const send = mailer.sends[0];
        if (!send) continue;
        sentAt.push(clock.now());
        send.accept();
      }
      clock.advanceTo((second + 1) * 1000);
    }
    for (const at of sentAt) {
      expect(sentAt.filter((other) => other > at - 60_000 && other <= at).length).toBeLessThanOrEqual(20);
    }
    // Never a long silence once the burst is spent: a mail every 6 s (this test reads the clock
    // to the second).
    for (let index = 1; index < sentAt.length; index++) {
      expect(sentAt[index]! - sentAt[index - 1]!).toBeLessThanOrEqual(7_000);
    }
    expect(stats()).toMatchObject({ entriesDropped: 0 });
    const delivered = mailer.delivered.flatMap(lines);
    expect(delivered).toEqual(Array.from({ length: delivered.length }, (_, index) => `e${index}`));
    expect(delivered.length + stats().entriesPending).toBe(1200);
    expect(mailer.delivered.some((message) => message.text.includes('merged into one by `rateLimit`'))).toBe(true);
    expectEveryEntryAccounted(stats());
  });

  test('a crash mail does not wait for the rate limit', async () => {
    const { outbox, mailer, clock } = scriptedOutbox({ capacity: 1, rateLimit: { mails: 4, perMs: 60_000 } });
    for (let index = 0; index < 2; index++) {
      outbox.accept(entry(`e${index}`));
      (await mailer.next()).accept();
    }
    outbox.accept(entry('held back'));
    await settle();
    expect(mailer.sends).toHaveLength(0);
    outbox.accept(crashEntry('boom'));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['held back', 'boom']);
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
    await settle();
    for (let index = 10; index < 200; index++) outbox.accept(entry(`${index} ${text}`));
    await settle();

    const held = stats();
    expect(held.bytesPending).toBeLessThanOrEqual(64 * 1024);
    expect(held.entriesDropped).toBeGreaterThan(100);
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
    const flushed = outbox.flush();
    for (;;) {
      await settle();
      const send = mailer.sends[0];
      if (!send) break;
      send.accept();
    }
    await flushed;
    // The mail after the retried one announces the drops, with their count.
    expect(mailer.delivered[1]?.text.split('\n')[0]).toBe(
      `[winston-buffered-mail] ${held.entriesDropped} log entries were dropped: more was waiting than \`maxBufferedBytes\` allows.`,
    );
    expectEveryEntryAccounted(stats());
    expect(stats()).toMatchObject({ entriesPending: 0, entriesLogged: 200 });
  });

  test('a burst of 100,000 typical entries at the default bound loses nothing', () => {
    const { outbox, mailer, stats } = scriptedOutbox({ capacity: 100, rateLimit: { mails: 20, perMs: 60_000 } });
    for (let index = 0; index < 100_000; index++) {
      outbox.accept(entry(`2026-11-25T10:00:00.000Z INFO  order ${index} shipped {"orderId":${index},"items":3}`));
    }
    expect(stats().entriesDropped).toBe(0);
    expectEveryEntryAccounted(stats());
    expect(mailer.sends.length).toBeLessThanOrEqual(1);
  });
});

describe('size', () => {
  test('a part refused as too large goes again as two halves; a single entry too large is given up alone', async () => {
    const { outbox, mailer, stats, problems } = scriptedOutbox({ capacity: 4, perMail: 2 });
    for (let index = 0; index < 4; index++) outbox.accept(entry(`e${index}`));
    const flushed = outbox.flush();

    (await mailer.next()).fail(failures['too-large']); // part [e0, e1]
    await settle();
    (await mailer.next()).accept(); // [e0]
    await settle();
    (await mailer.next()).fail(failures['too-large']); // [e1] alone: given up
    await settle();
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
    await settle();
    expectEveryEntryAccounted(stats());
  });
});

describe('shutdown', () => {
  test('when closeTimeoutMs runs out the conversation is aborted and the mail spooled; nothing is sent after', async () => {
    const spool = new MemorySpool();
    const { outbox, mailer, clock, stats, problems } = scriptedOutbox({ spool, capacity: 3 });
    for (let index = 0; index < 7; index++) outbox.accept(entry(`e${index}`));
    const closed = outbox.close(5000);
    const inFlight = await mailer.next();
    await settle();
    clock.advanceTo(5000);
    await closed;

    expect(mailer.aborts).toBe(1);
    expect(mailer.sends).toEqual([]);
    expect(() => inFlight.accept()).not.toThrow();
    await settle();
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
