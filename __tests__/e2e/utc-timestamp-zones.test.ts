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

// `Date#getTimezoneOffset()` at each of INSTANTS (minutes behind UTC), from the zones' rules:
// proof that the zone really was in force in the child process.
const OFFSETS_MINUTES: Record<string, number[]> = {
  UTC: [0, 0, 0, 0],
  'Asia/Kathmandu': [-345, -345, -345, -345],
  'Pacific/Chatham': [-825, -825, -825, -825],
  'America/New_York': [300, 300, 240, 300],
  'America/St_Johns': [210, 150, 150, 210],
  'Australia/Lord_Howe': [-660, -660, -660, -660],
};

/** `instant` in the seed's layout, as a clock `offsetMinutes` behind UTC shows it. */
function localLayout(instant: string, offsetMinutes: number): string {
  const iso = new Date(Date.parse(instant) - offsetMinutes * 60_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}`;
}

describe('utcTimestamp() renders UTC whatever the TZ of the process', () => {
  test.each(Object.entries(OFFSETS_MINUTES))('TZ=%s', async (zone, offsets) => {
    const result = await runFixture('timestamps-in-zone.ts', { TZ: zone }, INSTANTS);
    expect(result.stderr).toBe('');
    const rendered = JSON.parse(result.stdout) as Rendered[];

    expect(rendered.map((entry) => entry.iso)).toEqual(INSTANTS);
    expect(rendered.map((entry) => entry.seedLayout)).toEqual(EXPECTED_SEED_LAYOUT);
    expect(rendered.map((entry) => entry.withOffset)).toEqual(
      INSTANTS.map((instant) => `${instant.slice(0, 19)}+00:00`),
    );
    expect(rendered.map((entry) => entry.line)).toEqual(INSTANTS.map((instant) => `${instant} INFO  Info index = 0`));
    // logform's own timestamp shows the zone's local time: the zone was in force.
    expect(rendered.map((entry) => entry.offsetMinutes)).toEqual(offsets);
    expect(rendered.map((entry) => entry.logformLocal)).toEqual(
      INSTANTS.map((instant, index) => localLayout(instant, offsets[index]!)),
    );
  });

  test('the New York zone changes offset across the DST boundary, the UTC rendering does not jump', async () => {
    const result = await runFixture('timestamps-in-zone.ts', { TZ: 'America/New_York' }, INSTANTS.slice(1, 3));
    const [before, after] = JSON.parse(result.stdout) as Rendered[];
    expect([before?.offsetMinutes, after?.offsetMinutes]).toEqual([300, 240]);
    expect([before?.logformLocal, after?.logformLocal]).toEqual(['2026-03-08 01:59:59,999', '2026-03-08 03:00:00,000']);
    expect([before?.seedLayout, after?.seedLayout]).toEqual(['2026-03-08 06:59:59,999', '2026-03-08 07:00:00,000']);
  });
});
