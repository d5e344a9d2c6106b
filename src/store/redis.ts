import { hostname } from 'node:os';
import { inspect } from 'node:util';
import type { Redis, RedisOptions } from 'ioredis';
import { describeValue } from '../describe-value';
import type { RateLimitOptions } from '../options';
import type { RenotifyPolicy } from '../outbox/renotify';
import {
  createStoreError,
  type MailSlot,
  type MailStore,
  type ProblemCounts,
  type ProblemNote,
  type SharedStore,
  type StoreError,
} from './store';

export { groupFromRecipients } from './store';
export type { MailSlot, MailStore, ProblemCounts, ProblemNote, SharedStore, StoreError } from './store';

/** Options of `new RedisStore(options)`: exactly one of `url` and `client`. */
export interface RedisStoreOptions {
  /**
   * A Redis URL, `redis://` or `rediss://` (TLS), with its credentials when it needs them. The
   * store opens its own connection, which queues nothing while Redis is unreachable, and closes it
   * when the last transport using it closes.
   */
  url?: string;
  /**
   * An ioredis client of yours, used instead of `url`; the store never closes it, and adds its
   * three Lua scripts to it as commands (`wbmTakeMailSlot`, `wbmNoteProblem`,
   * `wbmTakeProblemCounts`). Create it with `enableOfflineQueue: false`: otherwise an operation
   * that timed out while Redis was unreachable is still sent once it is back.
   */
  client?: Redis;
  /**
   * The transports that share their rate window and their re-notification windows: letters,
   * digits, `.`, `_` and `-`, at most 64.
   * @default a hash of the transport's `to` (see `groupFromRecipients`)
   */
  group?: string;
  /**
   * What the name of every key the store writes begins with.
   * @default 'wbm:'
   */
  keyPrefix?: string;
  /**
   * How long an operation may take before it fails with `code: 'ESTORE'` and the transport uses
   * its own limits, in milliseconds.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * The name this process counts as in the number of hosts a problem was seen on.
   * @default os.hostname()
   */
  hostName?: string;
}

/**
 * Set to `true` among the options, the scripts count in the times their callers pass instead of
 * Redis's clock: for tests that drive time with a clock of their own. Not part of the public API.
 */
export const CALLER_TIME = Symbol('callerTime');

const DEFAULT_KEY_PREFIX = 'wbm:';
const DEFAULT_TIMEOUT_MS = 500;

const MAX_TIMEOUT_MS = 60_000;
const MAX_KEY_PREFIX_LENGTH = 64;
const MAX_HOST_NAME_LENGTH = 255;
const GROUP = /^[A-Za-z0-9._-]{1,64}$/;
// No `:`, which separates the parts of a key: `problem:<id>:hosts` must not name another problem.
const FINGERPRINT_ID = /^[A-Za-z0-9._-]{1,128}$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
const OPTION_NAMES: ReadonlySet<string> = new Set<keyof RedisStoreOptions>([
  'url',
  'client',
  'group',
  'keyPrefix',
  'timeoutMs',
  'hostName',
]);
// Problems a group tracks at most, as one process does: beyond, the least recently seen is forgotten.
const MAX_TRACKED_PROBLEMS = 1000;
// Every key outlives the state it holds by this much, room for the clocks of a group that differ.
const EXPIRY_MARGIN_MS = 60_000;

/**
 * The time of a script: ARGV[1], the caller's, or when it is empty the group's clock, Redis's own,
 * the same for every caller whatever its clock says.
 */
const NOW = `
local now = tonumber(ARGV[1])
if now == nil then
  redis.replicate_commands()
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end`;

/**
 * KEYS: the rate window's bucket (a hash of `tokens` and `at`), its recent mails (a list of
 * times, newest first). ARGV: now (empty: Redis's clock), mails, perMs, expiry. Returns `{1, 0}` for a slot taken,
 * `{0, retryInMs}` otherwise. The same policy as `RateLimiter`, whose numbers it reproduces.
 */
