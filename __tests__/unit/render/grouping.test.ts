import type { CapturedEntry } from '../../../src/entry';
import { defaultFingerprint, fingerprintId } from '../../../src/render/fingerprint';
import { groupEntries, groupEntriesInSteps, type EntryGroup } from '../../../src/render/grouping';

function at(second: number): string {
  return `2026-11-24T04:32:${String(second).padStart(2, '0')}.000Z`;
}

function captured(level: string, message: string, timestamp: string | null = at(0)): CapturedEntry {
  return {
    level,
    timestamp: timestamp ?? undefined,
    message,
    metaJson: undefined,
    stack: undefined,
    line: undefined,
    crash: false,
  };
}

function repeat(count: number, level: string, message: (index: number) => string, from = 0): CapturedEntry[] {
  return Array.from({ length: count }, (_, index) => captured(level, message(index), at((from + index) % 60)));
}

function summaryOf(group: EntryGroup): [string, string, number] {
  return [group.level, group.sample.message, group.count];
}

describe('groups', () => {
  test('most severe first, then most frequent, then first seen', () => {
    const entries = [
      captured('info', 'started'),
      ...repeat(3, 'warn', (i) => `slow query ${i}`),
      captured('error', 'disk full on /dev/sda1'),
      ...repeat(2, 'error', (i) => `timeout after ${i + 1}s`),
      captured('warn', 'cache miss'),
      captured('error', 'payment declined'),
      captured('info', 'started'),
    ];
    expect(groupEntries(entries).groups.map(summaryOf)).toEqual([
      ['error', 'timeout after 1s', 2],
      ['error', 'disk full on /dev/sda1', 1],
      ['error', 'payment declined', 1],
      ['warn', 'slow query 0', 3],
      ['warn', 'cache miss', 1],
      ['info', 'started', 2],
    ]);
  });

  test('a group states its key, id, first entry, and first and last time', () => {
    const entries = [
      captured('error', 'lost 1', null),
      captured('info', 'other'),
      captured('error', 'lost 2', at(5)),
      captured('error', 'lost 3', at(9)),
      captured('error', 'lost 4', null),
    ];
    const [group] = groupEntries(entries).groups;
    const key = defaultFingerprint(entries[0]!);
    expect(group?.id).toBe(fingerprintId(key));
    expect(group).toMatchObject({
      key,
      level: 'error',
      count: 4,
      firstIndex: 0,
      firstTimestamp: at(5),
      lastTimestamp: at(9),
      collapsed: undefined,
    });
    expect(group?.sample).toBe(entries[0]);
  });

  test("a kind's level is the most severe of its entries, the first one on a tie", () => {
    const entries = [captured('info', 'a'), captured('error', 'b'), captured('warn', 'c'), captured('error', 'd')];
    const [group] = groupEntries(entries, { fingerprint: () => 'one kind' }).groups;
    expect(group && summaryOf(group)).toEqual(['error', 'a', 4]);
  });

  test('levels follow the logger (syslog here); unknown levels rank last', () => {
    const syslog = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    const entries = [captured('custom', 'x'), captured('warning', 'w'), captured('crit', 'c'), captured('debug', 'd')];
    expect(groupEntries(entries, { levels: syslog }).groups.map((group) => group.level)).toEqual([
      'crit',
      'warning',
      'debug',
      'custom',
    ]);
  });

  test('a fingerprint that throws or returns junk counts as the default, and grouping goes on', () => {
    let calls = 0;
    const plan = groupEntries([captured('error', 'a 1'), captured('error', 'a 2'), captured('error', 'b')], {
      fingerprint: () => {
        calls++;
        if (calls === 1) throw new Error('bad');
        return (calls === 2 ? 7 : '') as unknown as string;
      },
    });
    expect(plan.groups.map(summaryOf)).toEqual([
      ['error', 'a 1', 2],
      ['error', 'b', 1],
    ]);
  });
});

