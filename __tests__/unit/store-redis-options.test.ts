import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { RedisStore, requireIoredis, type RedisStoreOptions } from '../../src/store/redis';

const PASSWORD = 's3cret-Pa55word';
const URL_WITH_PASSWORD = `redis://app:${PASSWORD}@redis.internal:6380/2`;

function construct(options: unknown): () => RedisStore {
  return () => new RedisStore(options as RedisStoreOptions);
}

describe('RedisStore options', () => {
  test('needs exactly one of `url` and `client`', () => {
    expect(construct({})).toThrow(
      new TypeError('Expected exactly one of the `RedisStore` options `url` and `client`, got neither'),
    );
    const client = new Redis({ lazyConnect: true });
    expect(construct({ url: 'redis://localhost', client })).toThrow(
      new TypeError('Expected exactly one of the `RedisStore` options `url` and `client`, got both'),
    );
    client.disconnect();
    expect(construct(undefined)).toThrow(
      new TypeError(
        'Expected the `RedisStore` options to be an object with `url` or `client`, got `undefined` (undefined)',
      ),
    );
  });

  test('`url` must be a redis:// or rediss:// URL, and is never echoed', () => {
    for (const url of [`http://app:${PASSWORD}@redis.internal`, `app:${PASSWORD}`, '']) {
      expect(construct({ url })).toThrow(
        new TypeError(
          'Expected the `RedisStore` option `url` to be a redis:// or rediss:// URL, got a string (not shown: it may hold a password)',
        ),
      );
    }
    expect(construct({ url: 6379 })).toThrow(
      'Expected the `RedisStore` option `url` to be a redis:// or rediss:// URL, got `6379` (number)',
    );
    expect(() => new RedisStore({ url: `rediss://:${PASSWORD}@redis.internal` })).not.toThrow();
  });

  test('`client` must be an ioredis client', () => {
    expect(construct({ client: { get: () => undefined } })).toThrow(
      new TypeError('Expected the `RedisStore` option `client` to be an ioredis client, got an object'),
    );
  });

  test('`group` is letters, digits, `.`, `_` or `-`, at most 64', () => {
    expect(() => new RedisStore({ url: 'redis://localhost', group: 'billing-api.eu_1' })).not.toThrow();
    for (const group of ['', 'a{b}', 'a b', 'x'.repeat(65), 42]) {
      expect(construct({ url: 'redis://localhost', group })).toThrow(
        /^Expected the `RedisStore` option `group` to be 1 to 64 letters, digits, `\.`, `_` or `-`, got /,
      );
    }
  });

  test('`keyPrefix` has no braces, which would change where Redis Cluster puts the keys', () => {
    expect(construct({ url: 'redis://localhost', keyPrefix: '{app}:' })).toThrow(
      'Expected the `RedisStore` option `keyPrefix` to be a string of at most 64 characters without braces or control characters, got `"{app}:"` (string)',
    );
    expect(() => new RedisStore({ url: 'redis://localhost', keyPrefix: '' })).not.toThrow();
  });

  test('`timeoutMs` is a whole number of milliseconds up to a minute', () => {
    expect(construct({ url: 'redis://localhost', timeoutMs: 0 })).toThrow(
      new RangeError(
        'Expected the `RedisStore` option `timeoutMs` to be a whole number of milliseconds from 1 to 60000, got `0` (number)',
      ),
    );
    expect(construct({ url: 'redis://localhost', timeoutMs: '500' })).toThrow(TypeError);
    expect(construct({ url: 'redis://localhost', timeoutMs: 1.5 })).toThrow(TypeError);
  });

  test('`hostName` is a short line of text', () => {
    expect(construct({ url: 'redis://localhost', hostName: 'web-1\nweb-2' })).toThrow(
      'Expected the `RedisStore` option `hostName` to be a non-empty string of at most 255 characters without control characters',
    );
  });

  test('an unknown option is named, with the known ones', () => {
    expect(construct({ uri: 'redis://localhost' })).toThrow(
      new TypeError(
        'Unknown `RedisStore` option `uri`; the options are `url`, `client`, `group`, `keyPrefix`, `timeoutMs`, `hostName`',
      ),
    );
  });

  test('the group a transport passes is checked like the option', () => {
    const store = new RedisStore({ url: 'redis://localhost' });
    expect(() => store.openGroup('a b')).toThrow(/^Expected the `RedisStore` option `group` to be 1 to 64/);
  });

  test('inspecting or serializing the store shows where it connects, without credentials', () => {
    const store = new RedisStore({ url: URL_WITH_PASSWORD, group: 'fleet' });
    const group = store.openGroup('unused');
    for (const text of [
      inspect(store, { showHidden: true, depth: 10 }),
      inspect(group, { showHidden: true, depth: 10 }),
      JSON.stringify(store),
      JSON.stringify(group),
    ]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('app:');
      expect(text).toContain('redis://redis.internal:6380/2');
    }
    expect(store.toJSON()).toEqual({
      target: 'redis://redis.internal:6380/2',
      group: 'fleet',
      keyPrefix: 'wbm:',
      timeoutMs: 500,
    });
  });

  test('an operation with a bad argument is refused before anything is sent', async () => {
    const group = new RedisStore({ url: 'redis://localhost' }).openGroup('fleet');
    await expect(group.takeProblemCounts('a b')).rejects.toThrow(TypeError);
    await expect(group.noteProblem('a1b2c3d4e5f6', { delayMs: 1000, maxDelayMs: 2000 }, 0, 0)).rejects.toThrow(
      'Expected `count` to be a positive integer, got `0` (number)',
    );
    await expect(group.takeMailSlot({ mails: 6, perMs: 60_000 }, Number.NaN)).rejects.toThrow(
      'Expected `nowMs` to be a time in milliseconds since the epoch, got `NaN` (number)',
    );
    await group.close();
  });

  test('without ioredis installed, the error names the package and how to install it', () => {
    const missing = Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
    expect(() =>
      requireIoredis(() => {
        throw missing;
      }),
    ).toThrow(
      'winston-buffered-mail/redis needs the optional package `ioredis`, which is not installed: npm install ioredis',
    );
    const broken = Object.assign(new Error("Cannot find module 'cluster-key-slot'"), { code: 'MODULE_NOT_FOUND' });
    expect(() =>
      requireIoredis(() => {
        throw broken;
      }),
    ).toThrow(broken);
  });
});

