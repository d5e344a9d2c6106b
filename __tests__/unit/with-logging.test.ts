import winston from 'winston';
import { withLogging } from '../../src';
import { memoryTransport } from '../helpers/memory-transport';

/** How a promise ended: its value, or the message of its error. */
function outcomeOf(promise: Promise<unknown>): Promise<{ value: unknown } | { error: string }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: (error as Error).message }),
  );
}

describe('withLogging', () => {
  test.each<[string, () => unknown, { value: unknown } | { error: string }]>([
    ['returns', () => Promise.resolve('done'), { value: 'done' }],
    [
      'throws',
      () => {
        throw new Error('job failed');
      },
      { error: 'job failed' },
    ],
    ['rejects', async () => Promise.reject(new Error('job failed')), { error: 'job failed' }],
  ])('level and transports are restored when the function %s', async (_outcome, job, expected) => {
    const base = memoryTransport();
    const scoped = memoryTransport();
    const logger = winston.createLogger({ level: 'info', transports: [base.transport] });

    const run = withLogging(logger, { level: 'debug', transports: [scoped.transport] }, () => {
      logger.debug('inside');
      return job();
    });
    expect(await outcomeOf(run)).toEqual(expected);

    expect(logger.level).toBe('info');
    expect(logger.transports).toEqual([base.transport]);
    logger.debug('outside, filtered');
    logger.info('outside');
    // 'outside' arrives after anything logged before it: the filtered entry had its chance.
    expect(await base.waitForMessages(2)).toEqual(['inside', 'outside']);
    expect(scoped.messages).toEqual(['inside']);
  });

  test('an unknown level is refused before anything changes', async () => {
    const logger = winston.createLogger({ level: 'info', transports: [memoryTransport().transport] });
    await expect(withLogging(logger, { level: 'loud' }, () => undefined)).rejects.toThrow(
      'Expected `level` to be one of the logger\'s levels (error, warn, info, http, verbose, debug, silly), got `"loud"`',
    );
    expect(logger.level).toBe('info');
  });
});
