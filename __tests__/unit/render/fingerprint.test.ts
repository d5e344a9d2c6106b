import type { CapturedEntry } from '../../../src/entry';
import {
  defaultFingerprint,
  fingerprintId,
  MAX_FINGERPRINT_LENGTH,
  normalizeMessage,
  resolveFingerprint,
  toFingerprintInput,
  type FingerprintInput,
} from '../../../src/render/fingerprint';

function captured(level: string, message: string, fields: Partial<CapturedEntry> = {}): CapturedEntry {
  return {
    level,
    timestamp: '2026-11-24T04:32:08.123Z',
    message,
    metaJson: undefined,
    stack: undefined,
    line: undefined,
    crash: false,
    ...fields,
  };
}

function stackOf(name: string, message: string, frames: readonly string[]): string {
  return [`${name}: ${message}`, ...frames.map((frame) => `    at ${frame}`)].join('\n');
}

describe('normalizeMessage', () => {
  test.each([
    ['numbers', 'attempt 3 of 12 failed', 'attempt 417 of 5 failed', 'attempt <num> of <num> failed'],
    [
      'hex ids of 6 digits or more, as numbers',
      'request 3f2a9b7c1d failed',
      'request 20251124 failed',
      'request <num> failed',
    ],
    ['0x hex', 'bad pointer 0x7ffd', 'bad pointer 0xDEADbeef', 'bad pointer <num>'],
    [
      'UUIDs',
      'order 123e4567-e89b-12d3-a456-426614174000 lost',
      'order 9F1C2B3A-0000-4AAA-8BBB-ABCDEF012345 lost',
      'order <uuid> lost',
    ],
    ['IPv4 addresses with a port', 'no route to 10.0.0.1:5432', 'no route to 192.168.200.17', 'no route to <ip>'],
    ['IPv6 addresses', 'peer fe80::1 reset', 'peer 2001:db8::8a2e:370:7334 reset', 'peer <ip> reset'],
    ['full IPv6 addresses', 'from 2001:0db8:0000:0000:0000:ff00:0042:8329', 'from ::1', 'from <ip>'],
    ['e-mail addresses', 'bounce for bob.smith+x@example.co.uk', 'bounce for a@b.io', 'bounce for <email>'],
    ['single-quoted values', "no user 'alice' in 'eu-1'", "no user 'Bob Smith' in 'us'", 'no user <str> in <str>'],
    ['double-quoted values', 'key "a \\" b" missing', 'key "z" missing', 'key <str> missing'],
    [
      'ISO timestamps',
      'token expired at 2026-11-24T04:32:08.123Z',
      'token expired at 2025-01-02 03:04:05+01:00',
      'token expired at <time>',
    ],
    ['durations', 'query took 250ms', 'query took 1.5 s', 'query took <duration>'],
    ['durations in words', 'retry in 5 seconds', 'retry in 2 minutes', 'retry in <duration>'],
  ])('%s', (_kind, one, other, normalised) => {
    expect(normalizeMessage(one)).toBe(normalised);
    expect(normalizeMessage(other)).toBe(normalised);
  });

  test('hex ids without a digit are ids from 8 letters on; shorter words, apostrophes and names keep their letters', () => {
    expect(normalizeMessage("can't decode facade for ecbaddbe in HTTP/2 std::vector, 9518815d")).toBe(
      "can't decode facade for <num> in HTTP/<num> std::vector, <num>",
    );
  });

  test('generated names with a digit and a letter, from 8 characters on, are ids: nanoids, pod names', () => {
    expect(normalizeMessage('user V1StGXR8_Z5jdHi6B-myT not found')).toBe('user <num> not found');
    expect(normalizeMessage('pod web-7d9f8b6c4-x2k9p restarted')).toBe('pod <num> restarted');
    expect(normalizeMessage('pod web-5c6b7d8e9-p4m2q restarted')).toBe('pod <num> restarted');
    expect(normalizeMessage('disk nearly full on /var')).toBe('disk nearly full on /var');
  });

  test('reads the first 2048 characters only', () => {
    const head = 'x'.repeat(2048);
    expect(normalizeMessage(`${head}tail one`)).toBe(head);
    expect(normalizeMessage(`${head}${'y'.repeat(1_000_000)}`)).toBe(head);
  });

  test('text that the patterns could backtrack on comes back in one piece', () => {
    for (const hostile of [
      '"'.repeat(2048),
      "'a".repeat(1024),
      '1.'.repeat(1024),
      '1:'.repeat(1024),
      'a@'.repeat(1024),
    ]) {
      const normalised = normalizeMessage(hostile);
      expect(normalised.length).toBeLessThanOrEqual(10 * 2048);
      expect(normalised).not.toMatch(/\d{2}/);
    }
  });
});

