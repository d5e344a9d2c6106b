import { BatchBuffer } from '../src/buffer';

describe('BatchBuffer', () => {
  test('hands out a batch exactly when capacity entries are waiting', () => {
    const buffer = new BatchBuffer<number>(3);
    expect(buffer.push(1)).toBeUndefined();
    expect(buffer.push(2)).toBeUndefined();
    expect(buffer.push(3)).toEqual([1, 2, 3]);
    expect(buffer.size).toBe(0);
    expect(buffer.push(4)).toBeUndefined();
    expect(buffer.size).toBe(1);
  });

  test('drain() takes the partial batch in arrival order and leaves the buffer empty', () => {
    const buffer = new BatchBuffer<string>(10);
    buffer.push('a');
    buffer.push('b');
    expect(buffer.drain()).toEqual(['a', 'b']);
    expect(buffer.drain()).toEqual([]);
  });

  test('capacity 1 mails every entry alone', () => {
    const buffer = new BatchBuffer<string>(1);
    expect(buffer.push('a')).toEqual(['a']);
    expect(buffer.push('b')).toEqual(['b']);
  });
});
