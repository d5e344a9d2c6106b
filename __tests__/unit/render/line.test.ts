import winston from 'winston';
import { defaultLineFormat, type LogEntry } from '../../../src';
import {
  captureEntry,
  captureWithoutLine,
  prepareForListeners,
  renderLine,
  takeCapturedEntry,
} from '../../../src/render/line';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

function revokedProxy(): LogEntry {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy as LogEntry;
}

function line(info: Record<string | symbol, unknown>): unknown {
  const fmt = defaultLineFormat();
  const out = fmt.transform({ level: 'info', message: '', ...info }, fmt.options) as Record<symbol, unknown>;
  return out[MESSAGE];
}

describe('defaultLineFormat()', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-24T04:32:08.123Z') }));
  afterEach(() => jest.useRealTimers());

  test('the seed layout: UTC time, level upper-case padded to 5, message', () => {
    expect(line({ level: 'info', [LEVEL]: 'info', message: 'Info index = 0' })).toBe(
      '2026-11-24T04:32:08.123Z INFO  Info index = 0',
    );
    expect(line({ level: 'error', [LEVEL]: 'error', message: 'boom' })).toBe('2026-11-24T04:32:08.123Z ERROR boom');
    expect(line({ level: 'debug', [LEVEL]: 'debug', message: 'x' })).toBe('2026-11-24T04:32:08.123Z DEBUG x');
    expect(line({ level: 'emerg', [LEVEL]: 'emerg', message: 'x' })).toBe('2026-11-24T04:32:08.123Z EMERG x');
  });

  test('extra meta follows as compact JSON in the order it was given', () => {
    expect(line({ [LEVEL]: 'info', message: 'paid', orderId: 1234, amount: { value: 9.5, currency: 'EUR' } })).toBe(
      '2026-11-24T04:32:08.123Z INFO  paid {"orderId":1234,"amount":{"value":9.5,"currency":"EUR"}}',
    );
  });

  test('the raw level is used even when the logger colourised info.level', () => {
    expect(line({ level: '\u001b[32minfo\u001b[39m', [LEVEL]: 'info', message: 'x' })).toBe(
      '2026-11-24T04:32:08.123Z INFO  x',
    );
  });

  test('never throws on the logging path: an entry it cannot read becomes a line naming the error', () => {
    const fmt = defaultLineFormat();
    const transform = (info: object) => fmt.transform(info as never, fmt.options) as Record<string | symbol, unknown>;

    const revoked = transform(revokedProxy());
    expect(revoked[MESSAGE]).toBe(
      "2026-11-24T04:32:08.123Z ERROR [entry could not be rendered: TypeError: Cannot perform 'set' on a proxy that has been revoked]",
    );
    expect(revoked[LEVEL]).toBe('error');

    const frozen = transform(Object.freeze({ level: 'warn', [LEVEL]: 'warn', message: 'frozen' }));
    expect(frozen[MESSAGE]).toMatch(
      /^2026-11-24T04:32:08\.123Z WARN {2}\[entry could not be rendered: TypeError: .+\]$/,
    );

    expect(transform({ level: 'info', [LEVEL]: 'info', message: revokedProxy() })[MESSAGE]).toBe(
      "[entry could not be rendered: TypeError: Cannot perform 'getPrototypeOf' on a proxy that has been revoked]",
    );
    const getter = Object.defineProperty({ level: 'info', [LEVEL]: 'info', message: 'm' }, 'user', {
      enumerable: true,
      get() {
        throw new Error('no user');
      },
    });
    expect(transform(getter)[MESSAGE]).toBe('[entry could not be rendered: Error: no user]');
    const trap = {
      [Symbol.toPrimitive]() {
        throw new Error('do not convert me');
      },
    };
    expect(transform({ level: 'info', [LEVEL]: 'info', message: trap, meta: trap })[MESSAGE]).toBe(
      '2026-11-24T04:32:08.123Z INFO  {} {"meta":{}}',
    );
  });

  test('without the line, for the transport, it keeps the same entry and makes the same line when asked', () => {
    const fmt = defaultLineFormat();
    const capture = captureWithoutLine(fmt);
    if (capture === undefined) throw new Error('the default format can be run without its line');
    const getter = Object.defineProperty({ level: 'info', [LEVEL]: 'info', message: 'm' }, 'user', {
      enumerable: true,
      get() {
        throw new Error('no user');
      },
    });
    const infos: LogEntry[] = [
      { level: 'info', [LEVEL]: 'info', message: 'Info index = 0' },
      { level: 'warn', [LEVEL]: 'warn', message: 'paid', orderId: 1234, amount: { value: 9.5 } },
      { level: 'error', [LEVEL]: 'error', message: 'boom', stack: 'Error: boom\n    at main (app.js:1:1)' },
      { level: 'info', [LEVEL]: 'info', message: revokedProxy() },
      getter,
      Object.freeze({ level: 'warn', [LEVEL]: 'warn', message: 'frozen' }),
    ];
    for (const info of infos) {
      const withLine = fmt.transform(info, fmt.options) as LogEntry;
      const without = capture(info);
      expect(takeCapturedEntry(without)).toEqual(captureEntry(withLine));
      expect(prepareForListeners(without)[MESSAGE]).toBe(withLine[MESSAGE]);
    }
    expect(captureWithoutLine(winston.format.simple())).toBeUndefined();
  });

  test('a custom timestamp pattern stays UTC', () => {
    const fmt = defaultLineFormat({ format: 'YYYY-MM-DD HH:mm:ss,SSS' });
    const out = fmt.transform({ level: 'warn', [LEVEL]: 'warn', message: 'x' }, fmt.options) as Record<symbol, unknown>;
    expect(out[MESSAGE]).toBe('2026-11-24 04:32:08,123 WARN  x');
  });
});

