import winston from 'winston';
import { withLogging } from '../../src';
import { memoryTransport } from '../helpers/memory-transport';
import { bodyLines, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

describe('withLogging', () => {
  test.each([
    ['returns', () => Promise.resolve('done')],
    [
      'throws',
      () => {
        throw new Error('job failed');
      },
    ],
    ['rejects', async () => Promise.reject(new Error('job failed'))],
  ])('level and transports are restored when the function %s', async (outcome, job) => {
    const base = memoryTransport();
    const scoped = memoryTransport();
    const logger = winston.createLogger({ level: 'info', transports: [base.transport] });

    const run = withLogging(logger, { level: 'debug', transports: [scoped.transport] }, () => {
      logger.debug('inside');
      return job();
    });
    if (outcome === 'returns') await expect(run).resolves.toBe('done');
    else await expect(run).rejects.toThrow('job failed');

    expect(logger.level).toBe('info');
    expect(logger.transports).toEqual([base.transport]);
    logger.debug('outside, filtered');
    logger.info('outside');
    await new Promise((resolve) => setImmediate(resolve));
    expect(scoped.messages).toEqual(['inside']);
    expect(base.messages).toEqual(['inside', 'outside']);
  });

  test('one digest mail per job run: close: true delivers before withLogging resolves', async () => {
    const server = await startServer();
    const logger = winston.createLogger({ level: 'info', transports: [memoryTransport().transport] });

    for (const run of [1, 2]) {
      const { transport } = recordingTransport(
        optionsFor(server, { capacity: 1000, subject: `Nightly job, run ${run}` }),
      );
      await withLogging(logger, { transports: [transport], close: true }, async () => {
        logger.info(`run ${run}: started`);
        await new Promise((resolve) => setImmediate(resolve));
        logger.info(`run ${run}: finished`);
      });
      expect(server.mails).toHaveLength(run);
    }

    expect(server.mails.map((mail) => mail.parsed.subject)).toEqual(['Nightly job, run 1', 'Nightly job, run 2']);
    expect(server.mails.map((mail) => bodyLines(mail).map((line) => line.replace(/^\S+ INFO {2}/, '')))).toEqual([
      ['run 1: started', 'run 1: finished'],
      ['run 2: started', 'run 2: finished'],
    ]);
  });

  test('an unknown level is refused before anything changes', async () => {
    const logger = winston.createLogger({ level: 'info', transports: [memoryTransport().transport] });
    await expect(withLogging(logger, { level: 'loud' }, () => undefined)).rejects.toThrow(
      'Expected `level` to be one of the logger\'s levels (error, warn, info, http, verbose, debug, silly), got `"loud"`',
    );
    expect(logger.level).toBe('info');
  });
});
