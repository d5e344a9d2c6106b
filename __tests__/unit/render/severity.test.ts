import { MostSevere, NPM_LEVELS, rankLevel, sortBySeverity } from '../../../src/render/severity';

describe('severity', () => {
  test('ranks levels by the logger levels; unknown levels and inherited names rank last', () => {
    expect(rankLevel('error')).toBe(0);
    expect(rankLevel('silly', NPM_LEVELS)).toBe(6);
    expect(rankLevel('crit', { crit: 2 })).toBe(2);
    expect(rankLevel('custom')).toBe(Number.POSITIVE_INFINITY);
    expect(rankLevel('constructor')).toBe(Number.POSITIVE_INFINITY);
  });

  test('keeps the first of the most severe', () => {
    const severity = new MostSevere<string>();
    expect(severity.best).toBeUndefined();
    for (const [item, level] of [
      ['a', 'custom'],
      ['b', 'warn'],
      ['c', 'error'],
      ['d', 'error'],
      ['e', 'info'],
    ]) {
      severity.offer(item!, level!);
    }
    expect(severity.best).toBe('c');
  });

  test('an entry of an unknown level is still the most severe of a batch that has no other', () => {
    const severity = new MostSevere<string>();
    severity.offer('only', 'custom');
    expect(severity.best).toBe('only');
  });

  test('sorts most severe first, unknown levels after in their order', () => {
    expect(sortBySeverity(['info', 'zeta', 'error', 'alpha', 'warn'])).toEqual([
      'error',
      'warn',
      'info',
      'zeta',
      'alpha',
    ]);
  });
});