describe('renderLine() never throws', () => {
  test('an error logged with its stack shows the stack on the following lines', () => {
    const error = new Error('card declined');
    const text = renderLine({ level: 'error', message: 'card declined', stack: error.stack, timestamp: 'T' });
    const [first, second, third] = text.split('\n');
    expect(first).toBe('T ERROR card declined');
    expect(second).toBe('Error: card declined');
    expect(third).toMatch(/^\s+at /);
  });

  test('an uncaught exception entry shows its message (which holds the stack) without the bulky process details', () => {
    const text = renderLine({
      level: 'error',
      message: 'uncaughtException: boom\nError: boom\n    at main (app.js:1:1)',
      exception: true,
      stack: 'Error: boom\n    at main (app.js:1:1)',
      error: new Error('boom'),
      process: { pid: 1, argv: [] },
      os: { loadavg: [0, 0, 0] },
      trace: [],
      date: 'Tue Nov 24 2026',
      timestamp: 'T',
    });
    expect(text).toBe('T ERROR uncaughtException: boom\nError: boom\n    at main (app.js:1:1)');
  });

  test('circular references, BigInt, errors in meta and non-string messages are rendered', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    expect(renderLine({ level: 'info', message: 'c', data: circular })).toBe(
      'INFO  c {"data":{"name":"loop","self":"[Circular]"}}',
    );
    expect(renderLine({ level: 'info', message: 'b', big: 12345678901234567890n })).toBe(
      'INFO  b {"big":12345678901234567890}',
    );
    expect(renderLine({ level: 'info', message: 'e', cause: new TypeError('bad') })).toMatch(
      /^INFO {2}e \{"cause":"TypeError: bad\\n {4}at .+"\}$/,
    );
    expect(renderLine({ level: 'info', message: 'buf', payload: Buffer.alloc(4096) })).toBe(
      'INFO  buf {"payload":"[Buffer: 4096 bytes]"}',
    );
    // Lone surrogates are replaced when the mail is rendered, off the logging path.
    expect(renderLine({ level: 'info', message: 'lone \uD800 half', [Symbol('hidden')]: 1, sym: Symbol('s') })).toBe(
      'INFO  lone \uD800 half {"sym":"Symbol(s)"}',
    );
    expect(renderLine({ level: 'info', message: Symbol('as message') })).toBe('INFO  Symbol(as message)');
    expect(renderLine({ level: 'info', message: { answer: 42 } })).toBe('INFO  {"answer":42}');
    expect(renderLine({ level: 'info', message: undefined })).toBe('INFO  ');
    expect(renderLine({ level: 'info', message: 7 })).toBe('INFO  7');
  });

  test('a key named __proto__ is shown as data, whether its value is plain or not, and pollutes nothing', () => {
    const plain = JSON.parse('{"level":"info","message":"p","__proto__":"text","after":1}') as LogEntry;
    expect(renderLine(plain)).toBe('INFO  p {"__proto__":"text","after":1}');
    const nested = JSON.parse('{"level":"info","message":"n","__proto__":{"polluted":true}}') as LogEntry;
    expect(renderLine(nested)).toBe('INFO  n {"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('meta that throws when serialised is reported in its place; the rest of the line stays', () => {
    const hostile = {
      toJSON() {
        throw new Error('no JSON for you');
      },
    };
    expect(renderLine({ level: 'info', message: 'x', hostile })).toBe(
      'INFO  x "[not serialisable: Error: no JSON for you]"',
    );
  });

  test('an entry that cannot be read renders as a line naming the error', () => {
    expect(renderLine(revokedProxy())).toBe(
      "[entry could not be rendered: TypeError: Cannot perform 'get' on a proxy that has been revoked]",
    );
    const long = {
      level: 'info',
      message: 'm',
      get user() {
        throw new Error(`line 1\nline 2 ${'x'.repeat(1000)}`);
      },
    };
    expect(renderLine(long)).toBe(`[entry could not be rendered: Error: line 1 line 2 ${'x'.repeat(278)}…]`);
  });
});