describe('answers out of range are refused', () => {
  /** A client whose scripts answer `reply`, as a server whose keys something else changed could. */
  function answering(reply: unknown) {
    const client = {
      status: 'ready',
      options: { host: '127.0.0.1', port: 6379 },
      defineCommand: () => undefined,
      wbmTakeMailSlot: () => Promise.resolve(reply),
      wbmNoteProblem: () => Promise.resolve(reply),
      wbmTakeProblemCounts: () => Promise.resolve(reply),
    };
    return new RedisStore({ client: client as never, group: 'fleet' }).openGroup('unused');
  }
  const policy = { delayMs: 300_000, maxDelayMs: 3_600_000 };
  const outOfRange = (what: string) => ({
    code: 'ESTORE',
    message: `Redis answered out of range for ${what}; the store's keys may have been changed by something else`,
  });

  test.each([
    ['a wait longer than the window', [0, 60_001]],
    ['a negative wait', [0, -5]],
    ['neither granted nor refused', [2, 0]],
  ])('a mail slot with %s', async (_, reply) => {
    await expect(answering(reply).takeMailSlot({ mails: 6, perMs: 60_000 }, 1000)).rejects.toMatchObject(
      outOfRange('a mail slot'),
    );
  });

  test.each([
    ['a window that ended', [0, 0]],
    ['a window beyond the longest', [0, 3_600_001]],
    ['a window that ends in the year 2300', [0, 2_147_483_647_000]],
  ])('a problem with %s', async (_, reply) => {
    await expect(answering(reply).noteProblem('a1b2c3d4e5f6', policy, 1000, 1)).rejects.toMatchObject(
      outOfRange('a problem'),
    );
  });

  test('negative counts', async () => {
    await expect(answering([-1, 0]).takeProblemCounts('a1b2c3d4e5f6')).rejects.toMatchObject(
      outOfRange("a problem's counts"),
    );
  });

  test('answers in range are taken', async () => {
    expect(await answering([0, 60_000]).takeMailSlot({ mails: 6, perMs: 60_000 }, 1000)).toEqual({
      granted: false,
      retryInMs: 60_000,
    });
    expect(await answering([1, 3_600_000]).noteProblem('a1b2c3d4e5f6', policy, 1000, 1)).toEqual({
      first: true,
      windowEndsAt: 1000 + 3_600_000,
    });
  });
});
