import {
  DEFAULT_REDACTED_KEYS,
  resolveRedaction,
  type RedactionError,
  type RedactFunction,
} from '../../src/capture/redact';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

type Entry = Record<string | symbol, unknown>;

/** Freezes `value` and everything below it, so that a write anywhere throws in strict mode. */
function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<string | symbol, unknown>)[key], seen);
  }
  return Object.freeze(value);
}

function entry(fields: Entry): Entry {
  return { level: 'info', message: 'm', [LEVEL]: 'info', ...fields };
}

const defaults = resolveRedaction(undefined);

function redact(fields: Entry, redaction = defaults): Entry {
  return redaction.redactEntry(entry(fields));
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe('the default keys', () => {
  test.each(DEFAULT_REDACTED_KEYS)('`%s` is redacted at the top, three levels down and inside arrays', (key) => {
    const deep = deepFreeze({ a: { b: { [key]: 'hunter2', keep: 1 } } });
    const listed = deepFreeze({ list: [{ [key]: 'hunter2' }, 'plain'] });

    expect(redact({ [key]: 'hunter2' })[key]).toBe('[redacted]');
    expect(redact({ ...deep }).a).toEqual({ b: { [key]: '[redacted]', keep: 1 } });
    expect(redact({ ...listed }).list).toEqual([{ [key]: '[redacted]' }, 'plain']);
  });

  test.each([
    'api_key',
    'API-KEY',
    'Api_Key',
    'x-api-key',
    'X_API_KEY',
    'set-cookie',
    'Set-Cookie',
    'Proxy-Authorization',
    'client_secret',
    'secret_access_key',
    'PASSWORD',
    '__password__',
    'private-key',
  ])('`%s` matches a default key whatever its case and its `-` and `_`', (key) => {
    expect(redact({ [key]: 'hunter2' })[key]).toBe('[redacted]');
  });

  test('only whole names match: keys that merely contain a secret word are kept', () => {
    const out = redact({ tokenCount: 3, passwordPolicy: 'strict', secretary: 'Ann', userId: 'u1' });

    expect(out).toEqual(entry({ tokenCount: 3, passwordPolicy: 'strict', secretary: 'Ann', userId: 'u1' }));
  });

  test('a whole object under a secret key is replaced, whatever it holds', () => {
    const out = redact({ credentials: deepFreeze({ user: 'app', pass: 'hunter2' }), cookie: ['a=1', 'b=2'] });

    expect(out.credentials).toBe('[redacted]');
    expect(out.cookie).toBe('[redacted]');
  });

  test('an absent secret stays visible as absent: undefined, null and the empty string are kept', () => {
    const out = redact({ password: '', token: null, apiKey: undefined, secret: 0 });

    expect(out.password).toBe('');
    expect(out.token).toBeNull();
    expect('apiKey' in out && out.apiKey === undefined).toBe(true);
    expect(out.secret).toBe('[redacted]');
  });

  test('`level` and the symbols other than the splat are left alone', () => {
    const out = defaults.redactEntry({ level: 'info', message: 'm', [LEVEL]: 'info', [Symbol('token')]: 'x' });

    expect(out.level).toBe('info');
    expect(out[LEVEL]).toBe('info');
    expect(Object.getOwnPropertySymbols(out).map((symbol) => out[symbol])).toEqual(['info', 'x']);
  });
});

describe('the caller’s objects', () => {
  test('are never written to: a deep-frozen meta comes back redacted, in copies', () => {
    const meta = deepFreeze({
      req: { method: 'GET', headers: { host: 'example.com', authorization: 'Bearer abc' } },
      tags: ['a', { token: 't' }],
    });
    const info = entry({ ...meta, [SPLAT]: deepFreeze([meta]) });

    const out = defaults.redactEntry(info);

    expect(out.req).toEqual({ method: 'GET', headers: { host: 'example.com', authorization: '[redacted]' } });
    expect(out.tags).toEqual(['a', { token: '[redacted]' }]);
    expect(out[SPLAT]).toEqual([
      {
        req: { method: 'GET', headers: { host: 'example.com', authorization: '[redacted]' } },
        tags: ['a', { token: '[redacted]' }],
      },
    ]);
    expect(meta.req.headers.authorization).toBe('Bearer abc');
    expect((meta.tags[1] as { token: string }).token).toBe('t');
  });

  test('are copied only along the paths where something was replaced', () => {
    const untouched = deepFreeze({ deep: { list: [1, 2, 3] } });
    const headers = deepFreeze({ host: 'h', cookie: 'c' });
    const req = deepFreeze({ untouched, headers });
    const clean = deepFreeze({ a: { b: 1 } });

    const out = redact({ req, clean });

    expect(out.clean).toBe(clean);
    expect(out.req).not.toBe(req);
    expect((out.req as typeof req).untouched).toBe(untouched);
    expect((out.req as typeof req).headers).toEqual({ host: 'h', cookie: '[redacted]' });
  });

  test('the entry itself is the one given, its top-level keys replaced in place', () => {
    const info = entry({ password: 'p', userId: 'u' });

    expect(defaults.redactEntry(info)).toBe(info);
    expect(info.password).toBe('[redacted]');
  });

  test('a frozen entry is copied rather than written to', () => {
    const info = Object.freeze(entry({ password: 'p', userId: 'u' }));

    const out = defaults.redactEntry(info);

    expect(out).not.toBe(info);
    expect(out).toEqual(entry({ password: '[redacted]', userId: 'u' }));
    expect(info.password).toBe('p');
  });

  test('a key named __proto__ stays data on the copy, and NaN does not count as a change', () => {
    const parsed = deepFreeze(JSON.parse('{"__proto__":{"polluted":true},"token":"t"}') as object);
    const withNaN = deepFreeze({ ratio: NaN });

    const out = redact({ parsed, withNaN });

    expect(Object.getOwnPropertyNames(out.parsed)).toEqual(['__proto__', 'token']);
    expect(Object.getPrototypeOf(out.parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(out.withNaN).toBe(withNaN);
  });
});

describe('hostile values', () => {
  test('a cycle becomes `[Circular]` in a copy, as JSON shows it, so that no path leads back to the original', () => {
    const loop: Record<string, unknown> = { password: 'p', list: [] };
    loop.self = loop;
    (loop.list as unknown[]).push(loop);
    deepFreeze(loop);

    const out = redact({ loop }).loop as Record<string, unknown>;

    expect(out).toEqual({ password: '[redacted]', list: ['[Circular]'], self: '[Circular]' });
  });

  test('a secret 16 levels down is redacted; what lies deeper than 16 levels is replaced whole', () => {
    const nest = (levels: number, leaf: object): object => {
      let value = leaf;
      for (let level = 0; level < levels; level++) value = { down: value };
      return value;
    };
    // The object holding the secret is at depth 16 (the top-level value being depth 1).
    const reachable = redact({ top: nest(15, { password: 'p' }) });
    const tooDeep = redact({ top: nest(16, { password: 'p' }) });

    expect(JSON.stringify(reachable.top)).toBe(`${'{"down":'.repeat(15)}{"password":"[redacted]"}${'}'.repeat(15)}`);
    expect(JSON.stringify(tooDeep.top)).toBe(`${'{"down":'.repeat(16)}"[too deep]"${'}'.repeat(16)}`);
  });

  test('an object that would take the count of values searched past 10,000 is replaced whole', () => {
    const big = Array.from({ length: 10_001 }, (_, index) => index);
    const part = Array.from({ length: 4_000 }, (_, index) => index);

    expect(redact({ big, small: [1] })).toEqual(entry({ big: '[too large]', small: [1] }));
    expect(redact({ a: part, b: part, c: part, d: [1] })).toEqual(
      entry({ a: part, b: part, c: '[too large]', d: [1] }),
    );
  });

  test('a getter that throws leaves `[unreadable: <class>]`, never its message, and the rest is kept', () => {
    const hostile = Object.freeze({
      ok: 1,
      get boom(): never {
        throw new RangeError('the secret is hunter2');
      },
    });

    const out = redact({ hostile });

    expect(out.hostile).toEqual({ ok: 1, boom: '[unreadable: RangeError]' });
  });

  test('a revoked Proxy inside the entry is replaced; as the entry itself, a placeholder entry comes back', () => {
    expect(redact({ proxy: revokedProxy(), n: 1 })).toEqual(entry({ proxy: '[unreadable: TypeError]', n: 1 }));
    expect(defaults.redactEntry(revokedProxy())).toEqual({
      level: 'error',
      message: '[unreadable: TypeError]',
      [LEVEL]: 'error',
    });
  });

  test('an Error keeps its class, message and stack, with its secret properties replaced', () => {
    const error = Object.assign(new TypeError('request failed'), {
      code: 'E401',
      config: { headers: { Authorization: 'Bearer abc', Accept: 'json' } },
    });
    deepFreeze(error);

    const out = redact({ error }).error as TypeError & { code: string; config: unknown };

    expect(out).not.toBe(error);
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('request failed');
    expect(out.stack).toBe(error.stack);
    expect(out.code).toBe('E401');
    expect(out.config).toEqual({ headers: { Authorization: '[redacted]', Accept: 'json' } });
    expect(Object.keys(out)).toEqual(['code', 'config']);
    expect(error.config.headers.Authorization).toBe('Bearer abc');
  });

  test('an Error with nothing secret is kept as it is', () => {
    const error = new Error('plain');

    expect(redact({ error }).error).toBe(error);
  });

  test('Map values are redacted by their string keys, in a new Map', () => {
    const map = new Map<unknown, unknown>([
      ['token', 't'],
      ['user', 'u'],
      [1, { password: 'p' }],
    ]);

    const out = redact({ map }).map as Map<unknown, unknown>;

    expect([...out]).toEqual([
      ['token', '[redacted]'],
      ['user', 'u'],
      [1, { password: '[redacted]' }],
    ]);
    expect(map.get('token')).toBe('t');
  });

  test('an object with toJSON is judged by what it shows: replaced by its redacted JSON only when needed', () => {
    class Session {
      constructor(private readonly data: Record<string, string>) {}
      toJSON(): Record<string, string> {
        return { ...this.data };
      }
    }
    const secretive = new Session({ user: 'u', token: 't' });
    const harmless = new Session({ user: 'u' });

    const out = redact({ secretive, harmless });

    expect(out.secretive).toEqual({ user: 'u', token: '[redacted]' });
    expect(out.harmless).toBe(harmless);
  });

  test('Buffers and Dates are not searched', () => {
    const buffer = Buffer.from('password');
    const date = new Date(0);

    const out = redact({ buffer, date });

    expect(out.buffer).toBe(buffer);
    expect(out.date).toBe(date);
  });
});

describe('the splat', () => {
  test('its elements are redacted as the entry is, in a new array', () => {
    const meta = deepFreeze({ userId: 'u', password: 'p' });
    const splat = deepFreeze(['text', meta]);

    const out = redact({ ...meta, [SPLAT]: splat });

    expect(out.password).toBe('[redacted]');
    expect(out[SPLAT]).toEqual(['text', { userId: 'u', password: '[redacted]' }]);
    expect(out[SPLAT]).not.toBe(splat);
  });

  test('is kept as it is when nothing in it is secret', () => {
    const splat = deepFreeze([{ userId: 'u' }]);

    expect(redact({ userId: 'u', [SPLAT]: splat })[SPLAT]).toBe(splat);
  });

  test('paths are counted from each element, as they are from the entry', () => {
    const redaction = resolveRedaction({ keys: ['req.id'] });
    const meta = deepFreeze({ req: { id: 7, path: '/' } });

    const out = redaction.redactEntry(entry({ ...meta, [SPLAT]: [meta] }));

    expect(out.req).toEqual({ id: '[redacted]', path: '/' });
    expect(out[SPLAT]).toEqual([{ req: { id: '[redacted]', path: '/' } }]);
  });
});

describe('keys and paths given by the user', () => {
  test('names add to the defaults and match at any depth, like them', () => {
    const redaction = resolveRedaction({ keys: ['ssn', 'card_number'] });

    const out = redaction.redactEntry(entry({ ssn: '1', nested: { cardNumber: '2', password: '3' } }));

    expect(out).toEqual(entry({ ssn: '[redacted]', nested: { cardNumber: '[redacted]', password: '[redacted]' } }));
  });

  test('`replaceDefaults: true` drops the defaults', () => {
    const redaction = resolveRedaction({ keys: ['ssn'], replaceDefaults: true });

    expect(redaction.redactEntry(entry({ ssn: '1', password: 'p' }))).toEqual(
      entry({ ssn: '[redacted]', password: 'p' }),
    );
  });

  test('a dotted path matches from the top only, with case and separators ignored in each key', () => {
    const redaction = resolveRedaction({ keys: ['req.headers.x-request-signature'], replaceDefaults: true });

    const out = redaction.redactEntry(
      entry({
        req: { headers: { 'X-Request-Signature': 's', host: 'h' } },
        other: { req: { headers: { 'x-request-signature': 'kept' } } },
      }),
    );

    expect(out.req).toEqual({ headers: { 'X-Request-Signature': '[redacted]', host: 'h' } });
    expect(out.other).toEqual({ req: { headers: { 'x-request-signature': 'kept' } } });
  });

  test('`*` in a path stands for any one key or array index', () => {
    const redaction = resolveRedaction({ keys: ['users.*.email', 'teams.*.lead.phone'], replaceDefaults: true });

    const out = redaction.redactEntry(
      entry({
        users: [{ email: 'a@b', id: 1 }, { email: 'c@d' }],
        teams: { red: { lead: { phone: '1', name: 'Ann' } } },
      }),
    );

    expect(out.users).toEqual([{ email: '[redacted]', id: 1 }, { email: '[redacted]' }]);
    expect(out.teams).toEqual({ red: { lead: { phone: '[redacted]', name: 'Ann' } } });
  });

  test('`censor` replaces the marker', () => {
    const redaction = resolveRedaction({ censor: '***' });

    expect(redaction.redactEntry(entry({ token: 't' })).token).toBe('***');
  });
});

describe('patterns', () => {
  const redaction = resolveRedaction({
    patterns: [/sk_live_[0-9a-z]+/i, /(?<=Bearer )[\w.~+/-]+/, 'hunter2'],
    censor: '$& [x]',
  });

  test('apply to the message, nested strings, array elements, Map values, and an error’s message and stack', () => {
    const error = new Error('login with hunter2 failed');
    const out = redaction.redactEntry(
      entry({
        message: 'charging with sk_live_ABC123 and sk_live_def',
        nested: { note: 'Authorization: Bearer eyJ.abc' },
        list: ['hunter2!'],
        map: new Map([['k', 'hunter2']]),
        error,
      }),
    );

    expect(out.message).toBe('charging with $& [x] and $& [x]');
    expect(out.nested).toEqual({ note: 'Authorization: Bearer $& [x]' });
    expect(out.list).toEqual(['$& [x]!']);
    expect([...(out.map as Map<string, string>)]).toEqual([['k', '$& [x]']]);
    expect((out.error as Error).message).toBe('login with $& [x] failed');
    expect((out.error as Error).stack).toMatch(/^Error: login with \$& \[x\] failed\n {4}at /);
    expect(error.message).toBe('login with hunter2 failed');
  });

  test('leave strings without a match as they are', () => {
    const nested = deepFreeze({ note: 'nothing here' });

    expect(redaction.redactEntry(entry({ nested })).nested).toBe(nested);
  });

  test('a pattern that could match nothing at some places still never inserts the censor there', () => {
    const lookbehind = resolveRedaction({ patterns: [/(?<=key=)\w*/] });

    expect(lookbehind.redactText('key= key=abc')).toBe('key= key=[redacted]');
  });
});

describe('redactText', () => {
  test('replaces the JSON values of secret keys, and patterns, in a formatted line', () => {
    const redaction = resolveRedaction({ patterns: [/\b\d{4}-\d{4}\b/] });
    const line =
      '2026-11-24T04:32:08.123Z INFO  paid 1234-5678 {"user":"u","api_key":"k\\"q","Token" : 12.5,"secret":true,"password":null,"cookie":{"a":1}}';

    expect(redaction.redactText(line)).toBe(
      '2026-11-24T04:32:08.123Z INFO  paid [redacted] {"user":"u","api_key":"[redacted]","Token" : "[redacted]","secret":"[redacted]","password":null,"cookie":{"a":1}}',
    );
  });

  test('redactEntry applies it to a line a format already made, and to strings that hold JSON', () => {
    const out = defaults.redactEntry(
      entry({ body: '{"password":"p","user":"u"}', [MESSAGE]: 'info: m {"token":"t"}' }),
    );

    expect(out.body).toBe('{"password":"[redacted]","user":"u"}');
    expect(defaults.redactEntry(entry({ short: '"pwd":1' })).short).toBe('"pwd":"[redacted]"');
    expect(out[MESSAGE]).toBe('info: m {"token":"[redacted]"}');
  });
});

describe('a replacer function', () => {
  test('sees each key, value and path, at any depth, and may replace a value', () => {
    const calls: string[] = [];
    const replacer: RedactFunction = (key, value, path) => {
      calls.push(`${path.join('.')}=${typeof value}`);
      return key === 'email' ? 'e-mail hidden' : value;
    };
    const redaction = resolveRedaction(replacer);

    const out = redaction.redactEntry(entry({ user: { email: 'a@b', password: 'p' }, list: ['x'] }));

    expect(out.user).toEqual({ email: 'e-mail hidden', password: '[redacted]' });
    expect(calls).toEqual(['message=string', 'user=object', 'user.email=string', 'list=object', 'list.0=string']);
  });

  test('that throws: the value is censored, the entry kept, and the listener told once, without the value', () => {
    const replacer: RedactFunction = (key, value) => {
      if (key === 'card') throw new TypeError(`cannot read ${String(value)}`);
      return value;
    };
    const redaction = resolveRedaction({ replacer });
    const errors: RedactionError[] = [];

    const out = redaction.redactEntry(entry({ card: '4111', other: { card: '4222' }, ok: 1 }), (error) =>
      errors.push(error),
    );

    expect(out).toEqual(entry({ card: '[redacted]', other: { card: '[redacted]' }, ok: 1 }));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('EREDACT');
    expect(errors[0]?.path).toEqual(['card']);
    expect(errors[0]?.message).toBe(
      'The `redact` replacer threw TypeError at `card`; the value was replaced by `[redacted]`',
    );
    expect(errors[0]?.cause).toBeInstanceOf(TypeError);
  });

  test('a listener that throws does not lose the entry', () => {
    const redaction = resolveRedaction(() => {
      throw new Error('x');
    });

    const out = redaction.redactEntry(entry({ a: 1 }), () => {
      throw new Error('listener');
    });

    expect(out.a).toBe('[redacted]');
  });
});

describe('redact: false', () => {
  test('changes nothing', () => {
    const redaction = resolveRedaction(false);
    const info = entry({ password: 'p', [MESSAGE]: '{"token":"t"}' });

    expect(redaction.enabled).toBe(false);
    expect(redaction.redactEntry(info)).toBe(info);
    expect(info.password).toBe('p');
    expect(redaction.redactText('{"token":"t"}')).toBe('{"token":"t"}');
  });

  test('`replaceDefaults: true` with nothing else is the same', () => {
    expect(resolveRedaction({ replaceDefaults: true }).enabled).toBe(false);
    expect(resolveRedaction(true).enabled).toBe(true);
  });
});

describe('resolveRedaction validation', () => {
  test.each<[unknown, string, ErrorConstructor]>([
    [
      'password',
      'Expected `redact` to be `false`, a function `(key, value, path) => value` or an object with `keys`, `patterns`, `replaceDefaults`, `censor` or `replacer`, got `"password"` (string)',
      TypeError,
    ],
    [
      { paths: ['a'] },
      "Expected `redact` to have only the keys `keys`, `patterns`, `replaceDefaults`, `censor`, `replacer`, got `paths` (pino's `paths` are `keys` here)",
      TypeError,
    ],
    [
      { keys: 'password' },
      'Expected `redact.keys` to be an array of key names or dotted paths such as `req.headers.cookie`, got `"password"` (string)',
      TypeError,
    ],
    [
      { keys: ['ok', 42] },
      'Expected `redact.keys[1]` to be a key name or a dotted path such as `req.headers.cookie`, got `42` (number)',
      TypeError,
    ],
    [
      { keys: ['req..id'] },
      'Expected `redact.keys[0]` to be a key name or a dotted path such as `req.headers.cookie`, each key with a character other than `-`, `_` and `.`, got `"req..id"` (string)',
      TypeError,
    ],
    [
      { keys: ['*'] },
      'Expected `redact.keys[0]` to be a key name or a dotted path such as `req.headers.cookie` (`*` stands for one key of a path), got `"*"` (string)',
      TypeError,
    ],
    [
      { keys: ['a\nb'] },
      'Expected `redact.keys[0]` to be a key name or a dotted path such as `req.headers.cookie`, of at most 200 characters and without control characters',
      TypeError,
    ],
    [
      { keys: [Array.from({ length: 17 }, () => 'a').join('.')] },
      `Expected \`redact.keys[0]\` to be a path of at most 16 keys, got \`"${Array.from({ length: 17 }, () => 'a').join('.')}"\` (string)`,
      RangeError,
    ],
    [
      { patterns: [/x*/] },
      "Expected `redact.patterns[0]` to match at least one character, got /x*/, which matches ''",
      RangeError,
    ],
    [
      { patterns: [42] },
      'Expected `redact.patterns[0]` to be a RegExp or a non-empty string, got `42` (number)',
      TypeError,
    ],
    [{ patterns: [''] }, "Expected `redact.patterns[0]` to be a RegExp or a non-empty string, got ''", TypeError],
    [{ replaceDefaults: 'yes' }, 'Expected `redact.replaceDefaults` to be a boolean, got `"yes"` (string)', TypeError],
    [{ censor: 1 }, 'Expected `redact.censor` to be a string, got `1` (number)', TypeError],
    [
      { censor: 'a\nb' },
      'Expected `redact.censor` to be one line of at most 100 characters, got `"a\\nb"` (string)',
      RangeError,
    ],
    [
      { replacer: 'x' },
      'Expected `redact.replacer` to be a function `(key, value, path) => value`, got `"x"` (string)',
      TypeError,
    ],
  ])('%p is refused', (option, message, type) => {
    expect(() => resolveRedaction(option)).toThrow(type);
    expect(() => resolveRedaction(option)).toThrow(message);
  });

  test('a string where patterns belong is never repeated: it may be the secret itself', () => {
    expect(() => resolveRedaction({ patterns: 'hunter2' })).toThrow(
      'Expected `redact.patterns` to be an array of RegExps or strings, got a string (not shown)',
    );
  });

  test('the option is named as the caller names it', () => {
    expect(() => resolveRedaction({ keys: [1] }, 'capture.redact')).toThrow(
      'Expected `capture.redact.keys[0]` to be a key name',
    );
  });
});

describe('names that end with a secret word, with the default keys', () => {
  test.each([
    'newPassword',
    'db_password',
    'AWS_SECRET_ACCESS_KEY',
    'apiSecret',
    'x-access-token',
    'secretKey',
    'csrfToken',
  ])('%s is redacted', (key) => {
    expect(redact({ [key]: 'the-value' })[key]).toBe('[redacted]');
  });

  test.each(['tokenCount', 'maxTokens', 'secretary', 'passengerCount', 'cookieConsent'])('%s is kept', (key) => {
    expect(redact({ [key]: 'the-value' })[key]).toBe('the-value');
  });

  test('with replaceDefaults, only the keys given count', () => {
    const only = resolveRedaction({ keys: ['pin'], replaceDefaults: true });
    expect(redact({ dbPassword: 'x', pin: '1234' }, only)).toMatchObject({ dbPassword: 'x', pin: '[redacted]' });
  });
});

test('a plain object whose own toJSON returns its secrets shows them redacted', () => {
  const password = 'closure-held';
  const result = redact({ data: { toJSON: () => ({ password, user: 'ada' }) } });
  expect(JSON.stringify(result.data)).toBe('{"password":"[redacted]","user":"ada"}');
});
