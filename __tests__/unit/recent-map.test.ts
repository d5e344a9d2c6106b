import { setMostRecent } from '../../src/recent-map';

describe('setMostRecent', () => {
  test('beyond max keys, the least recently set is forgotten', () => {
    const map = new Map<string, number>();
    for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) setMostRecent(map, key, index, 3);
    expect([...map]).toEqual([
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
  });

  test('setting a key it holds makes it the most recent and forgets nothing', () => {
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    setMostRecent(map, 'a', 10, 3);
    expect([...map]).toEqual([
      ['b', 2],
      ['c', 3],
      ['a', 10],
    ]);
  });
});
