import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import winston from 'winston';
import type { BufferedMailTransportOptions } from '../../src';
import { RedisStore } from '../../src/redis';
import type { ChildProcess } from 'node:child_process';
import { runFixture, startFixture, type ChildResult } from '../helpers/child';
import { ManualClock } from '../helpers/manual-clock';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { describeWithRedis, RedisServer } from '../helpers/redis';
import {
  bodyLines,
  carriedMessages,
  childEnv,
  endLogger,
  optionsFor,
  recordingTransport,
  startServer,
  type LocalSmtpServer,
  type ReceivedMail,
} from '../helpers/smtp';

const MINUTE = 60_000;
/** The notices of a mail that report what the other hosts of the group saw. */
function fleetNotices(mail: ReceivedMail): string[] {
  return bodyLines(mail).filter((line) => line.startsWith("The hosts sharing this mail's store saw"));
}

describeWithRedis('transports sharing a RedisStore', () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.remove();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    if (!redis.running) await redis.restart();
  });

  /** `count` replicas of one service on one clock, each with its own connection to Redis when `shared`. */
  function replicas(
    server: LocalSmtpServer,
    count: number,
    shared: boolean,
    options: Partial<BufferedMailTransportOptions> = {},
  ) {
    const clock = new ManualClock();
    // One key prefix for the whole group, as replicas of one service share one.
    const prefix = `wbm-test-${Date.now()}-${Math.random().toString(16).slice(2)}:`;
    return {
      clock,
      prefix,
      members: Array.from({ length: count }, (_, index) => {
        const store = shared
          ? new RedisStore({ url: redis.url(), hostName: `web-${index}`, keyPrefix: prefix })
          : undefined;
        if (store) stores.push(store);
        const recorded = recordingTransport({ ...optionsFor(server), clock, ...(store && { store }), ...options });
        return { ...recorded, logger: winston.createLogger({ transports: [recorded.transport] }) };
      }),
    };
  }

  /** Resolves once the group's count of its one problem, in Redis, is `count`. */
  async function problemCountIs(prefix: string, count: number): Promise<void> {
    const admin = new Redis(redis.url());
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        const keys = (await admin.keys(`${prefix}*problem:*`)).filter((key) => !key.endsWith(':hosts'));
        const counts = await Promise.all(keys.map((key) => admin.hget(key, 'count')));
        if (counts.length === 1 && Number(counts[0]) === count) return;
        if (Date.now() > deadline) throw new Error(`The group's counts are ${JSON.stringify(counts)}, not [${count}]`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      admin.disconnect();
    }
  }

  test('a failure seen by three replicas mails once, then once more with how often and on how many hosts', async () => {
    const server = await startServer();
    const { clock, members, prefix } = replicas(server, 3, true);
    const logged: string[] = [];
    const log = (replica: number, index: number) => {
      const message = `Connection refused to db 10.0.0.5:5432 (replica ${replica}, attempt ${index})`;
      members[replica]!.logger.error(message);
      logged.push(message);
      if (index % 10 === 0) {
        members[replica]!.logger.info(`request ${replica}-${index} handled`);
        logged.push(`request ${replica}-${index} handled`);
      }
    };
    log(0, 0);
    await server.waitForMails(1);
    members.forEach((_, replica) => {
      for (let index = replica === 0 ? 1 : 0; index < 50; index++) log(replica, index);
    });
    // The other replicas' first errors were counted by the group as repeats: they hold them, and
    // mail them with their repeats when the first replica's window ends, 5 minutes on.
    await problemCountIs(prefix, 101);
    // The first replica adds its own repeats within a second.
    clock.advanceTo(1000);
    await problemCountIs(prefix, 150);
    expect(server.mails).toHaveLength(1);
    expect(carriedMessages(server.mails[0]!)).toEqual([
      'Connection refused to db 10.0.0.5:5432 (replica 0, attempt 0)',
    ]);

    clock.advanceTo(5 * MINUTE);
    await server.waitForMails(4);
    await Promise.all(members.map(({ transport }) => transport.flush()));
    expect(server.mails).toHaveLength(4);
    // One of the three mails at the window's end reports what the group saw.
    expect(server.mails.flatMap(fleetNotices)).toEqual([
      expect.stringMatching(
        /^The hosts sharing this mail's store saw "Connection refused to db 10\.0\.0\.5:5432 \(replica \d, attempt \d+\)" 150 times on 3 hosts since it was last reported; each host mails its own entries\.$/,
      ),
    ]);
    const carried = server.mails.flatMap(carriedMessages);
    expect([...carried].sort()).toEqual([...logged].sort());
    for (const { transport, warnings } of members) {
      expect(warnings).toEqual([]);
      expectEveryEntryAccounted(transport);
    }
  });

  test('without the store, the same three replicas mail the failure three times at once', async () => {
    const server = await startServer();
    const { clock, members } = replicas(server, 3, false);
    members.forEach(({ logger }, replica) => {
      for (let index = 0; index < 50; index++) {
        logger.error(`Connection refused to db 10.0.0.5:5432 (replica ${replica}, attempt ${index})`);
      }
    });
    await server.waitForMails(3);
    clock.advanceTo(5 * MINUTE);
    await server.waitForMails(6);
    await Promise.all(members.map(({ transport }) => transport.flush()));
    expect(server.mails).toHaveLength(6);
    expect(server.mails.flatMap(fleetNotices)).toEqual([]);
  });

  /**
   * Starts `count` replica processes (fixtures/fleet-replica.ts), sharing Redis when `shared`;
   * once each has logged its storm and `stormMails` mails arrived, runs `between` (if any), then
   * ends them all. Returns the number of mails that arrived before they were told to end, and
   * what each printed.
   */
  async function runFleet(
    server: LocalSmtpServer,
    count: number,
    shared: boolean,
    stormMails: number,
    between?: (replicas: Array<{ child: ChildProcess; printed: (text: string) => Promise<void> }>) => Promise<void>,
  ) {
    const prefix = `wbm-fleet-${Date.now()}-${Math.random().toString(16).slice(2)}:`;
    const replicas = Array.from({ length: count }, (_, index) => {
      const started = startFixture('fleet-replica.ts', {
        ...childEnv(server),
        REPLICA: `web-${index}`,
        ...(shared && { REDIS_URL: redis.url(), REDIS_KEY_PREFIX: prefix }),
      });
      let output = '';
      const waiters: Array<() => void> = [];
      started.child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        waiters.splice(0).forEach((check) => check());
      });
      const printed = (text: string) =>
        new Promise<void>((resolve) => {
          const check = () => (output.includes(text) ? resolve() : waiters.push(check));
          check();
        });
      return { ...started, printed };
    });
    await Promise.all(replicas.map(({ printed }) => printed('logged 1\n')));
    await server.waitForMails(stormMails, 30_000);
    await between?.(replicas);
    const beforeEnd = server.mails.length;
    for (const { child } of replicas) child.kill('SIGUSR2');
    const results: ChildResult[] = await Promise.all(replicas.map(({ result }) => result));
    return { beforeEnd, results };
  }

  /** The ids of the entries a replica logs in `phases` storms. */
  function loggedIds(replicas: number, phases: number): string[] {
    return Array.from({ length: replicas }, (_, replica) =>
      Array.from({ length: phases }, (__, phase) =>
        Array.from({ length: 20 }, (___, index) => [
          `web-${replica}-p${phase + 1}-e${index}`,
          `web-${replica}-p${phase + 1}-i${index}`,
        ]),
      ),
    ).flat(3);
  }

  /** The ids of the entries the mails carried. */
  function carriedIds(server: LocalSmtpServer): string[] {
    return server.mails
      .flatMap(carriedMessages)
      .map((message) => /request (web-\d-p\d-[ei]\d+)/.exec(message)?.[1] ?? message);
  }

  function statsOf(result: ChildResult): Record<string, number> {
    const line = result.stdout.split('\n').find((candidate) => candidate.startsWith('stats '));
    if (line === undefined) throw new Error(`No stats from the replica:\n${result.stdout}\n${result.stderr}`);
    return JSON.parse(line.slice('stats '.length)) as Record<string, number>;
  }

  test('four replica processes with 6 mails a minute send 6 in a minute, not 24, and every entry arrives once', async () => {
    const server = await startServer();
    // Each replica logs 20 errors of different kinds among 20 ordinary entries: alone, each would
    // mail half of its limit at once (3), then one every 10 s.
    const { beforeEnd, results } = await runFleet(server, 4, true, 3);
    expect(beforeEnd).toBeLessThanOrEqual(6);
    // At shutdown each replica sends what it holds as one mail, whatever the limit.
    expect(server.mails.length).toBeLessThanOrEqual(beforeEnd + 4);
    const carried = carriedIds(server);
    const expected = loggedIds(4, 1);
    expect([...carried].sort()).toEqual([...expected].sort());
    for (const result of results) {
      expect(result.status).toBe(0);
      expect(result.stdout).not.toMatch(/^warn /m);
      const stats = statsOf(result);
      expect(stats).toMatchObject({ entriesLogged: 40, entriesMailed: 40, entriesPending: 0, entriesDropped: 0 });
    }
  });

  test('without the store, the same four replicas send 3 mails each at once', async () => {
    const server = await startServer();
    const { beforeEnd, results } = await runFleet(server, 4, false, 12);
    expect(beforeEnd).toBeGreaterThanOrEqual(12);
    for (const result of results) expect(statsOf(result)).toMatchObject({ entriesMailed: 40, entriesPending: 0 });
  });

  test('four replica processes whose Redis stops mid-storm go on alone, each says so once, and every entry arrives once', async () => {
    const server = await startServer();
    const { results } = await runFleet(server, 4, true, 3, async (replicas) => {
      await redis.stop();
      for (const { child } of replicas) child.kill('SIGUSR1');
      await Promise.all(replicas.map(({ printed }) => printed('logged 2\n')));
      // Each replica finds Redis gone when it next asks, at its next mail at the latest.
      await Promise.all(replicas.map(({ printed }) => printed('warn ESTORE')));
    });
    expect([...carriedIds(server)].sort()).toEqual([...loggedIds(4, 2)].sort());
    for (const result of results) {
      expect(result.status).toBe(0);
      expect(result.stdout.match(/^warn .*$/gm)).toEqual([
        expect.stringMatching(
          /^warn ESTORE The shared `store` did not answer; .*Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/,
        ),
      ]);
      expect(statsOf(result)).toMatchObject({
        entriesLogged: 80,
        entriesMailed: 80,
        entriesPending: 0,
        entriesDropped: 0,
      });
    }
  });

  test('when Redis stops mid-storm, each replica goes on alone, says so once, loses nothing, and shares again once Redis is back', async () => {
    const server = await startServer();
    const { clock, members, prefix } = replicas(server, 2, true);
    const logged: string[] = [];
    const log = (replica: number, message: string) => {
      members[replica]!.logger.error(message);
      logged.push(message);
    };
    log(0, 'Payment gateway timed out (replica 0)');
    await server.waitForMails(1);
    log(1, 'Payment gateway timed out (replica 1)');
    await problemCountIs(prefix, 2);

    await redis.stop();
    for (let index = 0; index < 5; index++) {
      log(0, `Search index unavailable (replica 0, try ${index})`);
      log(1, `Search index unavailable (replica 1, try ${index})`);
    }
    // Alone, each replica mails the new problem at once.
    await server.waitForMails(3);
    // (The second replica's mail also carries the repeat it held back before.)
    const alone = server.mails.slice(1).map(carriedMessages);
    expect(alone.map((messages) => messages.filter((message) => message.includes('try 0'))).sort()).toEqual([
      ['Search index unavailable (replica 0, try 0)'],
      ['Search index unavailable (replica 1, try 0)'],
    ]);
    for (const { warnings } of members) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => [warning.code, warning.message])).toEqual([
        [
          'ESTORE',
          expect.stringMatching(
            /^The shared `store` did not answer; this transport keeps its own `rateLimit` and `renotify` windows until it does: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable \((?:connection end\): connect ECONNREFUSED|connection closed\)$)/,
          ),
        ],
      ]);
    }

    await redis.restart();
    // A replica tries the store again 5 s after it failed.
    clock.advanceTo(clock.now() + 5000);
    log(0, 'Disk almost full (replica 0)');
    await server.waitForMails(4);
    log(1, 'Disk almost full (replica 1)');
    await problemCountIs(prefix, 2);
    expect(server.mails).toHaveLength(4);

    await clock.runUntil(Promise.all(members.map(({ transport }) => transport.flush())));
    expect([...server.mails.flatMap(carriedMessages)].sort()).toEqual([...logged].sort());
    for (const { transport, warnings } of members) {
      expect(warnings.map((warning) => warning.code)).toEqual(['ESTORE']);
      expectEveryEntryAccounted(transport);
    }
    // Closing the transports closes the connections their stores opened.
    await Promise.all(members.map(({ transport }) => transport.close()));
    const admin = new Redis(redis.url());
    try {
      const clients = (await admin.client('LIST')) as string;
      expect(clients.trim().split('\n')).toHaveLength(1);
    } finally {
      admin.disconnect();
    }
  });

  test('a process that logs with a store and returns from main delivers and exits: the connection keeps nothing alive', async () => {
    const server = await startServer();
    const result = await runFixture('store-and-return.ts', { ...childEnv(server), REDIS_URL: redis.url() });
    expect(result).toMatchObject({ status: 0, signal: null, stderr: '' });
    // The error goes at once, or with the others when the process ends before Redis answers.
    expect(result.stdout).toMatch(
      /^(mail accepted: 1 entries\nmail accepted: 3 entries\n|mail accepted: 4 entries\n)$/,
    );
    expect(server.mails.flatMap(carriedMessages)).toEqual([
      'Payment gateway timed out',
      'entry 0',
      'entry 1',
      'entry 2',
    ]);
  });

  test('with a Redis that accepts and never answers, logger.end() delivers everything at once', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const server = await startServer();
      const store = new RedisStore({
        url: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        timeoutMs: 60_000,
      });
      stores.push(store);
      const { transport, warnings } = recordingTransport({ ...optionsFor(server), store });
      const logger = winston.createLogger({ transports: [transport] });
      logger.error('Payment gateway timed out');
      for (let index = 0; index < 5; index++) logger.info(`request ${index} handled`);
      // The store is asked about the error, and never answers: the end does not wait for it.
      await endLogger(logger, transport);
      await transport.close();
      expect(server.mails.flatMap(carriedMessages)).toEqual([
        'Payment gateway timed out',
        ...Array.from({ length: 5 }, (_, index) => `request ${index} handled`),
      ]);
      expect(warnings).toEqual([]);
      expectEveryEntryAccounted(transport);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a process that closes its transport while Redis never answers exits at once, its mail delivered', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const server = await startServer();
      const result = await runFixture('store-silent-close.ts', {
        ...childEnv(server),
        REDIS_URL: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      });
      // Long before the store's 20 s time limit (the test's own limit is 30 s), and without a warning.
      expect(result).toMatchObject({ status: 0, signal: null, stderr: '' });
      expect(result.stdout).toBe('mail accepted: 4 entries\nclosed\n');
      expect(server.mails.flatMap(carriedMessages)).toEqual([
        'Payment gateway timed out',
        'entry 0',
        'entry 1',
        'entry 2',
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
