import { format } from 'logform';
import { utcTimestamp } from '../../src';
import { formatUtc } from '../../src/utc-timestamp';
import { runFixture } from '../helpers/child';

interface Rendered {
  instant: string;
  iso: string;
  seedLayout: string;
  withOffset: string;
  logformLocal: string;
  line: string;
  offsetMinutes: number;
}

const INSTANTS = [
  '2026-11-24T04:32:08.123Z',
  // One millisecond before and at the start of daylight saving time in New York.
  '2026-03-08T06:59:59.999Z',
  '2026-03-08T07:00:00.000Z',
  // New Year's Eve in UTC, already the next year east of Greenwich.
  '2026-12-31T23:59:59.999Z',
];

const EXPECTED_SEED_LAYOUT = [
  '2026-11-24 04:32:08,123',
  '2026-03-08 06:59:59,999',
  '2026-03-08 07:00:00,000',
  '2026-12-31 23:59:59,999',
];

describe('utcTimestamp() renders UTC whatever the TZ of the process', () => {
  const zones = [
    'UTC',
    'Asia/Kathmandu',
    'Pacific/Chatham',
    'America/New_York',
    'America/St_Johns',
    'Australia/Lord_Howe',
  ];

  test.each(zones)('TZ=%s', async (zone) => {
    const result = await runFixture('timestamps-in-zone.ts', { TZ: zone }, INSTANTS);
    expect(result.stderr).toBe('');
    const rendered = JSON.parse(result.stdout) as Rendered[];

    expect(rendered.map((entry) => entry.iso)).toEqual(INSTANTS);
    expect(rendered.map((entry) => entry.seedLayout)).toEqual(EXPECTED_SEED_LAYOUT);
    expect(rendered.map((entry) => entry.withOffset)).toEqual(
      INSTANTS.map((instant) => `${instant.slice(0, 19)}+00:00`),
    );
    expect(rendered.map((entry) => entry.line)).toEqual(INSTANTS.map((instant) => `${instant} INFO  Info index = 0`));
    if (zone !== 'UTC') {
      // The zone really was in force: logform's own timestamp shows local time there.
      expect(rendered.some((entry) => entry.offsetMinutes !== 0)).toBe(true);
      expect(rendered.map((entry) => entry.logformLocal)).not.toEqual(EXPECTED_SEED_LAYOUT);
    }
  });

  test('the New York zone changes offset across the DST boundary, the UTC rendering does not jump', async () => {
    const result = await runFixture('timestamps-in-zone.ts', { TZ: 'America/New_York' }, INSTANTS.slice(1, 3));
    const [before, after] = JSON.parse(result.stdout) as Rendered[];
    expect([before?.offsetMinutes, after?.offsetMinutes]).toEqual([300, 240]);
    expect([before?.logformLocal, after?.logformLocal]).toEqual(['2026-03-08 01:59:59,999', '2026-03-08 03:00:00,000']);
    expect([before?.seedLayout, after?.seedLayout]).toEqual(['2026-03-08 06:59:59,999', '2026-03-08 07:00:00,000']);
  });
});

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
