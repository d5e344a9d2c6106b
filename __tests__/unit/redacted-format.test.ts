import { resolveRedaction, type RedactOption } from '../../src/capture/redact';
import { redactedFormat } from '../../src/capture/redacted-format';
import { defaultLineFormat, type LogEntry } from '../../src';
import { captureEntry, prepareForListeners, takeCapturedEntry } from '../../src/render/line';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** An info object as winston hands it to a transport: the meta merged in, the splat, the logger's JSON line. */
function info(level: string, message: unknown, meta: Record<string, unknown> = {}): LogEntry {
  const entry: LogEntry = { ...meta, level, message, [LEVEL]: level, [SPLAT]: [meta] };
  entry[MESSAGE] = 'the logger’s own line';
  return entry;
}

/** The entry kept, the line and the fields of the info object that `logged` listeners see. */
interface Kept {
  entry: unknown;
  line: unknown;
  fields: Array<[string, unknown]>;
}

/** The top-level fields; of an object, only that it is one (a revoked Proxy cannot be compared). */
function topFields(out: LogEntry): Array<[string, unknown]> {
  return Object.entries(out).map(([key, value]) => [
    key,
    typeof value === 'object' && value !== null ? 'object' : value,
  ]);
}

/** What the transport keeps, and the line `logged` listeners see, with its default format. */
function kept(redact: RedactOption, entries: LogEntry[]): Kept[] {
  const fmt = redactedFormat(resolveRedaction(redact), defaultLineFormat(), () => undefined, { remakesLine: true });
  return entries.map((entry) => {
    const out = fmt.transform({ ...entry }, fmt.options) as LogEntry;
    return { entry: takeCapturedEntry(out), line: prepareForListeners(out)[MESSAGE], fields: topFields(out) };
  });
}

/** The same, the slow way: the whole entry redacted, then the line made and read back. */
function keptStepByStep(redact: RedactOption, entries: LogEntry[]): Kept[] {
  const redaction = resolveRedaction(redact);
  const fmt = defaultLineFormat();
  return entries.map((entry) => {
    const copy = { ...entry, [MESSAGE]: undefined, [SPLAT]: undefined };
    const out = fmt.transform(redaction.redactEntry(copy), fmt.options) as LogEntry;
    return { entry: captureEntry(out), line: out[MESSAGE], fields: topFields(out) };
  });
}

beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-24T04:32:08.123Z') }));
afterEach(() => jest.useRealTimers());

// The keys of one call site are remembered by position: a secret key at a place where another
// entry had a harmless one must still be redacted.
const entries: LogEntry[] = [
  info('info', 'request handled', { requestId: 'r-1', userId: 42, durationMs: 3, route: '/a' }),
  info('info', 'request handled', { requestId: 'r-2', password: 'hunter2', durationMs: 4, route: '/b' }),
  info('info', 'request handled', { requestId: 'r-3', userId: 43, durationMs: 5, route: '/c' }),
  info('warn', 'login', { token: 'abc', dbPassword: 'p', api_key: 7, secret: true, pass: '' }),
  info('info', 'body {"apiKey":"k-123","n":1}', { raw: '{"password":"p","ok":1}', nothing: null, later: undefined }),
  info('info', 'nested', { user: { name: 'ada', password: 'p' }, list: [{ token: 't' }] }),
  info('info', 'revoked inside', { broken: revokedProxy(), password: 'still redacted' }),
  info('error', 'failed', { stack: 'Error: failed {"token":"t-1"}\n    at main', code: 'E1' }),
  info('info', 'odd values', { big: 12n, sym: Symbol('s'), fn: function named() {}, nan: Number.NaN }),
  info(
    'info',
    'a key named __proto__',
    JSON.parse('{"__proto__":"data","authorization":"Bearer x"}') as Record<string, unknown>,
  ),
  { ...info('error', 'uncaughtException: boom'), exception: true, error: 'boom', os: { loadavg: [1] }, token: 't' },
  { ...info('error', 'unhandledRejection: no'), exception: true, date: 'today', stack: 'Error: no', token: 't' },
  info('info', 'request handled', { requestId: 'r-4', userId: 44, durationMs: 6, route: '/d' }),
];

describe("the transport's default format, redacting as it reads", () => {
  test.each<[string, RedactOption]>([
    ['the defaults', true],
    ['patterns and names of the user', { keys: ['route', 'exception'], patterns: [/r-\d/, 'ada'], censor: '***' }],
    ['dotted paths (the whole entry is searched first)', { keys: ['user.name'] }],
    ['a replacer (the whole entry is searched first)', (key, value) => (key === 'userId' ? 0 : value)],
    ['redaction off', false],
  ])('keeps what redacting the whole entry, then reading it, keeps: %s', (_name, redact) => {
    expect(kept(redact, entries)).toEqual(keptStepByStep(redact, entries));
  });

  test('secrets never reach the entry or the line, whichever key came at that place before', () => {
    const lines = kept(true, entries).map(({ line }) => String(line));
    expect(lines[1]).toBe(
      '2026-11-24T04:32:08.123Z INFO  request handled {"requestId":"r-2","password":"[redacted]","durationMs":4,"route":"/b"}',
    );
    expect(lines[3]).toBe(
      '2026-11-24T04:32:08.123Z WARN  login {"token":"[redacted]","dbPassword":"[redacted]","api_key":"[redacted]","secret":"[redacted]","pass":""}',
    );
    for (const secret of ['hunter2', 'abc', 'k-123', '"p"', 't-1', 'Bearer x', 'still redacted']) {
      expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
