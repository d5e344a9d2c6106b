import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFixture } from '../helpers/child';
import { bodyLines, childEnv, futureServer, startServer } from '../helpers/smtp';

describe('a process that ends on its own', () => {
  test('logs 7 entries (capacity 10), returns from main, and still delivers one mail with the 7 lines', async () => {
    const server = await startServer();
    const result = await runFixture('log-and-return.ts', childEnv(server));

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('mail accepted: 7 entries\n');
    expect(server.mails).toHaveLength(1);
    expect(bodyLines(server.mails[0]!).map((line) => line.replace(/^\S+ INFO {2}/, ''))).toEqual([
      'entry 0',
      'entry 1',
      'entry 2',
      'entry 3',
      'entry 4',
      'entry 5',
      'entry 6',
    ]);
  });
});

describe('a process that crashes', () => {
  test.each([
    ['an uncaught exception', 'throw', 'uncaughtException: The ledger went away'],
    ['an unhandled rejection', 'reject', 'unhandledRejection: The ledger went away'],
  ])(
    '%s: the mail with the entries before it and the stack is accepted before winston exits with 1',
    async (_name, how, headline) => {
      const server = await startServer();
      const result = await runFixture('log-and-throw.ts', childEnv(server), [how]);

      expect(result.status).toBe(1);
      // Printed by the child on the 'mail' event: the server accepted the mail before the exit.
      expect(result.stdout).toBe('mail accepted: 4 entries\n');
      expect(server.mails).toHaveLength(1);
      const lines = bodyLines(server.mails[0]!);
      expect(lines.slice(0, 3).map((line) => line.replace(/^\S+ /, ''))).toEqual([
        'INFO  starting the import',
        'WARN  row 17 has no price',
        'INFO  row 18 parsed',
      ]);
      expect(lines[3]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ERROR ${headline}$`));
      expect(lines[4]).toBe('Error: The ledger went away');
      expect(lines[5]).toMatch(/^ {4}at .*log-and-throw\.ts/);
    },
  );
});

describe('spoolDir', () => {
  // The folder is passed to the child processes, which write in it; the test removes it after.
  let spool: string;
  beforeEach(() => {
    spool = mkdtempSync(join(tmpdir(), 'wbm-spool-run-'));
  });
  afterEach(() => rmSync(spool, { recursive: true, force: true }));

  test('a process that ends during an outage leaves its mail in the spool; the next one delivers it', async () => {
    const future = await futureServer();
    const env = { ...childEnv(future), WBM_SPOOL: spool };

    const outage = await runFixture('spool-run.ts', env, ['7']);
    expect(outage.status).toBe(0);
    // Three tries refused, then the mail is kept: the connection's code, not a timeout of the close.
    expect(outage.stdout).toBe('warn ESOCKET: 7\n');
    expect(readdirSync(spool).filter((name) => name.endsWith('.mail.json'))).toHaveLength(1);

    const server = await future.start();
    const recovery = await runFixture('spool-run.ts', env, ['0']);
    expect(recovery.stdout).toBe('mail: 7\n');
    expect(recovery.status).toBe(0);
    expect(server.mails).toHaveLength(1);
    expect(bodyLines(server.mails[0]!).map((line) => line.replace(/^\S+ INFO {2}/, ''))).toEqual(
      Array.from({ length: 7 }, (_, index) => `spooled entry ${index}`),
    );
    expect(readdirSync(spool)).toEqual([]);
  });

  test('a crash during an outage leaves the crash mail in the spool', async () => {
    const env = { ...childEnv(await futureServer()), WBM_SPOOL: spool };

    const crash = await runFixture('crash-during-outage.ts', env);
    expect(crash.status).toBe(1);
    expect(crash.stdout).toBe('warn EEXIT: 3\n');
    const files = readdirSync(spool).filter((name) => name.endsWith('.mail.json'));
    expect(files).toHaveLength(1);
    const spooled = JSON.parse(readFileSync(join(spool, files[0]!), 'utf8')) as { text: string; count: number };
    expect(spooled.count).toBe(3);
    expect(spooled.text).toMatch(
      /INFO {2}order 1 received\n.*INFO {2}order 1 charged\n.*ERROR uncaughtException: ledger unreachable\nError: ledger unreachable\n/s,
    );
  });
});
