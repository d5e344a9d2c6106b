import { format } from 'logform';
import { utcTimestamp } from '../../src';
import { formatUtc } from '../../src/utc-timestamp';

describe('utcTimestamp() options', () => {
  afterEach(() => jest.useRealTimers());

  test('stamps the time of the call, and alias copies it', () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T04:32:08.123Z') });
    const stamp = utcTimestamp({ alias: '@timestamp' });
    const info = stamp.transform({ level: 'info', message: 'x' }, stamp.options) as Record<string, unknown>;
    expect(info.timestamp).toBe('2026-11-24T04:32:08.123Z');
    expect(info['@timestamp']).toBe('2026-11-24T04:32:08.123Z');
  });

  test('a function format receives the log time', () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T04:32:08.123Z') });
    const stamp = utcTimestamp({ format: (date) => String(date.getTime()) });
    const info = stamp.transform({ level: 'info', message: 'x' }, stamp.options) as Record<string, unknown>;
    expect(info.timestamp).toBe(String(Date.parse('2026-11-24T04:32:08.123Z')));
  });

  test('combines with other logform formats', () => {
    jest.useFakeTimers({ now: new Date('2026-01-02T03:04:05.006Z') });
    const chain = format.combine(utcTimestamp({ format: 'DD/MM/YYYY HH:mm' }), format.json());
    const info = chain.transform({ level: 'info', message: 'x' }, chain.options) as Record<symbol, string>;
    expect(info[Symbol.for('message')]).toBe('{"level":"info","message":"x","timestamp":"02/01/2026 03:04"}');
  });

  test('an empty pattern is a clear TypeError', () => {
    expect(() => utcTimestamp({ format: '' })).toThrow(
      "Expected `format` of utcTimestamp() to be a fecha pattern such as 'YYYY-MM-DD HH:mm:ss,SSS' or a function, got string",
    );
  });

  test('formatUtc renders any instant without the local zone', () => {
    expect(formatUtc(new Date('2026-07-01T23:30:00.000Z'), 'YYYY-MM-DD HH:mm ZZ')).toBe('2026-07-01 23:30 +0000');
  });
});
