import { FallbackStore } from '../../src/store/fallback';
import { createStoreError, MemoryStore, type MailStore } from '../../src/store/store';
import { ManualClock } from '../helpers/manual-clock';

const MINUTE = 60_000;
const POLICY = { delayMs: 5 * MINUTE, maxDelayMs: 20 * MINUTE };
const LIMIT = { mails: 2, perMs: MINUTE };

/** A store of its own state that fails while `down` is set, and counts the calls it gets. */
class FlakyStore implements MailStore {
  readonly state = new MemoryStore();
  down = false;
  calls = 0;
  closed = false;
  /** While set, calls wait for it before they answer. */
  gate: Promise<void> | undefined;

  private async call<T>(answer: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.gate !== undefined) await this.gate;
    if (this.down) throw createStoreError('Redis is unreachable');
    return answer();
  }

  takeMailSlot(limit: { mails: number; perMs: number }, nowMs: number) {
    return this.call(() => this.state.takeMailSlot(limit, nowMs));
  }

  noteProblem(id: string, policy: typeof POLICY, nowMs: number, count: number) {
    return this.call(() => this.state.noteProblem(id, policy, nowMs, count));
  }

  takeProblemCounts(id: string) {
    return this.call(() => this.state.takeProblemCounts(id));
  }

  close() {
    this.closed = true;
    return Promise.resolve();
  }
}

function setUp(probeIntervalMs = 5000) {
  const clock = new ManualClock();
  const shared = new FlakyStore();
  const events: string[] = [];
  const errors: Error[] = [];
  const store = new FallbackStore(shared, new MemoryStore(), {
    clock,
    probeIntervalMs,
    onFallback: (error) => {
      events.push('fallback');
      errors.push(error);
    },
    onRecover: () => events.push('recover'),
  });
  return { clock, shared, store, events, errors };
}