describe('defaultFingerprint', () => {
  test('the same error with different ids, addresses and times has one key', () => {
    const one = captured('error', 'Connection refused to db 10.0.0.1:5432 for request 3f2a9b7c1d after 250ms');
    const other = captured('error', 'Connection refused to db 10.0.0.7:6543 for request 0a1b2c3d4e after 1.2s');
    expect(defaultFingerprint(one)).toBe(defaultFingerprint(other));
  });

  test('another level or another message is another kind', () => {
    const key = defaultFingerprint(captured('error', 'disk full'));
    expect(defaultFingerprint(captured('warn', 'disk full'))).not.toBe(key);
    expect(defaultFingerprint(captured('error', 'disk gone'))).not.toBe(key);
  });

  test('an error is known by its name and top frame; the column and deeper frames do not count', () => {
    const frames = ['query (/app/db.js:42:7)', 'handle (/app/server.js:10:3)'];
    const error = (message: string, stack: string): CapturedEntry => captured('error', message, { stack });
    const key = defaultFingerprint(error('id 1 failed', stackOf('TypeError', 'id 1 failed', frames)));
    expect(key).toContain('TypeError');
    expect(key).toContain('at query (/app/db.js:42)');
    expect(
      defaultFingerprint(
        error(
          'id 2 failed',
          stackOf('TypeError', 'id 2 failed', ['query (/app/db.js:42:19)', 'other (/app/x.js:1:1)']),
        ),
      ),
    ).toBe(key);
    expect(
      defaultFingerprint(error('id 3 failed', stackOf('TypeError', 'id 3 failed', ['query (/app/db.js:57:7)']))),
    ).not.toBe(key);
    expect(defaultFingerprint(error('id 4 failed', stackOf('RangeError', 'id 4 failed', frames)))).not.toBe(key);
  });

  test("Node's coded errors keep their code in the name", () => {
    const stack = stackOf('Error [ERR_STREAM_DESTROYED]', 'write after destroy', ['Socket.write (node:net:1:1)']);
    expect(defaultFingerprint(captured('error', 'write after destroy', { stack }))).toContain(
      'Error [ERR_STREAM_DESTROYED]',
    );
  });

  test("a crash entry's message holds the stack: its head, error name and top frame make the key", () => {
    const crash = (id: number, frame: string): CapturedEntry =>
      captured(
        'error',
        `uncaughtException: lost ${id}\n${stackOf('TypeError', `lost ${id}`, [frame, 'main (/app/index.js:3:1)'])}`,
        {
          crash: true,
        },
      );
    const key = defaultFingerprint(crash(1, 'load (/app/cache.js:8:9)'));
    expect(key.split('\u0000')).toEqual([
      'error',
      'uncaughtException: lost <num>\nTypeError: lost <num>',
      'TypeError',
      'at load (/app/cache.js:8)',
    ]);
    expect(defaultFingerprint(crash(2, 'load (/app/cache.js:8:30)'))).toBe(key);
    expect(defaultFingerprint(crash(3, 'save (/app/cache.js:20:9)'))).not.toBe(key);
  });

  test('stays bounded for a huge message or stack', () => {
    const huge = 'x'.repeat(5_000_000);
    const key = defaultFingerprint(captured('error', huge, { stack: `Error: ${huge}` }));
    expect(key.length).toBeLessThanOrEqual(2048 + 2048 + 64 + 512 + 3);
    expect(defaultFingerprint(captured('error', `${huge}\n    at deep (/x.js:1:1)`)).length).toBeLessThanOrEqual(3000);
  });

  test('lone surrogates and control characters do not stop it', () => {
    expect(defaultFingerprint(captured('\uD800', 'a\uDC00b\u0000c\r\n'))).toBe('\uD800\u0000a\uDC00b\u0000c\r\n');
  });
});

