import { BatchBuffer, type BufferPolicy } from '../../src/outbox/buffer';

interface Entry {
  text: string;
  level: 'info' | 'error';
}

const info = (text: string): Entry => ({ text, level: 'info' });
const error = (text: string): Entry => ({ text, level: 'error' });
const texts = (batch: Entry[] | undefined) => batch?.map((entry) => entry.text);

const discarded: string[] = [];
beforeEach(() => discarded.splice(0));

function buffer(policy: Partial<BufferPolicy<Entry>> = {}) {
  return new BatchBuffer<Entry>({
    capacity: 3,
    mode: 'batch',
    isTrigger: () => false,
    onDiscard: (entry) => discarded.push(entry.text),
    ...policy,
  });
}

describe('batch mode', () => {
  test('hands out a batch exactly when capacity entries are waiting', () => {
    const batches = buffer();
    expect(batches.push(info('a'), 0)).toBeUndefined();
    expect(batches.push(info('b'), 0)).toBeUndefined();
    expect(texts(batches.push(info('c'), 0))).toEqual(['a', 'b', 'c']);
    expect(batches.size).toBe(0);
    expect(batches.push(info('d'), 0)).toBeUndefined();
    expect(batches.size).toBe(1);
  });

  test('drain() takes the partial batch in arrival order and leaves the buffer empty', () => {
    const batches = buffer({ capacity: 10 });
    batches.push(info('a'), 0);
    batches.push(info('b'), 0);
    expect(batches.flushableSize).toBe(2);
    expect(texts(batches.takeForFlush())).toEqual(['a', 'b']);
    expect(batches.takeForFlush()).toEqual([]);
  });

  test('capacity 1 mails every entry alone', () => {
    const batches = buffer({ capacity: 1 });
    expect(texts(batches.push(info('a'), 0))).toEqual(['a']);
    expect(texts(batches.push(info('b'), 0))).toEqual(['b']);
  });

  test('a trigger entry sends what waits, itself included, at once', () => {
    const batches = buffer({ capacity: 100, isTrigger: (entry) => entry.level === 'error' });
    batches.push(info('a'), 0);
    batches.push(info('b'), 0);
    expect(texts(batches.push(error('boom'), 0))).toEqual(['a', 'b', 'boom']);
    expect(texts(batches.push(error('again'), 0))).toEqual(['again']);
  });
});

