import { entry, failures, scriptedOutbox } from '../helpers/outbox';

describe('a close that times out during an outage says why the last try failed', () => {
  test('the ECLOSETIMEOUT problem carries the last failure, while its retry waits', async () => {
    const { outbox, mailer, clock, problems } = scriptedOutbox({ capacity: 2 });
    outbox.accept(entry('e0'));
    outbox.accept(entry('e1'));
    (await mailer.next()).fail(failures.transient);
    await clock.whenTimerSet();
    // The retry waits for its backoff; closing does not shorten it.
    const closed = outbox.close(1500);
    await clock.whenTimerAt(1500);
    clock.advanceTo(1500);
    await closed;

    expect(mailer.delivered).toEqual([]);
    expect(problems).toEqual([
      {
        context: '2 log entries were not delivered within `closeTimeoutMs` (1500 ms); the last try failed',
        error: failures.transient,
        code: 'ECLOSETIMEOUT',
        count: 2,
      },
    ]);
  });

  test('after a success, a close that times out on a mail in progress reports no failure', async () => {
    const { outbox, mailer, clock, problems } = scriptedOutbox({ capacity: 1 });
    outbox.accept(entry('e0'));
    (await mailer.next()).fail(failures.transient);
    await clock.whenTimerSet();
    clock.advanceTo(clock.pending[0] ?? 0);
    (await mailer.next()).accept();
    await mailer.nextRelease();
    outbox.accept(entry('e1'));
    const closed = outbox.close(1500);
    await mailer.next();
    await clock.whenTimerAt(clock.now() + 1500);
    clock.advanceTo(clock.now() + 1500);
    await closed;

    expect(problems).toEqual([
      {
        context: '1 log entry was not delivered within `closeTimeoutMs` (1500 ms)',
        code: 'ECLOSETIMEOUT',
        count: 1,
      },
    ]);
  });
});