const TAKE_MAIL_SLOT = `
${NOW}
local mails = tonumber(ARGV[2])
local perMs = tonumber(ARGV[3])
local burst = math.max(1, math.floor(mails / 2))
local refillPerMs = math.max(1, mails - burst) / perMs
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
-- A caller whose clock is behind the last time seen gets no refill for the difference, and the
-- bucket counts from its time on: a clock far ahead can make the group send early, never stop it.
if now < at then at = now end
tokens = math.min(burst, tokens + (now - at) * refillPerMs)
local wait = 0
if tokens < 1 - 1e-9 then wait = math.ceil((1 - tokens) / refillPerMs) end
-- The mails of the window before now; one stamped later (by a clock ahead) is not counted, so
-- that it cannot hold the others back until their clocks reach it.
local inWindow = 0
local oldest = nil
for _, value in ipairs(redis.call('LRANGE', KEYS[2], 0, mails - 1)) do
  local sentAt = tonumber(value)
  if sentAt ~= nil and sentAt <= now and sentAt > now - perMs then
    inWindow = inWindow + 1
    if oldest == nil or sentAt < oldest then oldest = sentAt end
  end
end
if inWindow >= mails then wait = math.max(wait, oldest + perMs - now) end
-- Kept refilled as of now even when no slot is free: the tokens add up in the same steps as in one process.
if wait <= 0 then tokens = math.max(0, tokens - 1) end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if wait > 0 then return {0, wait} end
redis.call('LPUSH', KEYS[2], string.format('%.17g', now))
redis.call('LTRIM', KEYS[2], 0, mails - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, 0}
`;

/**
 * KEYS: the problem's window (a hash of `endsAt`, `delayMs`, `repeated` and `count`), its hosts
 * (a HyperLogLog), the group's problems (a sorted set, least recently noted first). ARGV: now
 * (empty: Redis's clock), delayMs, maxDelayMs, count, host, most problems tracked, expiry margin.
 * Returns `{first, msUntilWindowEnds}`. The same policy as `Renotify`.
 */
const NOTE_PROBLEM = `
${NOW}
local delayMs = tonumber(ARGV[2])
local maxDelayMs = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'endsAt', 'delayMs', 'repeated')
local endsAt = tonumber(state[1])
local delay = tonumber(state[2])
local repeated = state[3] == '1'
local open = endsAt ~= nil and delay ~= nil
-- A window opened by a clock far ahead ends no later than one of its length opened now.
if open and endsAt > now + delay then endsAt = now + delay end
-- A window whose time is up is followed by a longer one when the problem repeated in it, and closes otherwise.
while open and now >= endsAt do
  if repeated then
    delay = math.min(delay * 2, maxDelayMs)
    endsAt = endsAt + delay
    repeated = false
  else
    open = false
  end
end
local first = 0
if not open then
  first = 1
  endsAt = now + delayMs
  delay = delayMs
  repeated = false
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'count', 0)
end
if count > first then repeated = true end
-- Every occurrence is counted, the first included, and so is every host that saw one.
redis.call('HINCRBY', KEYS[1], 'count', count)
redis.call('PFADD', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'endsAt', string.format('%.17g', endsAt), 'delayMs', string.format('%.17g', delay),
  'repeated', repeated and '1' or '0')
-- Kept until the window closes: its end, and the next window when this one had repeats.
local ttl = endsAt - now + tonumber(ARGV[7])
if repeated then ttl = ttl + math.min(delay * 2, maxDelayMs) end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local rank = 1
if newest[2] ~= nil then rank = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[3], rank, KEYS[1])
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  local forgotten = redis.call('ZPOPMIN', KEYS[3], excess)
  for index = 1, #forgotten, 2 do
    redis.call('DEL', forgotten[index], forgotten[index] .. ':hosts')
  end
end
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
return {first, endsAt - now}
`;

/**
 * KEYS: the problem's window and its hosts, as for noting. Returns `{count, hosts}`, the
 * occurrences and hosts counted since the last call, and resets both.
 */
const TAKE_PROBLEM_COUNTS = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count')) or 0
if count <= 0 then return {0, 0} end
local hosts = redis.call('PFCOUNT', KEYS[2])
redis.call('HSET', KEYS[1], 'count', 0)
redis.call('DEL', KEYS[2])
return {count, hosts}
`;

const COMMANDS = {
  wbmTakeMailSlot: { lua: TAKE_MAIL_SLOT, numberOfKeys: 2 },
  wbmNoteProblem: { lua: NOTE_PROBLEM, numberOfKeys: 3 },
  wbmTakeProblemCounts: { lua: TAKE_PROBLEM_COUNTS, numberOfKeys: 2 },
} as const;

type ScriptCommands = Record<keyof typeof COMMANDS, (...keysAndArgs: string[]) => Promise<unknown>>;

function expected(name: string, expectation: string, value: unknown): TypeError {
  return new TypeError(
    `Expected the \`RedisStore\` option \`${name}\` to be ${expectation}, got ${describeValue(value)}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = (isObject(error) ? error : {}) as { code?: unknown; message?: unknown };
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`);
}

