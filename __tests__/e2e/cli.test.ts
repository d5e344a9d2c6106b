import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '../helpers/child';
import { bodyLines, startServer, type LocalSmtpServer } from '../helpers/smtp';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A fresh folder for one test, removed after it. */
function createFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'wbm-cli-'));
  folders.push(folder);
  return folder;
}

/** The server's certificate in a file, for --ca. */
function caFileFor(server: LocalSmtpServer): string {
  const file = join(createFolder(), 'ca.pem');
  writeFileSync(file, server.ca);
  return file;
}

const cli = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  runNode(['src/cli.ts', ...args], env, cwd);

describe('winston-buffered-mail command line', () => {
  test('--help prints the usage and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('winston-buffered-mail send HOST USER PASSWORD TO SENDER');
    expect(result.stderr).toBe('');
  });

  test.each([
    [[], 'a command is required'],
    [['launch'], 'unknown command "launch"'],
    [['send', 'host', 'user'], 'send expects HOST USER PASSWORD TO SENDER, or --config FILE.json, got 2 arguments'],
    [['send', '--config', '/nonexistent.json'], '--config: cannot read /nonexistent.json: ENOENT'],
    [
      ['send', 'h', 'u', 'p', 'to@example.com', 'from@example.com', '--count', 'many'],
      '--count expects a positive integer, got "many"',
    ],
    [['send', 'h', 'u', 'p', 'to@example.com', 'from@example.com', '--colour'], 'unknown option "--colour" for send'],
    [
      ['send', 'h', 'u', 'p', 'nobody', 'from@example.com'],
      'Expected `to` to be an e-mail address, got `"nobody"` (string)',
    ],
  ])('%j is a usage error: exit 2, the reason and where the usage is on stderr', async (args, reason) => {
    const result = await cli(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(reason);
    expect(result.stderr).toMatch(/\nRun "winston-buffered-mail (send )?--help" for the usage\.\n$/);
  });

  test('send delivers --count entries in batches of --capacity, trusting --ca, and exits 0', async () => {
    const server = await startServer();
    const caFile = caFileFor(server);
    const { user, pass } = server.credentials;
    const result = await cli(
      [
        'send',
        server.host,
        user,
        '-',
        'ops@example.com',
        'app@example.com',
        '--port',
        String(server.port),
        '--ca',
        caFile,
        '--count',
        '25',
        '--capacity',
        '10',
        '--subject',
        'CLI check',
      ],
      { SMTP_PASSWORD: pass },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `Sent 25 log entries in 3 mails to ops@example.com through ${server.host}:${server.port}\n`,
    );
    expect(server.mails.map((mail) => bodyLines(mail).length)).toEqual([10, 10, 5]);
    expect(server.mails.every((mail) => mail.secure && mail.user === user && mail.parsed.subject === 'CLI check')).toBe(
      true,
    );
    expect(bodyLines(server.mails[2]!).at(-1)).toMatch(/Z INFO {2}Info index = 24$/);
  });

  test('send --config FILE.json, with the password from LOG_MAIL_SMTP_PASS', async () => {
    const server = await startServer();
    const folder = createFolder();
    const config = join(folder, 'mail.json');
    writeFileSync(
      config,
      JSON.stringify({
        smtp: { host: server.host, port: server.port, auth: { user: server.credentials.user }, tls: { ca: server.ca } },
        from: 'app@example.com',
        to: ['ops@example.com'],
        subject: 'From the config file',
        capacity: 4,
      }),
    );
    const result = await cli(['send', '--config', config, '--count', '6'], {
      LOG_MAIL_SMTP_PASS: server.credentials.pass,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(server.mails.map((mail) => [mail.parsed.subject, bodyLines(mail).length])).toEqual([
      ['From the config file', 4],
      ['From the config file', 2],
    ]);
  });

  test('send exits 1 with a one-line reason, without the password, when the login is refused', async () => {
    const server = await startServer();
    const caFile = caFileFor(server);
    const result = await cli([
      'send',
      server.host,
      'demo',
      'Not-The-Password',
      'ops@example.com',
      'app@example.com',
      '--port',
      String(server.port),
      '--ca',
      caFile,
      '--count',
      '3',
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Failed: 3 of 3 log entries were not accepted \(EAUTH: /);
    expect(result.stderr).not.toContain('Not-The-Password');
    expect(server.mails).toEqual([]);
  });

  test('demo runs the seed scenario on an embedded server, writes the 11 mails to ./demo-mail/ and exits 0', async () => {
    // Run from a folder of the test's own, so that demo-mail/ is written there and removed with it.
    const folder = createFolder();
    const result = await cli(['demo'], {}, folder);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('The server received 11 mails:');
    expect(result.stdout).toContain('OK: all 102 lines arrived once, in order, with UTC timestamps');
    expect(readdirSync(join(folder, 'demo-mail')).sort()).toEqual(
      Array.from({ length: 11 }, (_, index) => `${String(index + 1).padStart(2, '0')}.eml`),
    );
  });
});