describe('fingerprintId', () => {
  test('12 hex digits, the same for the same key, another for another key', () => {
    const id = fingerprintId('error\u0000disk full');
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprintId('error\u0000disk full')).toBe(id);
    expect(fingerprintId('error\u0000disk gone')).not.toBe(id);
  });
});

describe('resolveFingerprint', () => {
  const entry = captured('warn', 'slow request 17', { metaJson: '{"route":"/orders","ms":900}' });

  test('without a function, the default', () => {
    expect(resolveFingerprint(undefined, () => undefined)(entry)).toBe(defaultFingerprint(entry));
  });

  test("the user's function sees level, message, time, stack, crash and the parsed meta", () => {
    const seen: FingerprintInput[] = [];
    const fingerprint = resolveFingerprint((input) => {
      seen.push(input);
      return `route ${String(input.meta.route)}`;
    });
    expect(fingerprint(entry)).toBe('route /orders');
    expect(seen[0]).toMatchObject({
      level: 'warn',
      message: 'slow request 17',
      timestamp: '2026-11-24T04:32:08.123Z',
      stack: undefined,
      crash: false,
      meta: { route: '/orders', ms: 900 },
    });
  });

  test('meta is parsed on first read only, and is {} when absent, not an object, or not JSON', () => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const input = toFingerprintInput(entry);
      expect(parse).not.toHaveBeenCalled();
      expect(input.meta).toBe(input.meta);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
    for (const metaJson of [undefined, '[1,2]', '"text"', 'null', '{broken']) {
      expect(toFingerprintInput(captured('info', 'm', { metaJson })).meta).toEqual({});
    }
  });

  test('a function that throws or returns junk falls back to the default, reported once', () => {
    for (const custom of [
      () => {
        throw new Error('bad fingerprint');
      },
      () => '',
      () => 42 as unknown as string,
      () => undefined as unknown as string,
    ]) {
      const errors: Error[] = [];
      const fingerprint = resolveFingerprint(custom, (error) => errors.push(error));
      expect(fingerprint(entry)).toBe(defaultFingerprint(entry));
      expect(fingerprint(captured('error', 'other 5'))).toBe(defaultFingerprint(captured('error', 'other 5')));
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toMatch(
        /^(The `fingerprint` function threw: Error: bad fingerprint|Expected the `fingerprint` function to return a non-empty string, got (an empty string|number|undefined))$/,
      );
    }
  });

  test('a failing listener does not stop it', () => {
    const fingerprint = resolveFingerprint(
      () => {
        throw new Error('bad');
      },
      () => {
        throw new Error('listener');
      },
    );
    expect(fingerprint(entry)).toBe(defaultFingerprint(entry));
  });

  test('keys are cut to 512 characters', () => {
    const fingerprint = resolveFingerprint(() => 'k'.repeat(10_000));
    expect(fingerprint(entry)).toBe('k'.repeat(MAX_FINGERPRINT_LENGTH));
  });

  test('the input cannot be changed by the function', () => {
    const fingerprint = resolveFingerprint((input) => {
      (input as { level: string }).level = 'changed';
      return input.level;
    });
    expect(fingerprint(entry)).toBe(defaultFingerprint(entry));
  });
});