describe('FallbackStore', () => {
  test('answers from the shared store while it works', async () => {
    const { shared, store, events } = setUp();
    // Another process of the group saw the problem first.
    await shared.state.noteProblem('a1', POLICY, 0, 1);
    expect(await store.noteProblem('a1', POLICY, 10, 1)).toEqual({ first: false, windowEndsAt: 5 * MINUTE });
    // The shared counts: the other process's first occurrence and this one.
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 2, hosts: 1 });
    expect(store.sharedInUse).toBe(true);
    expect(events).toEqual([]);
  });

  test('when the shared store fails, answers come from memory and onFallback is told once', async () => {
    const { clock, shared, store, events, errors } = setUp();
    shared.down = true;
    expect(await store.noteProblem('a1', POLICY, 0, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE });
    clock.advanceTo(1000);
    expect(await store.noteProblem('a1', POLICY, 1000, 1)).toEqual({ first: false, windowEndsAt: 5 * MINUTE });
    expect(await store.takeMailSlot(LIMIT, 1000)).toEqual({ granted: true });
    expect(events).toEqual(['fallback']);
    expect(errors[0]).toMatchObject({ code: 'ESTORE', message: 'Redis is unreachable' });
    expect(store.sharedInUse).toBe(false);
  });

  test('while it fails, the shared store is tried again at most once per probeIntervalMs', async () => {
    const { clock, shared, store, events } = setUp(5000);
    shared.down = true;
    await store.takeProblemCounts('a1');
    expect(shared.calls).toBe(1);
    for (let at = 0; at < 5000; at += 500) {
      clock.advanceTo(at);
      await store.takeProblemCounts('a1');
    }
    expect(shared.calls).toBe(1);
    clock.advanceTo(5000);
    await store.takeProblemCounts('a1');
    await store.takeProblemCounts('a1');
    expect(shared.calls).toBe(2);
    clock.advanceTo(9999);
    await store.takeProblemCounts('a1');
    expect(shared.calls).toBe(2);
    expect(events).toEqual(['fallback']);
  });

  test('the first probe that succeeds goes back to the shared store and tells onRecover', async () => {
    const { clock, shared, store, events } = setUp(5000);
    shared.down = true;
    await store.noteProblem('a1', POLICY, 0, 1);
    shared.down = false;
    // Before the interval the shared store is not asked, though it would answer.
    clock.advanceTo(4999);
    expect(await store.noteProblem('b2', POLICY, 4999, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE + 4999 });
    expect(shared.calls).toBe(1);
    // The probe's answer is the shared store's: it has not seen `a1`.
    clock.advanceTo(5000);
    expect(await store.noteProblem('a1', POLICY, 5000, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE + 5000 });
    expect(store.sharedInUse).toBe(true);
    expect(events).toEqual(['fallback', 'recover']);
    await store.noteProblem('a1', POLICY, 5001, 1);
    expect(shared.calls).toBe(3);
    // A later outage is told again.
    shared.down = true;
    await store.takeProblemCounts('a1');
    expect(events).toEqual(['fallback', 'recover', 'fallback']);
  });

  test('one probe at a time: calls made while it is on its way answer from memory', async () => {
    const { clock, shared, store } = setUp(5000);
    shared.down = true;
    await store.takeProblemCounts('a1');
    shared.down = false;
    let open = () => {};
    shared.gate = new Promise((resolve) => (open = resolve));
    clock.advanceTo(5000);
    const probe = store.takeMailSlot(LIMIT, 5000);
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 0, hosts: 0 });
    expect(shared.calls).toBe(2);
    open();
    shared.gate = undefined;
    expect(await probe).toEqual({ granted: true });
    expect(store.sharedInUse).toBe(true);
  });

  test('the memory store knows the mails the shared store granted, and the problems it saw', async () => {
    const { clock, shared, store } = setUp();
    expect(await store.takeMailSlot(LIMIT, 0)).toEqual({ granted: true });
    expect(await store.noteProblem('a1', POLICY, 0, 1)).toEqual({ first: true, windowEndsAt: 5 * MINUTE });
    shared.down = true;
    clock.advanceTo(1000);
    // A fresh memory store would grant a slot and call the problem first.
    expect(await store.takeMailSlot(LIMIT, 1000)).toEqual({ granted: false, retryInMs: MINUTE - 1000 });
    expect(await store.noteProblem('a1', POLICY, 1000, 1)).toEqual({ first: false, windowEndsAt: 5 * MINUTE });
  });

  test('counts taken from the shared store are taken from memory too', async () => {
    const { shared, store } = setUp();
    await store.noteProblem('a1', POLICY, 0, 1);
    await store.noteProblem('a1', POLICY, 1, 3);
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 4, hosts: 1 });
    shared.down = true;
    expect(await store.takeProblemCounts('a1')).toEqual({ count: 0, hosts: 0 });
  });

  test('a listener that throws changes nothing', async () => {
    const clock = new ManualClock();
    const shared = new FlakyStore();
    const store = new FallbackStore(shared, new MemoryStore(), {
      clock,
      onFallback: () => {
        throw new Error('listener failed');
      },
      onRecover: () => {
        throw new Error('listener failed');
      },
    });
    shared.down = true;
    await expect(store.takeMailSlot(LIMIT, 0)).resolves.toEqual({ granted: true });
    shared.down = false;
    clock.advanceTo(5000);
    await expect(store.takeMailSlot(LIMIT, 5000)).resolves.toEqual({ granted: true });
    expect(store.sharedInUse).toBe(true);
  });

  test('close closes the shared store', async () => {
    const { shared, store } = setUp();
    await store.close();
    expect(shared.closed).toBe(true);
  });

  test('probeIntervalMs must be a positive integer', () => {
    expect(() => new FallbackStore(new FlakyStore(), new MemoryStore(), { probeIntervalMs: 0 })).toThrow(
      'Expected the `FallbackStore` option `probeIntervalMs` to be a positive integer, got 0',
    );
  });
});
