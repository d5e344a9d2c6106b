import type { CapturedEntry } from '../../src/entry';
import type { RenderedPart } from '../../src/outbox/ports';
import { crashEntry, entry, expectEveryEntryAccounted, failures, lines, scriptedOutbox } from '../helpers/outbox';

/** An outbox whose renders are recorded: the entries of each, in order. */
function recordedOutbox(overrides: Parameters<typeof scriptedOutbox>[0] = {}) {
  const rendered: string[][] = [];
  const render = (entries: readonly CapturedEntry[], notices: readonly string[]): RenderedPart[] => {
    rendered.push(entries.map((item) => item.message));
    return [
      {
        count: entries.length,
        subject: `${entries.length} entries`,
        text: `${[...notices, ...entries.map((item) => item.message)].join('\n')}\n`,
      },
    ];
  };
  const scripted = scriptedOutbox({
    capacity: 2,
    render: (entries, notices) => Promise.resolve(render(entries, notices)),
    renderNow: render,
    ...overrides,
  });
  return { ...scripted, rendered };
}

describe('the next mail is rendered while the one before it is on the wire', () => {
  test('without a rate limit, the mail after the one being sent is ready when the server accepts it', async () => {
    const { outbox, mailer, rendered, stats } = recordedOutbox();
    for (let index = 0; index < 6; index++) outbox.accept(entry(`entry ${index}`));
    const first = await mailer.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rendered).toEqual([
      ['entry 0', 'entry 1'],
      ['entry 2', 'entry 3'],
    ]);
    first.accept();
    const second = await mailer.next();
    expect(lines(second.message)).toEqual(['entry 2', 'entry 3']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(rendered).toHaveLength(3);
    second.accept();
    (await mailer.next()).accept();
    await outbox.flush();
    expect(mailer.delivered.map((message) => lines(message))).toEqual([
      ['entry 0', 'entry 1'],
      ['entry 2', 'entry 3'],
      ['entry 4', 'entry 5'],
    ]);
    // Each mail rendered once.
    expect(rendered).toHaveLength(3);
    expectEveryEntryAccounted(stats());
  });

  test('with a rate limit nothing is rendered ahead, so that the mails it holds back still merge', async () => {
    const { outbox, mailer, rendered, stats, clock } = recordedOutbox({ rateLimit: { mails: 2, perMs: 60_000 } });
    for (let index = 0; index < 8; index++) outbox.accept(entry(`entry ${index}`));
    const first = await mailer.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rendered).toHaveLength(1);
    first.accept();
    await clock.runUntil(mailer.next());
    expect(lines(mailer.sends[0]?.message)).toEqual(['entry 2', 'entry 3', 'entry 4', 'entry 5', 'entry 6', 'entry 7']);
    mailer.sends[0]?.accept();
    await outbox.flush();
    expectEveryEntryAccounted(stats());
  });

  test('a crash entry logged meanwhile goes right after the mail rendered ahead, so that log order holds', async () => {
    const { outbox, mailer, rendered, stats } = recordedOutbox();
    for (let index = 0; index < 6; index++) outbox.accept(entry(`entry ${index}`));
    const first = await mailer.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rendered).toHaveLength(2);
    outbox.accept(crashEntry('uncaught: boom'));
    first.accept();
    const ahead = await mailer.next();
    expect(lines(ahead.message)).toEqual(['entry 2', 'entry 3']);
    ahead.accept();
    const crash = await mailer.next();
    expect(lines(crash.message)).toEqual(['entry 4', 'entry 5', 'uncaught: boom']);
    crash.accept();
    await outbox.flush();
    expect(stats()).toMatchObject({ entriesLogged: 7, entriesMailed: 7, entriesPending: 0 });
    expectEveryEntryAccounted(stats());
  });

  test('a crash entry does not wait for a mail rendered ahead that failed and waits for its retry', async () => {
    const { outbox, mailer, stats, clock } = recordedOutbox();
    for (let index = 0; index < 6; index++) outbox.accept(entry(`entry ${index}`));
    (await mailer.next()).accept();
    // The mail rendered ahead fails once: it waits a second for its retry.
    (await mailer.next()).fail(failures.transient);
    outbox.accept(crashEntry('uncaught: boom'));
    const crash = await mailer.next();
    expect(clock.now()).toBe(0);
    expect(lines(crash.message)).toEqual(['entry 4', 'entry 5', 'uncaught: boom']);
    crash.accept();
    await clock.runUntil(mailer.next());
    expect(lines(mailer.sends[0]?.message)).toEqual(['entry 2', 'entry 3']);
    mailer.sends[0]?.accept();
    await outbox.flush();
    expectEveryEntryAccounted(stats());
  });

  test('entries beyond the memory bound are dropped from the mails behind it, never from the mail rendered ahead', async () => {
    const { outbox, mailer, rendered, stats } = recordedOutbox({ maxBufferedEntries: 5 });
    for (let index = 0; index < 4; index++) outbox.accept(entry(`entry ${index}`));
    const first = await mailer.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rendered).toHaveLength(2);
    for (let index = 4; index < 8; index++) outbox.accept(entry(`entry ${index}`));
    first.accept();
    for (let pending = await mailer.next(); ; pending = await mailer.next()) {
      pending.accept();
      await new Promise((resolve) => setImmediate(resolve));
      if (mailer.sends.length === 0 && outbox.pendingEntries === 0) break;
    }
    await outbox.flush();
    const delivered = mailer.delivered.map((message) => lines(message));
    expect(delivered[1]).toEqual(['entry 2', 'entry 3']);
    expect(stats()).toMatchObject({ entriesLogged: 8, entriesDropped: 3 });
    expectEveryEntryAccounted(stats());
  });
});