/** ioredis, loaded only when the store opens a connection of its own, and named when it is missing. */
export function requireIoredis(load: (id: string) => unknown = require): typeof import('ioredis') {
  try {
    return load('ioredis') as typeof import('ioredis');
  } catch (error) {
    if (!isNotFound(error, 'ioredis')) throw error;
    throw Object.assign(
      new Error(
        'winston-buffered-mail/redis needs the optional package `ioredis`, which is not installed: npm install ioredis',
        {
          cause: error,
        },
      ),
      { code: 'MODULE_NOT_FOUND' },
    );
  }
}

interface Target {
  /** Where the connection goes, without credentials, for messages. */
  description: string;
  /** What must never appear in a message. */
  secrets: string[];
}

function targetOfUrl(value: unknown): { url: string; target: Target } {
  // The URL is not echoed: it may hold a password.
  const notShown = typeof value === 'string' ? 'a string (not shown: it may hold a password)' : describeValue(value);
  const failure = new TypeError(
    `Expected the \`RedisStore\` option \`url\` to be a redis:// or rediss:// URL, got ${notShown}`,
  );
  if (typeof value !== 'string' || !URL.canParse(value)) throw failure;
  const url = new URL(value);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw failure;
  const secrets = [url.password, safeDecode(url.password)].filter((secret) => secret !== '');
  return {
    url: value,
    target: { description: `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`, secrets },
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function targetOfClient(client: Redis): Target {
  const options = (isObject(client.options) ? client.options : {}) as Partial<RedisOptions>;
  const password = typeof options.password === 'string' ? options.password : '';
  const host = typeof options.host === 'string' ? options.host : 'localhost';
  const port = typeof options.port === 'number' ? options.port : 6379;
  return { description: `your client (${host}:${port})`, secrets: password === '' ? [] : [password] };
}

function resolveClient(value: unknown): Redis {
  if (!isObject(value) || typeof value.defineCommand !== 'function' || typeof value.status !== 'string') {
    throw expected('client', 'an ioredis client', value);
  }
  return value as unknown as Redis;
}

function resolveGroup(name: string, value: unknown): string {
  if (typeof value !== 'string' || !GROUP.test(value)) {
    throw expected(name, '1 to 64 letters, digits, `.`, `_` or `-`', value);
  }
  return value;
}

function resolveKeyPrefix(value: unknown): string {
  if (value === undefined) return DEFAULT_KEY_PREFIX;
  if (
    typeof value !== 'string' ||
    value.length > MAX_KEY_PREFIX_LENGTH ||
    /[{}]/.test(value) ||
    CONTROL_CHARACTERS.test(value)
  ) {
    throw expected('keyPrefix', 'a string of at most 64 characters without braces or control characters', value);
  }
  return value;
}

function resolveTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const expectation = `a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw expected('timeoutMs', expectation, value);
  if (value < 1 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `Expected the \`RedisStore\` option \`timeoutMs\` to be ${expectation}, got ${describeValue(value)}`,
    );
  }
  return value;
}

function resolveHostName(value: unknown): string {
  if (value === undefined) return hostname().slice(0, MAX_HOST_NAME_LENGTH) || 'localhost';
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length > MAX_HOST_NAME_LENGTH ||
    CONTROL_CHARACTERS.test(value)
  ) {
    throw expected('hostName', 'a non-empty string of at most 255 characters without control characters', value);
  }
  return value;
}

function checkFingerprintId(value: string): void {
  if (typeof value !== 'string' || !FINGERPRINT_ID.test(value)) {
    throw new TypeError(
      `Expected a fingerprint id of 1 to 128 letters, digits, \`.\`, \`_\` or \`-\`, got ${describeValue(value)}`,
    );
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${describeValue(value)}`);
  }
}

function checkTime(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Expected \`nowMs\` to be a time in milliseconds since the epoch, got ${describeValue(value)}`);
  }
  return Math.floor(value);
}