describe('the interval, on an injected clock', () => {
  test('entries logged at t=0 and t=0.9 interval are due together at t=interval', () => {
    const batches = buffer({ capacity: 100, flushIntervalMs: 1000 });
    expect(batches.dueAt).toBeUndefined();
    batches.push(info('at 0'), 0);
    expect(batches.dueAt).toBe(1000);
    batches.push(info('at 900'), 900);
    // The deadline belongs to the oldest entry; a later entry does not push it back.
    expect(batches.dueAt).toBe(1000);
    expect(batches.takeDue(999)).toBeUndefined();
    expect(texts(batches.takeDue(1000))).toEqual(['at 0', 'at 900']);
    expect(batches.dueAt).toBeUndefined();
  });

  test('after a batch went out, the next deadline counts from the next entry', () => {
    const batches = buffer({ capacity: 2, flushIntervalMs: 1000 });
    batches.push(info('a'), 0);
    batches.push(info('b'), 100);
    batches.push(info('c'), 5000);
    expect(batches.dueAt).toBe(6000);
  });

  test('without an interval nothing is ever due by time', () => {
    const batches = buffer({ capacity: 100 });
    batches.push(info('a'), 0);
    expect(batches.dueAt).toBeUndefined();
    expect(batches.takeDue(Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });
});

describe('context mode', () => {
  const context = (capacity: number) =>
    buffer({ capacity, mode: 'context', isTrigger: (entry) => entry.level === 'error' });

  test('20 info then 1 error with capacity 5 gives exactly the last 4 info and the error', () => {
    const ring = context(5);
    for (let index = 0; index < 20; index++) expect(ring.push(info(`info ${index}`), index)).toBeUndefined();
    expect(ring.size).toBe(5);
    expect(texts(ring.push(error('boom'), 20))).toEqual(['info 16', 'info 17', 'info 18', 'info 19', 'boom']);
    // Every entry that left the ring unmailed was told, oldest first.
    expect(discarded).toEqual(Array.from({ length: 16 }, (_, index) => `info ${index}`));
  });

  test('at shutdown the ring is discarded, each entry told', () => {
    const ring = context(3);
    ring.push(info('a'), 0);
    ring.push(info('b'), 1);
    ring.discardContext();
    expect(discarded).toEqual(['a', 'b']);
    expect(ring.size).toBe(0);
  });

  test('entries after a trigger start a new ring', () => {
    const ring = context(3);
    ring.push(info('old'), 0);
    ring.push(error('first'), 1);
    ring.push(info('new 1'), 2);
    expect(texts(ring.push(error('second'), 3))).toEqual(['new 1', 'second']);
  });

  test('a flush or a shutdown mails nothing from the ring, and there is no time trigger', () => {
    const ring = context(3);
    ring.push(info('context only'), 0);
    expect(ring.flushableSize).toBe(0);
    expect(ring.takeForFlush()).toEqual([]);
    expect(ring.dueAt).toBeUndefined();
    expect(ring.size).toBe(1);
  });

  test('capacity 1 keeps only the trigger', () => {
    const ring = context(1);
    ring.push(info('a'), 0);
    expect(texts(ring.push(error('b'), 1))).toEqual(['b']);
    expect(discarded).toEqual(['a']);
  });
});

describe('repeats held back for re-notification', () => {
  test('do not count towards capacity and trigger nothing', () => {
    const batches = buffer({ capacity: 2, isTrigger: (entry) => entry.level === 'error' });
    expect(batches.push(error('again 1'), 0, 5000)).toBeUndefined();
    expect(batches.push(error('again 2'), 0, 5000)).toBeUndefined();
    expect(batches.push(info('a'), 0)).toBeUndefined();
    expect(texts(batches.push(info('b'), 0))).toEqual(['again 1', 'again 2', 'a', 'b']);
    expect(batches.dueAt).toBeUndefined();
  });

  test('make the batch due at the earliest time given, before the interval', () => {
    const batches = buffer({ capacity: 10, flushIntervalMs: 60_000 });
    batches.push(info('a'), 0);
    expect(batches.dueAt).toBe(60_000);
    batches.push(error('again'), 0, 5000);
    batches.push(error('again'), 0, 9000);
    expect(batches.dueAt).toBe(5000);
    expect(batches.takeDue(4999)).toBeUndefined();
    expect(texts(batches.takeDue(5000))).toEqual(['a', 'again', 'again']);
    expect(batches.dueAt).toBeUndefined();
  });

  test('after drops, the repeats never count for more than what is held', () => {
    const batches = buffer({ capacity: 2 });
    batches.push(error('again'), 0, 5000);
    batches.push(error('again'), 0, 5000);
    batches.dropOldest();
    batches.dropOldest();
    expect(batches.push(info('a'), 0)).toBeUndefined();
    expect(texts(batches.push(info('b'), 0))).toEqual(['a', 'b']);
  });
});

describe('dropping repeats first', () => {
  test('removes the oldest repeats held back, keeps every other entry in order, and counts what is left', () => {
    const batches = buffer({ capacity: 100 });
    batches.push(info('a'), 0);
    batches.push(error('again 1'), 0, 5000);
    batches.push(info('b'), 0);
    batches.push(error('again 2'), 0, 5000);
    batches.push(error('again 3'), 0, 5000);
    expect(texts(batches.dropRepeats(2))).toEqual(['again 1', 'again 2']);
    expect(batches.repeatCount).toBe(1);
    expect(texts(batches.drain())).toEqual(['a', 'b', 'again 3']);
  });

  test('a repeat that arrives after other entries is told apart from them when the oldest drop', () => {
    const batches = buffer({ capacity: 100 });
    batches.push(info('a'), 0);
    batches.push(info('b'), 0);
    batches.push(error('again'), 0, 5000);
    batches.push(info('c'), 0);
    expect(batches.dropOldest()?.text).toBe('a');
    expect(batches.dropOldest()?.text).toBe('b');
    expect(batches.repeatCount).toBe(1);
    expect(texts(batches.dropRepeats(1))).toEqual(['again']);
    expect(batches.repeatCount).toBe(0);
    expect(texts(batches.drain())).toEqual(['c']);
  });

  test('dropping the oldest entry keeps the count of repeats exact', () => {
    const batches = buffer({ capacity: 2 });
    batches.push(error('again'), 0, 5000);
    batches.push(info('a'), 0);
    batches.dropOldest();
    expect(batches.repeatCount).toBe(0);
    expect(texts(batches.push(info('b'), 0))).toEqual(['a', 'b']);
  });
});

describe('entries put back', () => {
  test('go before those waiting; the repeats among them wait for their time and do not count towards capacity', () => {
    const batches = buffer({ capacity: 3, flushIntervalMs: 60_000 });
    batches.push(info('later'), 10);
    expect(batches.restore([info('earlier'), error('db down')], [false, true], 300_000, 20)).toBeUndefined();
    expect(batches.size).toBe(3);
    expect(batches.repeatCount).toBe(1);
    // Due at the interval counted from the first entry waiting, before the repeat's time.
    expect(batches.dueAt).toBe(60_010);
    expect(texts(batches.push(info('last'), 30))).toEqual(['earlier', 'db down', 'later', 'last']);
  });

  test('make a batch at once when the entries that count fill capacity', () => {
    const batches = buffer({ capacity: 3 });
    batches.push(info('c'), 0);
    expect(texts(batches.restore([info('a'), info('b'), error('x')], [false, false, true], 300_000, 5))).toEqual([
      'a',
      'b',
      'x',
      'c',
    ]);
    expect(batches.size).toBe(0);
  });

  test('wait until the repeats are due when nothing else makes them due', () => {
    const batches = buffer({ capacity: 3 });
    batches.restore([error('x')], [true], 300_000, 5);
    expect(batches.dueAt).toBe(300_000);
    expect(batches.takeDue(299_999)).toBeUndefined();
    expect(texts(batches.takeDue(300_000))).toEqual(['x']);
  });
});