describe('collapsing', () => {
  test('beyond the first 10 errors of a kind, one line stands for the rest, where the first of them was', () => {
    const entries = [
      captured('info', 'request served'),
      ...repeat(15, 'error', (i) => `Connection refused to 10.0.0.${i}:5432`, 1),
      captured('info', 'request served'),
    ];
    const plan = groupEntries(entries);
    expect(plan.listed).toEqual([...Array<boolean>(11).fill(true), ...Array<boolean>(5).fill(false), true]);
    expect(plan.collapsedCount).toBe(5);
    const group = plan.groups[0]!;
    expect(group.collapsed).toEqual({
      count: 5,
      firstIndex: 11,
      indices: [11, 12, 13, 14, 15],
      firstTimestamp: at(11),
      lastTimestamp: at(15),
    });
    expect([...plan.collapseLines]).toEqual([[11, group]]);
  });

  test('collapsed entries interleaved with others: only those of the kind go, the line at the first of them', () => {
    const entries: CapturedEntry[] = [];
    for (let index = 0; index < 14; index++) {
      entries.push(captured('warn', `retry ${index}`, at(index)), captured('error', `job ${index} failed`, at(index)));
    }
    const plan = groupEntries(entries, { keepPerGroup: 3 });
    expect(plan.collapsedCount).toBe(2 * 11);
    const [errors, warnings] = plan.groups;
    expect(errors?.collapsed).toMatchObject({ count: 11, firstIndex: 7, firstTimestamp: at(3), lastTimestamp: at(13) });
    expect(errors?.collapsed?.indices).toEqual(Array.from({ length: 11 }, (_, i) => 7 + 2 * i));
    expect(warnings?.collapsed).toMatchObject({
      count: 11,
      firstIndex: 6,
      firstTimestamp: at(3),
      lastTimestamp: at(13),
    });
    expect([...plan.collapseLines.keys()]).toEqual([6, 7]);
    expect(plan.listed.filter(Boolean)).toHaveLength(6);
  });

  test('info and debug lines are the record: never collapsed, however often they repeat', () => {
    const plan = groupEntries([
      ...repeat(50, 'info', (i) => `served ${i}`),
      ...repeat(50, 'debug', (i) => `cache ${i}`),
    ]);
    expect(plan.collapsedCount).toBe(0);
    expect(plan.listed.every(Boolean)).toBe(true);
    expect(plan.groups.map(summaryOf)).toEqual([
      ['info', 'served 0', 50],
      ['debug', 'cache 0', 50],
    ]);
  });

  test('a single entry beyond the kept ones stays listed: its line would take as much room', () => {
    const plan = groupEntries(repeat(11, 'error', (i) => `lost ${i}`));
    expect(plan.collapsedCount).toBe(0);
    expect(groupEntries(repeat(12, 'error', (i) => `lost ${i}`)).collapsedCount).toBe(2);
  });

  test('collapseFromLevel and keepPerGroup move the threshold', () => {
    const entries = [...repeat(5, 'warn', (i) => `slow ${i}`), ...repeat(5, 'error', (i) => `lost ${i}`)];
    const plan = groupEntries(entries, { collapseFromLevel: 'error', keepPerGroup: 0 });
    expect(plan.listed).toEqual([...Array<boolean>(5).fill(true), ...Array<boolean>(5).fill(false)]);
    expect(plan.severeCount).toBe(5);
    expect(groupEntries(entries, { collapseFromLevel: 'info', keepPerGroup: 1 }).collapsedCount).toBe(8);
  });

  test('syslog levels collapse from warning; a threshold or an entry level the logger does not know collapses nothing', () => {
    const syslog = { emerg: 0, alert: 1, crit: 2, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    expect(
      groupEntries(
        repeat(20, 'warning', (i) => `w ${i}`),
        { levels: syslog },
      ).collapsedCount,
    ).toBe(10);
    expect(
      groupEntries(
        repeat(20, 'notice', (i) => `n ${i}`),
        { levels: syslog },
      ).collapsedCount,
    ).toBe(0);
    expect(
      groupEntries(
        repeat(20, 'error', (i) => `e ${i}`),
        { collapseFromLevel: 'severe' },
      ).collapsedCount,
    ).toBe(0);
    expect(groupEntries(repeat(20, 'custom', (i) => `c ${i}`)).collapsedCount).toBe(0);
  });

  test('keepPerGroup: a fraction is rounded down, Infinity collapses nothing, a negative number or NaN means 10', () => {
    const entries = repeat(15, 'error', (i) => `e ${i}`);
    expect(groupEntries(entries, { keepPerGroup: 2.5 }).collapsedCount).toBe(13);
    expect(groupEntries(entries, { keepPerGroup: Number.POSITIVE_INFINITY }).collapsedCount).toBe(0);
    for (const keepPerGroup of [-1, Number.NaN]) {
      expect(groupEntries(entries, { keepPerGroup }).collapsedCount).toBe(5);
    }
  });

  test('5,000 repeats of one error among a few others: 10 listed, one collapse line, all counted', () => {
    const entries = [
      captured('info', 'worker started'),
      ...repeat(
        5000,
        'error',
        (i) =>
          `Connection refused to db 10.0.${i % 256}.${i % 7}:5432 (request ${((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0')})`,
      ),
      captured('warn', 'pool exhausted'),
      captured('info', 'worker stopped'),
    ];
    const plan = groupEntries(entries);
    expect(plan.groups.map(summaryOf)).toEqual([
      ['error', 'Connection refused to db 10.0.0.0:5432 (request 00000000)', 5000],
      ['warn', 'pool exhausted', 1],
      ['info', 'worker started', 1],
      ['info', 'worker stopped', 1],
    ]);
    expect(plan.collapsedCount).toBe(4990);
    expect(plan.listed.filter(Boolean)).toHaveLength(13);
    expect([...plan.collapseLines.keys()]).toEqual([11]);
  });
});

describe('in steps', () => {
  test('yields once per entry and returns the same plan', () => {
    const entries = [...repeat(30, 'error', (i) => `lost ${i}`), captured('info', 'x')];
    const steps = groupEntriesInSteps(entries);
    let yields = 0;
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) {
        expect(step.value.listed).toEqual(groupEntries(entries).listed);
        break;
      }
      yields++;
    }
    expect(yields).toBe(entries.length);
  });

  test('an empty batch has no groups', () => {
    expect(groupEntries([])).toEqual({
      entryCount: 0,
      groups: [],
      listed: [],
      collapsedCount: 0,
      collapseLines: new Map(),
      severeCount: 0,
    });
  });
});