/** The two integers a script returns; anything else from the server is refused. */
function readPair(reply: unknown): [number, number] {
  if (Array.isArray(reply) && reply.length === 2) {
    const [a, b] = reply as unknown[];
    if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
      return [a, b];
    }
  }
  throw createStoreError('Redis answered with something other than two integers');
}

function outOfRange(what: string): StoreError {
  return createStoreError(
    `Redis answered out of range for ${what}; the store's keys may have been changed by something else`,
  );
}

/**
 * Ends a connection of the store's own at once: it stops reconnecting, and its socket is destroyed
 * rather than ended, which a connection that went silent never finishes (ioredis would wait for it
 * on a timer that keeps the process alive).
 */
function destroy(client: Redis): void {
  const stream = (client as { stream?: { destroy(): void } }).stream;
  client.disconnect();
  stream?.destroy();
}

function defineCommands(client: Redis): void {
  for (const [name, definition] of Object.entries(COMMANDS)) client.defineCommand(name, definition);
}

function messageOf(error: unknown): string {
  if (isObject(error) && typeof error.message === 'string') return error.message;
  return typeof error === 'string' ? error : 'unknown error';
}

/**
 * Shared state in Redis for a fleet of transports: instances of a service with the same `group`
 * share one rate window, and one re-notification window per problem, so that a failure seen by
 * twenty replicas mails like one. Each operation is one Lua script, atomic in Redis; every key it
 * writes expires once its state is no longer needed. An operation that cannot complete within
 * `timeoutMs` rejects with `code: 'ESTORE'`, and the transport goes on with its own limits.
 * Nothing connects until the first operation. The windows are counted in Redis's own clock
 * (`TIME`, Redis 5 or later), so that transports whose clocks disagree share them all the same;
 * each caller is answered in durations, which it counts in its own clock.
 */
