import winston from 'winston';
import { withLogging } from '../../src';
import { memoryTransport } from '../helpers/memory-transport';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { bodyLines, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

describe('withLogging with a mail transport', () => {
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
      expect(transport.stats()).toMatchObject({ entriesLogged: 2, entriesMailed: 2, entriesPending: 0 });
      expectEveryEntryAccounted(transport);
    }

    expect(server.mails.map((mail) => mail.parsed.subject)).toEqual(['Nightly job, run 1', 'Nightly job, run 2']);
    expect(server.mails.map((mail) => bodyLines(mail).map((line) => line.replace(/^\S+ INFO {2}/, '')))).toEqual([
      ['run 1: started', 'run 1: finished'],
      ['run 2: started', 'run 2: finished'],
    ]);
  });
});
