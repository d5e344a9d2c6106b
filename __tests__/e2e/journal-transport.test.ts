import winston from 'winston';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { startFixture } from '../helpers/child';
import { bodyLines, childEnv, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

const PER_TURN = 50;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbm-journal-transport-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('journal: true', () => {
  test.each([5, 40])(
    'a logger killed with SIGKILL after %i turns: the next start mails every entry of the turns it completed, first, and says so',
    async (turns) => {
      const server = await startServer();
      const { child, result } = startFixture('journal-logger.ts', { ...childEnv(server), WBM_SPOOL: dir });
      let printed = 0;
      child.stdout?.on('data', (chunk: Buffer) => {
        printed += chunk.toString('utf8').split('\n').length - 1;
        if (printed >= turns) child.kill('SIGKILL');
      });
      const ended = await result;
      expect(ended.signal).toBe('SIGKILL');
      const completed = ended.stdout.split('\n').filter((line) => line !== '');
      const lastTurn = Number(completed[completed.length - 1]);
      expect(server.mails).toHaveLength(0);

      const { transport, warnings } = recordingTransport(
        optionsFor(server, { spoolDir: dir, journal: true, capacity: 1_000_000 }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      await transport.flush();
      await transport.close();

      expect(warnings).toEqual([]);
      expect(server.mails).toHaveLength(1);
      const lines = bodyLines(server.mails[0]!);
      // A kill in the middle of a write leaves its last line torn: skipped, and said.
      expect(lines[0]).toMatch(
        /^\[winston-buffered-mail\] The previous run on .+ \(pid \d+, started .+\) ended without shutting down; \d+ log entries recovered, the last logged at \S+\.(?: 1 damaged line of its journal was skipped\.)?$/,
      );
      const recovered = lines.filter((line) => / INFO {2}entry \d+ /.test(line));
      const numbers = recovered.map((line) => Number(/entry (\d+)/.exec(line)?.[1]));
      // Every entry of the completed turns, in order, once; perhaps some of the turn in progress.
      const expected = (lastTurn + 1) * PER_TURN;
      expect(numbers.slice(0, expected)).toEqual(Array.from({ length: expected }, (_, index) => index));
      expect(numbers.length).toBeLessThanOrEqual(expected + PER_TURN);
      expect(new Set(numbers).size).toBe(numbers.length);
      // The password in the meta never reached the journal.
      expect(lines.join('\n')).not.toContain('hunter2');
      expect(lines.join('\n')).toContain('"password":"[redacted]"');
      expect(transport.stats()).toMatchObject({
        entriesLogged: 0,
        entriesRecovered: numbers.length,
        entriesMailed: numbers.length,
      });
      expectEveryEntryAccounted(transport);
      // Both journals are gone once the entries are mailed and the transport closed.
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  test('entries in a mail on its way when the process was killed are counted as ones that may arrive twice', async () => {
    // A server that takes the mail and never answers: the first batch is in flight when the kill comes.
    const silent = await startServer({
      serverOptions: {
        onData(stream, _session, _callback) {
          stream.resume();
        },
      },
    });
    const { child, result } = startFixture('journal-logger.ts', { ...childEnv(silent), WBM_SPOOL: dir }, ['50']);
    let printed = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8').split('\n').length - 1;
      if (printed >= 20) child.kill('SIGKILL');
    });
    await result;

    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { spoolDir: dir, journal: true, capacity: 1_000_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    await transport.flush();
    await transport.close();
    const notice = bodyLines(server.mails[0]!)[0];
    expect(notice).toMatch(
      // A damaged line, left by a kill in the middle of a write, may be said after it.
      / 50 of them were in a mail on its way to the server when it ended, and may arrive twice\.(?: 1 damaged line of its journal was skipped\.)?$/,
    );
    expect(transport.stats()).toMatchObject({ entriesRecoveredInFlight: 50 });
    expect(transport.stats().entriesRecovered).toBeGreaterThanOrEqual(20 * PER_TURN);
    expectEveryEntryAccounted(transport);
  });

  test('logger.end() with everything delivered removes the journal', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { spoolDir: dir, journal: true }));
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('one');
    logger.info('two');
    await new Promise((resolve) => setImmediate(resolve));
    expect(readdirSync(dir).filter((name) => name.startsWith('journal.'))).toHaveLength(1);
    const finished = new Promise((resolve) => transport.once('finish', resolve));
    logger.end();
    await finished;
    expect(server.mails).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});