export class RedisStore implements SharedStore {
  readonly #url: string | undefined;
  readonly #userClient: Redis | undefined;
  readonly #group: string | undefined;
  readonly #keyPrefix: string;
  readonly #timeoutMs: number;
  readonly #hostName: string;
  readonly #callerTime: boolean;
  readonly #target: Target;
  readonly #ioredis: typeof import('ioredis') | undefined;
  #ownClient: Redis | undefined;
  #lastConnectionError: string | undefined;
  #connecting: Promise<void> | undefined;
  #openGroups = 0;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (!isObject(options)) {
      throw new TypeError(
        `Expected the \`RedisStore\` options to be an object with \`url\` or \`client\`, got ${describeValue(options)}`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_NAMES.has(key)) {
        throw new TypeError(
          `Unknown \`RedisStore\` option \`${key}\`; the options are ${[...OPTION_NAMES].map((name) => `\`${name}\``).join(', ')}`,
        );
      }
    }
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new TypeError(
        `Expected exactly one of the \`RedisStore\` options \`url\` and \`client\`, got ${options.url === undefined ? 'neither' : 'both'}`,
      );
    }
    if (options.url !== undefined) {
      const { url, target } = targetOfUrl(options.url);
      this.#url = url;
      this.#target = target;
      this.#ioredis = requireIoredis();
    } else {
      this.#userClient = resolveClient(options.client);
      this.#target = targetOfClient(this.#userClient);
      defineCommands(this.#userClient);
    }
    this.#group = options.group === undefined ? undefined : resolveGroup('group', options.group);
    this.#keyPrefix = resolveKeyPrefix(options.keyPrefix);
    this.#timeoutMs = resolveTimeout(options.timeoutMs);
    this.#hostName = resolveHostName(options.hostName);
    this.#callerTime = (options as { [CALLER_TIME]?: unknown })[CALLER_TIME] === true;
  }

  openGroup(defaultGroup: string): MailStore {
    const group = this.#group ?? resolveGroup('group', defaultGroup);
    if (this.#closed) throw new Error('The `RedisStore` is closed');
    this.#openGroups++;
    return new RedisGroupStore({
      prefix: `${this.#keyPrefix}{${group}}:`,
      hostName: this.#hostName,
      callerTime: this.#callerTime,
      run: (command, keysAndArgs) => this.#run(command, keysAndArgs),
      release: () => this.#release(),
      describe: () => ({ ...this.toJSON(), group }),
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#disconnect();
  }

  /** Runs one script within the time limit; any failure becomes an `ESTORE` error. */
  async #run(command: keyof typeof COMMANDS, keysAndArgs: string[]): Promise<[number, number]> {
    if (this.#closed) throw createStoreError('The `RedisStore` is closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(createStoreError(`Redis at ${this.#target.description} did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([this.#send(command, keysAndArgs), timeout]);
    } catch (error) {
      const storeError =
        error instanceof Error && (error as Partial<StoreError>).code === 'ESTORE'
          ? error
          : createStoreError(this.#scrub(this.#explain(error)));
      // A connection that failed once is not trusted again (one that went silent, or a primary that
      // became a replica): the next operation opens a new one, and whatever this one still holds
      // is let go.
      this.#dropOwnClient();
      throw storeError;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A group store was closed: the last one closes the connection the store opened. */
  async #release(): Promise<void> {
    this.#openGroups = Math.max(0, this.#openGroups - 1);
    if (this.#openGroups === 0) await this.#disconnect();
  }

  [inspect.custom](): string {
    return `RedisStore ${inspect(this.toJSON())}`;
  }

  /** What the store connects to and how, without credentials. */
  toJSON(): { target: string; group: string | undefined; keyPrefix: string; timeoutMs: number } {
    return {
      target: this.#target.description,
      group: this.#group,
      keyPrefix: this.#keyPrefix,
      timeoutMs: this.#timeoutMs,
    };
  }

  async #send(command: keyof typeof COMMANDS, keysAndArgs: string[]): Promise<[number, number]> {
    const client = this.#client();
    if (client.status === 'wait') {
      this.#connecting = client.connect().finally(() => {
        this.#connecting = undefined;
      });
    }
    // Waited for only while the first connection is made: later, a connection that is down fails at once.
    if (this.#connecting !== undefined) await this.#connecting;
    const reply = await (client as unknown as ScriptCommands)[command](...keysAndArgs);
    return readPair(reply);
  }

  #client(): Redis {
    if (this.#userClient !== undefined) return this.#userClient;
    if (this.#ownClient !== undefined && this.#ownClient.status !== 'end') return this.#ownClient;
    const { Redis } = this.#ioredis ?? requireIoredis();
    const client = new Redis(this.#url ?? '', {
      // No commandTimeout: its timers would keep the process alive; each operation has its own
      // limit, after which the connection is dropped with whatever it still waits for.
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      // A host that drops the connection attempt holds the socket, and the process, no longer than an operation may take.
      connectTimeout: this.#timeoutMs,
      // A lost connection ends instead of retrying on a timer, which would keep the process alive;
      // the next operation opens a new one.
      retryStrategy: () => null,
    });
    // Shared state is no reason for a process to stay alive: its logging decides that.
    client.on('connect', () => client.stream.unref());
    // ioredis reconnects by itself; without a listener it would print each failure to the console.
    client.on('error', (error: unknown) => {
      this.#lastConnectionError = messageOf(error);
    });
    client.on('ready', () => {
      this.#lastConnectionError = undefined;
    });
    defineCommands(client);
    this.#ownClient = client;
    this.#connecting = undefined;
    return client;
  }

  #explain(error: unknown): string {
    const client = this.#ownClient ?? this.#userClient;
    // A connection the server has just closed can still be 'ready' while its socket no longer
    // takes writes, which ioredis refuses with a message about its offline queue.
    const status =
      client?.status === 'ready' && client.stream !== undefined && !client.stream.writable ? 'closed' : client?.status;
    if (status !== undefined && status !== 'ready') {
      // For its own connection ioredis says only that it could not write: the reason is the
      // connection's last error, which the store listens for on its own connection only.
      const detail = this.#lastConnectionError ?? (this.#userClient === undefined ? undefined : messageOf(error));
      const reason = detail === undefined ? '' : `: ${detail}`;
      return `Redis at ${this.#target.description} is unreachable (connection ${status})${reason}`;
    }
    return `Redis at ${this.#target.description} failed: ${messageOf(error)}`;
  }

  #scrub(message: string): string {
    let scrubbed = message;
    for (const secret of this.#target.secrets) scrubbed = scrubbed.split(secret).join('***');
    return scrubbed;
  }

  #dropOwnClient(): void {
    const client = this.#ownClient;
    if (client === undefined) return;
    this.#ownClient = undefined;
    this.#connecting = undefined;
    destroy(client);
  }

  async #disconnect(): Promise<void> {
    const client = this.#ownClient;
    if (client === undefined) return;
    this.#ownClient = undefined;
    this.#connecting = undefined;
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const quit = await Promise.race([
        client.quit().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#timeoutMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      // Redis closes the connection after QUIT, and ioredis does not reconnect.
      if (quit) return;
    }
    destroy(client);
  }
}

