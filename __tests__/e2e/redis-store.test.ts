import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { FallbackStore } from '../../src/store/fallback';
import { CALLER_TIME, RedisStore, type RedisStoreOptions } from '../../src/store/redis';
import { MemoryStore, type MailSlot, type MailStore, type ProblemNote } from '../../src/store/store';
import { ManualClock } from '../helpers/manual-clock';
import { deadPort } from '../helpers/ports';
import { describeWithRedis, RedisServer } from '../helpers/redis';

const MINUTE = 60_000;
const POLICY = { delayMs: 5 * MINUTE, maxDelayMs: 20 * MINUTE };
const EXPIRY_MARGIN_MS = 60_000;

/** Pseudo-random numbers from a fixed seed: the same schedule on every run. */
function randomFrom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Resolves once `attempt` resolves, trying again every 50 ms for up to 10 s. */
async function eventually<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: unknown };
  }
  throw new Error('Expected a rejection');
}

describeWithRedis('RedisStore against a real redis-server', () => {
  let server: RedisServer;
  let admin: Redis;
  const opened: Array<{ close(): Promise<void> }> = [];

  /** `count` group stores of the group `group`, each on a connection of its own, as replicas have. */
  function openStores(count: number, options: Partial<RedisStoreOptions> = {}): MailStore[] {
    return Array.from({ length: count }, (_, index) => {
      // Counting in the times the tests pass, not Redis's clock.
      const store = new RedisStore({
        url: server.url(),
        group: 'fleet',
        hostName: `host-${index}`,
        [CALLER_TIME]: true,
        ...options,
      } as RedisStoreOptions);
      opened.push(store);
      return store.openGroup('unused');
    });
  }

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.url());
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await admin.flushall();
  });

  afterAll(async () => {
    // Undefined when the server could not start: the error is reported by beforeAll.
    admin?.disconnect();
    await server?.remove();
  });

  describe('the rate window', () => {
    test('four clients share one window: 6 mails per minute, 3 at once and then one every 20 s', async () => {
      const clients = openStores(4);
      const limit = { mails: 6, perMs: MINUTE };
      const grantedAt: number[] = [];
      for (let now = 0; now <= 3 * MINUTE; now += 5000) {
        const slots = await Promise.all(clients.map((client) => client.takeMailSlot(limit, now)));
        for (const slot of slots) if (slot.granted) grantedAt.push(now);
      }
      expect(grantedAt).toEqual([0, 0, 0, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000, 160_000, 180_000]);
      // 6 in the first minute counted from the first mail, and never more than 6 in any minute.
      expect(grantedAt.filter((at) => at <= MINUTE)).toHaveLength(6);
      for (const end of grantedAt) {
        expect(grantedAt.filter((at) => at > end - MINUTE && at <= end).length).toBeLessThanOrEqual(6);
      }
    });

    test('the answers are those of one process, whoever asks and whenever', async () => {
      const clients = openStores(4);
      const random = randomFrom(42);
      for (const limit of [
        { mails: 7, perMs: 10_000 },
        { mails: 20, perMs: MINUTE },
        { mails: 1, perMs: 30_000 },
      ]) {
        await admin.flushall();
        const oracle = new MemoryStore();
        const answers: MailSlot[] = [];
        const expected: MailSlot[] = [];
        let now = 1_700_000_000_000;
        for (let index = 0; index < 300; index++) {
          now += Math.floor(random() * random() * limit.perMs * 0.3);
          const client = clients[Math.floor(random() * clients.length)]!;
          answers.push(await client.takeMailSlot(limit, now));
          expected.push(await oracle.takeMailSlot(limit, now));
        }
        expect(answers).toEqual(expected);
        expect(answers.filter((slot) => slot.granted).length).toBeGreaterThan(20);
      }
    });

    test('a client whose clock is behind gets no refill for the difference', async () => {
      const [ahead, behind] = openStores(2);
      const limit = { mails: 2, perMs: MINUTE };
      expect(await ahead!.takeMailSlot(limit, 100_000)).toEqual({ granted: true });
      // Ten seconds behind: the bucket the other emptied refills from its time on.
      expect(await behind!.takeMailSlot(limit, 90_000)).toEqual({ granted: false, retryInMs: MINUTE });
      expect(await behind!.takeMailSlot(limit, 150_000)).toEqual({ granted: true });
    });

    test('a client whose clock is ten minutes ahead cannot stop the others', async () => {
      const [ahead, onTime] = openStores(2);
      const limit = { mails: 6, perMs: MINUTE };
      const start = 1_700_000_000_000;
      expect(await ahead!.takeMailSlot(limit, start + 10 * MINUTE)).toEqual({ granted: true });
      const answers: Array<[number, MailSlot]> = [];
      for (let now = start; now <= start + 3 * MINUTE; now += 5000) {
        answers.push([now - start, await onTime!.takeMailSlot(limit, now)]);
      }
      // As if alone, less the slot the other took: the 2 left of the first 3, then one every 20 s.
      expect(answers.filter(([, slot]) => slot.granted).map(([at]) => at)).toEqual([
        0, 5000, 20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000, 160_000, 180_000,
      ]);
      expect(Math.max(...answers.map(([, slot]) => (slot.granted ? 0 : slot.retryInMs)))).toBe(15_000);
    });
  });

  describe("Redis's clock", () => {
    /** Stores of one group counting in Redis's clock, as they do by default. */
    function openRealTimeStores(count: number): MailStore[] {
      return Array.from({ length: count }, (_, index) => {
        const store = new RedisStore({ url: server.url(), group: 'fleet', hostName: `host-${index}` });
        opened.push(store);
        return store.openGroup('unused');
      });
    }

    test('clocks a minute behind and ten minutes ahead share one rate window as if they agreed', async () => {
      const [behind, ahead] = openRealTimeStores(2);
      const limit = { mails: 6, perMs: MINUTE };
      const answers: MailSlot[] = [];
      for (let index = 0; index < 20; index++) {
        answers.push(await behind!.takeMailSlot(limit, Date.now() - MINUTE));
        answers.push(await ahead!.takeMailSlot(limit, Date.now() + 10 * MINUTE));
      }
      // Half the window at once, for the group; the next slot in about 20 s, whoever asks.
      expect(answers.filter((slot) => slot.granted)).toHaveLength(3);
      const waits = answers.slice(3).map((slot) => (slot.granted ? 0 : slot.retryInMs));
      expect(Math.min(...waits)).toBeGreaterThan(0);
      expect(Math.max(...waits)).toBeLessThanOrEqual(20_000);
    });

    test("a problem's window ends for each caller after the same wait, whatever its clock says", async () => {
      const [ahead, onTime] = openRealTimeStores(2);
      const aheadNow = Date.now() + 60 * MINUTE;
      const first = await ahead!.noteProblem('a1b2c3d4e5f6', POLICY, aheadNow, 1);
      expect(first).toMatchObject({ first: true });
      expect(first.windowEndsAt - aheadNow).toBe(5 * MINUTE);
      const now = Date.now();
      const repeat = await onTime!.noteProblem('a1b2c3d4e5f6', POLICY, now, 1);
      expect(repeat.first).toBe(false);
      expect(repeat.windowEndsAt - now).toBeLessThanOrEqual(5 * MINUTE);
      expect(repeat.windowEndsAt - now).toBeGreaterThan(4 * MINUTE);
    });
  });

  describe('problems', () => {
    test('of four clients seeing a problem at once, exactly one is first', async () => {
      const clients = openStores(4);
      const notes = await Promise.all(clients.map((client) => client.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1)));
      expect(notes.filter((note) => note.first)).toHaveLength(1);
      expect(notes.map((note) => note.windowEndsAt)).toEqual([5, 5, 5, 5].map((minutes) => minutes * MINUTE));
      // Another problem has a window of its own.
      expect(await clients[2]!.noteProblem('ffffffffffff', POLICY, 1000, 1)).toEqual({
        first: true,
        windowEndsAt: 5 * MINUTE + 1000,
      });
    });

    test('the windows are those of one process: repeats double them, a quiet one closes them', async () => {
      const clients = openStores(3);
      const oracle = new MemoryStore();
      const random = randomFrom(7);
      const answers: ProblemNote[] = [];
      const expected: ProblemNote[] = [];
      const times: number[] = [];
      let now = 0;
      for (let index = 0; index < 200; index++) {
        now += Math.floor(random() * random() * 12 * MINUTE);
        times.push(now);
        const id = random() < 0.7 ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb';
        const count = 1 + Math.floor(random() * 3);
        answers.push(await clients[index % 3]!.noteProblem(id, POLICY, now, count));
        expected.push(await oracle.noteProblem(id, POLICY, now, count));
      }
      expect(answers).toEqual(expected);
      // The schedule went through every case: first, repeated, and windows that grew beyond delayMs.
      expect(answers.filter((note) => note.first).length).toBeGreaterThan(3);
      expect(answers.filter((note) => !note.first).length).toBeGreaterThan(100);
      expect(
        answers.filter((note, index) => note.windowEndsAt - times[index]! > POLICY.delayMs).length,
      ).toBeGreaterThan(10);
    });

    test('occurrences are counted with the hosts they came from, read and reset at once', async () => {
      const [a, b, c] = openStores(3);
      expect(await a!.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1)).toMatchObject({ first: true });
      for (let index = 0; index < 5; index++) await b!.noteProblem('a1b2c3d4e5f6', POLICY, 1000 + index, 1);
      await c!.noteProblem('a1b2c3d4e5f6', POLICY, 2000, 3);
      await a!.noteProblem('a1b2c3d4e5f6', POLICY, 3000, 1);
      const takes = await Promise.all([a!, b!, c!].map((client) => client.takeProblemCounts('a1b2c3d4e5f6')));
      // One of the three takes them; the others find nothing left.
      expect(takes).toContainEqual({ count: 10, hosts: 3 });
      expect(takes.filter((take) => take.count === 0)).toHaveLength(2);
      await b!.noteProblem('a1b2c3d4e5f6', POLICY, 4000, 2);
      expect(await c!.takeProblemCounts('a1b2c3d4e5f6')).toEqual({ count: 2, hosts: 1 });
    });

    test('the host that saw a problem first is counted among its hosts', async () => {
      const [a, b] = openStores(2);
      expect(await a!.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1)).toMatchObject({ first: true });
      await b!.noteProblem('a1b2c3d4e5f6', POLICY, 1000, 10);
      expect(await b!.takeProblemCounts('a1b2c3d4e5f6')).toEqual({ count: 11, hosts: 2 });
    });

    test('a window opened by a clock an hour ahead ends for the others no later than one opened now', async () => {
      const [ahead, onTime] = openStores(2);
      const start = 1_700_000_000_000;
      expect(await ahead!.noteProblem('a1b2c3d4e5f6', POLICY, start + 60 * MINUTE, 1)).toEqual({
        first: true,
        windowEndsAt: start + 65 * MINUTE,
      });
      expect(await onTime!.noteProblem('a1b2c3d4e5f6', POLICY, start, 1)).toEqual({
        first: false,
        windowEndsAt: start + 5 * MINUTE,
      });
    });

    test('a problem noted with several occurrences at once counts them all', async () => {
      const [a] = openStores(1);
      expect(await a!.noteProblem('a1b2c3d4e5f6', POLICY, 0, 4)).toEqual({ first: true, windowEndsAt: 5 * MINUTE });
      expect(await a!.takeProblemCounts('a1b2c3d4e5f6')).toEqual({ count: 4, hosts: 1 });
      expect(await a!.takeProblemCounts('000000000000')).toEqual({ count: 0, hosts: 0 });
    });

    test('a group tracks at most 1000 problems: the least recently noted are forgotten', async () => {
      const [a] = openStores(1);
      const ids = Array.from({ length: 1005 }, (_, index) => index.toString(16).padStart(12, '0'));
      for (const id of ids) await a!.noteProblem(id, POLICY, 0, 2);
      expect(await admin.zcard('wbm:{fleet}:problems')).toBe(1000);
      expect(await admin.keys('wbm:{fleet}:problem:*')).toHaveLength(2000);
      expect(await a!.noteProblem(ids[0]!, POLICY, 1, 1)).toMatchObject({ first: true });
      expect(await a!.noteProblem(ids[1004]!, POLICY, 1, 1)).toMatchObject({ first: false });
    });
  });

  describe('keys', () => {
    test('every key expires once its state is no longer needed', async () => {
      const [a, b] = openStores(2);
      const limit = { mails: 6, perMs: MINUTE };
      for (let index = 0; index < 4; index++) await a!.takeMailSlot(limit, 0);
      await a!.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1);
      await b!.noteProblem('a1b2c3d4e5f6', POLICY, 1000, 1);
      await a!.noteProblem('ffffffffffff', POLICY, 0, 1);
      await a!.takeProblemCounts('a1b2c3d4e5f6');
      const keys = (await admin.keys('wbm:*')).sort();
      expect(keys).toEqual([
        'wbm:{fleet}:problem:a1b2c3d4e5f6',
        'wbm:{fleet}:problem:ffffffffffff',
        'wbm:{fleet}:problem:ffffffffffff:hosts',
        'wbm:{fleet}:problems',
        'wbm:{fleet}:rate',
        'wbm:{fleet}:sent',
      ]);
      const ttls = Object.fromEntries(
        await Promise.all(keys.map(async (key) => [key, await admin.pttl(key)] as const)),
      );
      for (const ttl of Object.values(ttls)) expect(ttl).toBeGreaterThan(0);
      // The rate window: one window after the last mail, and the margin.
      expect(ttls['wbm:{fleet}:rate']).toBeLessThanOrEqual(MINUTE + EXPIRY_MARGIN_MS);
      expect(ttls['wbm:{fleet}:rate']).toBeGreaterThan(MINUTE + EXPIRY_MARGIN_MS - 10_000);
      // A repeated problem: to the end of its window, then the next, twice as long (noted at 1 s).
      const repeated = 5 * MINUTE - 1000 + 10 * MINUTE + EXPIRY_MARGIN_MS;
      expect(ttls['wbm:{fleet}:problem:a1b2c3d4e5f6']).toBeLessThanOrEqual(repeated);
      expect(ttls['wbm:{fleet}:problem:a1b2c3d4e5f6']).toBeGreaterThan(repeated - 10_000);
      // A problem seen once: to the end of its window.
      expect(ttls['wbm:{fleet}:problem:ffffffffffff']).toBeLessThanOrEqual(5 * MINUTE + EXPIRY_MARGIN_MS);
      expect(ttls['wbm:{fleet}:problems']).toBeGreaterThanOrEqual(ttls['wbm:{fleet}:problem:a1b2c3d4e5f6']! - 10_000);
    });

    test('the hosts of a problem are kept in a key that expires with it', async () => {
      const [a, b] = openStores(2);
      await a!.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1);
      await b!.noteProblem('a1b2c3d4e5f6', POLICY, 1000, 1);
      expect(await admin.type('wbm:{fleet}:problem:a1b2c3d4e5f6:hosts')).toBe('string');
      expect(await admin.pttl('wbm:{fleet}:problem:a1b2c3d4e5f6:hosts')).toBeGreaterThan(0);
    });

    test('groups and prefixes keep their state apart; a client of yours keeps its own prefix', async () => {
      const [one] = openStores(1, { group: 'one' });
      const [two] = openStores(1, { group: 'two', keyPrefix: 'logs:' });
      const client = new Redis(server.url(), { keyPrefix: 'app:' });
      const store = new RedisStore({ client, group: 'one' });
      opened.push(store);
      const three = store.openGroup('unused');
      try {
        for (const group of [one!, two!, three]) {
          expect(await group.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1)).toMatchObject({ first: true });
        }
        expect((await admin.keys('*problems')).sort()).toEqual([
          'app:wbm:{one}:problems',
          'logs:{two}:problems',
          'wbm:{one}:problems',
        ]);
      } finally {
        await store.close();
        client.disconnect();
      }
    });

    test('without a group of its own, a store uses the group the transport passes', async () => {
      const store = new RedisStore({ url: server.url() });
      opened.push(store);
      const group = store.openGroup('0123456789ab');
      await group.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1);
      expect(await admin.keys('wbm:*problems')).toEqual(['wbm:{0123456789ab}:problems']);
    });
  });

  describe('failures', () => {
    let own: RedisServer;

    beforeEach(async () => {
      own = await RedisServer.start();
    });

    afterEach(async () => {
      await own?.remove();
    });

    test('with Redis stopped, an operation fails with ESTORE at once, naming where Redis was', async () => {
      const store = new RedisStore({ url: own.url(), group: 'fleet', timeoutMs: 2000 });
      opened.push(store);
      const group = store.openGroup('unused');
      await group.takeMailSlot({ mails: 6, perMs: MINUTE }, 0);
      await own.stop();
      const started = Date.now();
      const error = await rejectionOf(group.takeMailSlot({ mails: 6, perMs: MINUTE }, 1));
      const elapsedMs = Date.now() - started;
      expect(error.code).toBe('ESTORE');
      expect(error.message).toMatch(
        new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${own.port} is unreachable \\(connection `),
      );
      // Nothing is queued while the connection is down: the answer does not wait for the timeout.
      expect(elapsedMs).toBeLessThan(2000);
    });

    test('a connection that closed but is not yet told so by ioredis is named unreachable, not an offline queue', async () => {
      const client = new Redis(own.url(), { enableOfflineQueue: false, lazyConnect: true });
      try {
        await client.connect();
        const store = new RedisStore({ client, group: 'fleet' });
        opened.push(store);
        const group = store.openGroup('unused');
        await group.takeMailSlot({ mails: 6, perMs: MINUTE }, 0);
        // The socket takes no more writes; ioredis learns of it only at its 'close' event.
        client.stream.end();
        expect(client.status).toBe('ready');

        const error = await rejectionOf(group.takeMailSlot({ mails: 6, perMs: MINUTE }, 1));
        expect(error.code).toBe('ESTORE');
        expect(error.message).toMatch(
          new RegExp(`^Redis at your client \\(127\\.0\\.0\\.1:${own.port}\\) is unreachable \\(connection closed\\)`),
        );
      } finally {
        client.disconnect();
      }
    });

    test('with nothing listening, the first operation fails with ESTORE within timeoutMs', async () => {
      const store = new RedisStore({ url: `redis://127.0.0.1:${await deadPort()}`, timeoutMs: 1000 });
      opened.push(store);
      const started = Date.now();
      const error = await rejectionOf(store.openGroup('fleet').noteProblem('a1b2c3d4e5f6', POLICY, 0, 1));
      expect(error.code).toBe('ESTORE');
      expect(error.message).toContain('ECONNREFUSED');
      expect(Date.now() - started).toBeLessThan(1000 + 500);
    });

    test('a server that accepts and never answers fails with ESTORE after timeoutMs', async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 300 });
      try {
        const started = Date.now();
        const error = await rejectionOf(store.openGroup('fleet').takeProblemCounts('a1b2c3d4e5f6'));
        const elapsedMs = Date.now() - started;
        expect(error).toMatchObject({
          code: 'ESTORE',
          message: `Redis at redis://127.0.0.1:${port} did not answer within 300 ms`,
        });
        expect(elapsedMs).toBeGreaterThanOrEqual(290);
        expect(elapsedMs).toBeLessThan(300 + 2000);
      } finally {
        // Closed first, so that it stops connecting before the connections it made are cut.
        await store.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    test('a connection that went silent is not used again: the next operation opens a new one', async () => {
      const sockets: Socket[] = [];
      let connections = 0;
      // The first connection reaches a black hole; the next ones reach Redis.
      const proxy: Server = createServer((socket) => {
        sockets.push(socket);
        connections++;
        if (connections === 1) return;
        const upstream = connect(own.port, '127.0.0.1');
        sockets.push(upstream);
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const { port } = proxy.address() as AddressInfo;
      const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 300 });
      try {
        const group = store.openGroup('fleet');
        expect(await rejectionOf(group.takeProblemCounts('a1b2c3d4e5f6'))).toMatchObject({ code: 'ESTORE' });
        expect(await group.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1)).toEqual({
          first: true,
          windowEndsAt: 5 * MINUTE,
        });
        expect(connections).toBe(2);
      } finally {
        await store.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      }
    });

    test('a client of yours that queues while Redis is down fails with ESTORE after timeoutMs', async () => {
      // ioredis's defaults: an offline queue, and 20 retries per request.
      const client = new Redis(own.url());
      const store = new RedisStore({ client, group: 'fleet', timeoutMs: 400 });
      opened.push(store);
      const group = store.openGroup('unused');
      try {
        await group.takeMailSlot({ mails: 6, perMs: MINUTE }, 0);
        await own.stop();
        const started = Date.now();
        const error = await rejectionOf(group.takeMailSlot({ mails: 6, perMs: MINUTE }, 1));
        const elapsedMs = Date.now() - started;
        expect(error).toMatchObject({ code: 'ESTORE' });
        expect(error.message).toMatch(/^Redis at your client \(127\.0\.0\.1:\d+\) did not answer within 400 ms$/);
        expect(elapsedMs).toBeGreaterThanOrEqual(390);
        expect(elapsedMs).toBeLessThan(400 + 2000);
      } finally {
        client.disconnect();
      }
    });

    test('the store reconnects by itself once Redis is back', async () => {
      const store = new RedisStore({ url: own.url(), group: 'fleet' });
      opened.push(store);
      const group = store.openGroup('unused');
      await group.noteProblem('a1b2c3d4e5f6', POLICY, 0, 1);
      await own.stop();
      await expect(group.noteProblem('a1b2c3d4e5f6', POLICY, 1, 1)).rejects.toMatchObject({ code: 'ESTORE' });
      await own.restart();
      // The restarted server is empty: the problem is new to it.
      expect(await eventually(() => group.noteProblem('a1b2c3d4e5f6', POLICY, 2, 1))).toMatchObject({ first: true });
    });

    test('a store made while Redis is down connects once it is up', async () => {
      await own.stop();
      const store = new RedisStore({ url: own.url(), group: 'fleet' });
      opened.push(store);
      const group = store.openGroup('unused');
      await expect(group.takeProblemCounts('a1b2c3d4e5f6')).rejects.toMatchObject({ code: 'ESTORE' });
      await own.restart();
      expect(await eventually(() => group.takeProblemCounts('a1b2c3d4e5f6'))).toEqual({ count: 0, hosts: 0 });
    });

    test('a FallbackStore answers from memory while Redis is down and goes back to it after', async () => {
      const client = new Redis(own.url(), { enableOfflineQueue: false });
      const other = new RedisStore({ url: own.url(), group: 'fleet' });
      const store = new RedisStore({ client, group: 'fleet', timeoutMs: 300 });
      opened.push(other, store);
      const clock = new ManualClock();
      const events: string[] = [];
      const fallback = new FallbackStore(store.openGroup('unused'), new MemoryStore(), {
        clock,
        probeIntervalMs: 5000,
        onFallback: (error) => events.push(`fallback ${(error as Error & { code?: string }).code}`),
        onRecover: () => events.push('recover'),
      });
      try {
        // Another replica saw the problem: for the fleet it is a repeat.
        await other.openGroup('unused').noteProblem('a1b2c3d4e5f6', POLICY, 0, 1);
        expect(await fallback.noteProblem('a1b2c3d4e5f6', POLICY, 1000, 1)).toMatchObject({ first: false });
        await own.stop();
        clock.advanceTo(2000);
        // This process alone: a problem it never saw is first, and mail slots are its own.
        expect(await fallback.noteProblem('ffffffffffff', POLICY, 2000, 1)).toMatchObject({ first: true });
        expect(await fallback.takeMailSlot({ mails: 6, perMs: MINUTE }, 2000)).toEqual({ granted: true });
        expect(events).toEqual(['fallback ESTORE']);
        const ready = once(client, 'ready');
        await own.restart();
        await ready;
        // Not before the probe interval.
        clock.advanceTo(6999);
        expect(await fallback.noteProblem('eeeeeeeeeeee', POLICY, 6999, 1)).toMatchObject({ first: true });
        expect(fallback.sharedInUse).toBe(false);
        clock.advanceTo(7000);
        // The restarted Redis is empty: the problem this process saw during the outage is new to it.
        expect(await fallback.noteProblem('ffffffffffff', POLICY, 7000, 1)).toEqual({
          first: true,
          windowEndsAt: 5 * MINUTE + 7000,
        });
        expect(fallback.sharedInUse).toBe(true);
        expect(events).toEqual(['fallback ESTORE', 'recover']);
      } finally {
        await fallback.close();
        client.disconnect();
      }
    });
  });

  describe('secrets', () => {
    const PASSWORD = 'p@ss:w/rd%21-correct';
    const WRONG = 'hunter2:wrong/p@ss';
    let guarded: RedisServer | undefined;

    beforeAll(async () => {
      guarded = await RedisServer.start(['--requirepass', PASSWORD]);
    });

    afterAll(async () => {
      await guarded?.remove();
    });

    function expectNoSecret(text: string): void {
      for (const secret of [PASSWORD, WRONG, encodeURIComponent(PASSWORD), encodeURIComponent(WRONG), 'hunter2']) {
        expect(text).not.toContain(secret);
      }
    }

    test('a wrong password fails with ESTORE, and neither it nor the URL appears anywhere', async () => {
      const store = new RedisStore({ url: guarded!.url(WRONG), group: 'fleet' });
      opened.push(store);
      const group = store.openGroup('unused');
      const error = await rejectionOf(group.takeMailSlot({ mails: 6, perMs: MINUTE }, 0));
      expect(error.code).toBe('ESTORE');
      expect(error.message).toMatch(/WRONGPASS|NOAUTH|invalid/i);
      for (const text of [
        error.message,
        String(error.stack),
        inspect(error, { depth: 10, showHidden: true }),
        JSON.stringify(error),
        inspect(store, { depth: 10, showHidden: true }),
        JSON.stringify(store),
        inspect(group, { depth: 10, showHidden: true }),
        JSON.stringify(group),
      ]) {
        expectNoSecret(text);
      }
      expect(inspect(store)).toContain(`redis://127.0.0.1:${guarded!.port}`);
    });

    test('with the right password it works, and shows no password either', async () => {
      const store = new RedisStore({ url: guarded!.url(PASSWORD), group: 'fleet' });
      opened.push(store);
      const group = store.openGroup('unused');
      expect(await group.takeMailSlot({ mails: 6, perMs: MINUTE }, 0)).toEqual({ granted: true });
      expectNoSecret(inspect(store, { depth: 10, showHidden: true }));
      expectNoSecret(inspect(group, { depth: 10, showHidden: true }));
      expectNoSecret(JSON.stringify({ store, group }));
    });
  });

  describe('closing', () => {
    async function connectionCount(): Promise<number> {
      const list = await admin.client('LIST');
      return String(list).trim().split('\n').length;
    }

    test('the connection the store opened closes with the last group that uses it', async () => {
      const store = new RedisStore({ url: server.url(), group: 'fleet' });
      const before = await connectionCount();
      const first = store.openGroup('unused');
      const second = store.openGroup('unused');
      await first.takeProblemCounts('a1b2c3d4e5f6');
      expect(await connectionCount()).toBe(before + 1);
      await first.close();
      await first.close();
      expect(await second.takeProblemCounts('a1b2c3d4e5f6')).toEqual({ count: 0, hosts: 0 });
      await second.close();
      await eventually(async () => expect(await connectionCount()).toBe(before));
      await expect(first.takeProblemCounts('a1b2c3d4e5f6')).rejects.toMatchObject({ code: 'ESTORE' });
      // A group opened later connects again.
      const third = store.openGroup('unused');
      expect(await third.takeProblemCounts('a1b2c3d4e5f6')).toEqual({ count: 0, hosts: 0 });
      await store.close();
      await eventually(async () => expect(await connectionCount()).toBe(before));
      await expect(third.takeProblemCounts('a1b2c3d4e5f6')).rejects.toMatchObject({ code: 'ESTORE' });
      expect(() => store.openGroup('unused')).toThrow('The `RedisStore` is closed');
    });

    test('a client of yours is never closed', async () => {
      const client = new Redis(server.url());
      try {
        const store = new RedisStore({ client, group: 'fleet' });
        const group = store.openGroup('unused');
        await group.takeProblemCounts('a1b2c3d4e5f6');
        await group.close();
        await store.close();
        expect(client.status).toBe('ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        client.disconnect();
      }
    });
  });
});