/** What a group store is given by its `RedisStore`. */
interface GroupConnection {
  /** What the names of the group's keys begin with. */
  prefix: string;
  hostName: string;
  /** Whether the scripts count in the callers' times instead of Redis's clock. */
  callerTime: boolean;
  run(command: keyof typeof COMMANDS, keysAndArgs: string[]): Promise<[number, number]>;
  release(): Promise<void>;
  describe(): object;
}

/** The state of one group in a `RedisStore`: what a transport of the group uses. */
class RedisGroupStore implements MailStore {
  readonly #connection: GroupConnection;
  readonly #prefix: string;
  #closed = false;

  constructor(connection: GroupConnection) {
    this.#connection = connection;
    this.#prefix = connection.prefix;
  }

  async takeMailSlot(limit: Readonly<RateLimitOptions>, nowMs: number): Promise<MailSlot> {
    const now = checkTime(nowMs);
    checkPositiveInteger('limit.mails', limit.mails);
    checkPositiveInteger('limit.perMs', limit.perMs);
    const [granted, retryInMs] = await this.run('wbmTakeMailSlot', [
      `${this.#prefix}rate`,
      `${this.#prefix}sent`,
      this.#connection.callerTime ? String(now) : '',
      String(limit.mails),
      String(limit.perMs),
      String(limit.perMs + EXPIRY_MARGIN_MS),
    ]);
    if (granted === 1) return { granted: true };
    // The script never asks to wait longer than the window: anything else is not its answer.
    if (granted !== 0 || retryInMs < 0 || retryInMs > limit.perMs) throw outOfRange('a mail slot');
    return { granted: false, retryInMs: Math.max(1, retryInMs) };
  }

  async noteProblem(
    fingerprintId: string,
    policy: Readonly<RenotifyPolicy>,
    nowMs: number,
    count: number,
  ): Promise<ProblemNote> {
    checkFingerprintId(fingerprintId);
    const now = checkTime(nowMs);
    checkPositiveInteger('policy.delayMs', policy.delayMs);
    checkPositiveInteger('policy.maxDelayMs', policy.maxDelayMs);
    checkPositiveInteger('count', count);
    const problem = `${this.#prefix}problem:${fingerprintId}`;
    const [first, msUntilWindowEnds] = await this.run('wbmNoteProblem', [
      problem,
      `${problem}:hosts`,
      `${this.#prefix}problems`,
      this.#connection.callerTime ? String(now) : '',
      String(policy.delayMs),
      String(Math.max(policy.delayMs, policy.maxDelayMs)),
      String(count),
      this.#connection.hostName,
      String(MAX_TRACKED_PROBLEMS),
      String(EXPIRY_MARGIN_MS),
    ]);
    // An open window ends after now, and within the longest window.
    if (
      (first !== 0 && first !== 1) ||
      msUntilWindowEnds <= 0 ||
      msUntilWindowEnds > Math.max(policy.delayMs, policy.maxDelayMs)
    ) {
      throw outOfRange('a problem');
    }
    // The end in the caller's time: however far its clock is from Redis's, it waits as long.
    return { first: first === 1, windowEndsAt: now + msUntilWindowEnds };
  }

  async takeProblemCounts(fingerprintId: string): Promise<ProblemCounts> {
    checkFingerprintId(fingerprintId);
    const problem = `${this.#prefix}problem:${fingerprintId}`;
    const [count, hosts] = await this.run('wbmTakeProblemCounts', [problem, `${problem}:hosts`]);
    if (count < 0 || hosts < 0) throw outOfRange("a problem's counts");
    return { count, hosts };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connection.release();
  }

  [inspect.custom](): string {
    return `RedisStore group ${inspect(this.#connection.describe())}`;
  }

  toJSON(): object {
    return this.#connection.describe();
  }

  private run(command: keyof typeof COMMANDS, keysAndArgs: string[]): Promise<[number, number]> {
    if (this.#closed) return Promise.reject(createStoreError('This group of the `RedisStore` is closed'));
    return this.#connection.run(command, keysAndArgs);
  }
}
