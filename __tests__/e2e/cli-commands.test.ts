import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferedMailTransport } from '../../src';
import { runNode, type ChildResult } from '../helpers/child';
import { deadPort } from '../helpers/ports';
import { bodyLines, startServer, type LocalSmtpServer } from '../helpers/smtp';

const PASS = 'S3cret-Pass-9f';
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string })
  .version;

// The variables a developer's shell may hold would change what the command reads.
const cleanEnv = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => name.startsWith('LOG_MAIL_') || name === 'SMTP_PASSWORD')
    .map((name) => [name, '']),
);

function cli(args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return runNode(['src/cli.ts', ...args], { ...cleanEnv, ...env });
}

let folder: string;
let server: LocalSmtpServer;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'wbm-cli-commands-'));
  server = await startServer({ credentials: { user: 'demo', pass: PASS } });
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

let files = 0;

/** A config file for `port`, without the password, which comes from LOG_MAIL_SMTP_PASS. */
function configFile(port: number, extra: Record<string, unknown> = {}): string {
  const file = join(folder, `config-${++files}.json`);
  const options = {
    smtp: { host: '127.0.0.1', port, auth: { user: 'demo' }, tls: { ca: server.ca } },
    from: 'app@example.com',
    to: 'ops@example.com',
    ...extra,
  };
  writeFileSync(file, JSON.stringify(options));
  return file;
}

/** One line on stderr, exit 1, and no form of the password. */
function expectFailure(result: ChildResult): string {
  expect(result.stdout).toBe('');
  expect(result.status).toBe(1);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toContain(PASS);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  return result.stderr;
}

describe('--version and --help', () => {
  test('--version prints the version of the package', async () => {
    const result = await cli(['--version']);
    expect(result).toMatchObject({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  test('--help lists every command', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['send', 'send-test', 'verify', 'demo']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command} {2,}\\S`, 'm'));
    }
    expect(result.stdout).toContain('winston-buffered-mail --version');
  });

  test.each([
    ['send', '--help', 'send HOST USER PASSWORD TO SENDER [options]'],
    ['send-test', '-h', 'send-test [--config FILE.json] [options]'],
    ['verify', '--help', 'verify [--config FILE.json] [options]'],
    ['demo', '--help', 'demo\n'],
  ])('%s %s prints the usage of the command', async (command, flag, synopsis) => {
    const result = await cli([command, flag]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.startsWith(`Usage:\n  winston-buffered-mail ${synopsis}`)).toBe(true);
    expect(result.stdout).toContain('--help, -h');
  });
});

describe('bad arguments: one line that says what is wrong, one that says where the usage is, exit 2', () => {
  test.each([
    [['verify', '--colour'], 'unknown option "--colour" for verify', 'verify --help'],
    [['send-test', `--pass=${PASS}`], 'unknown option "--pass" for send-test', 'send-test --help'],
    [['send', '--config'], '--config expects a value', 'send --help'],
    [['verify', '--secure=yes'], '--secure takes no value', 'verify --help'],
    [['deploy'], 'unknown command "deploy"', '--help'],
    [['--colour'], 'unknown option "--colour"', '--help'],
    [
      ['verify'],
      'verify needs an SMTP server: --config FILE.json, the LOG_MAIL_* variables (at least LOG_MAIL_SMTP_HOST), or HOST USER PASSWORD TO SENDER',
      'verify --help',
    ],
  ])('%j', async (args, reason, help) => {
    const result = await cli(args);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `winston-buffered-mail: ${reason}\nRun "winston-buffered-mail ${help}" for the usage.\n`,
    );
    expect(result.status).toBe(2);
  });
});

describe('verify', () => {
  test('logs in over STARTTLS with the config file and LOG_MAIL_SMTP_PASS, sends nothing, exits 0', async () => {
    const mails = server.mails.length;
    const result = await cli(['verify', '--config', configFile(server.port)], { LOG_MAIL_SMTP_PASS: PASS });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `Verified 127.0.0.1:${server.port}: connected, STARTTLS, certificate trusted, logged in as demo; no mail sent\n`,
    );
    expect(result.status).toBe(0);
    expect(server.mails).toHaveLength(mails);
    expect(server.authAttempts).toContainEqual({ username: 'demo', secure: true, accepted: true });
  });

  test('a refused login: exit 1 with the reason and the option to fix, without the password', async () => {
    const result = await cli(['verify', '--config', configFile(server.port)], {
      LOG_MAIL_SMTP_PASS: `${PASS}-wrong`,
    });
    const line = expectFailure(result);
    expect(line).toMatch(
      new RegExp(
        `^Failed: EAUTH: Could not verify 127\\.0\\.0\\.1:${server.port}: Invalid login: 535 .*\`smtp\\.auth\\.pass\``,
      ),
    );
  });

  test('a port where nothing listens: exit 1 naming ECONNREFUSED and host:port', async () => {
    const port = await deadPort();
    const line = expectFailure(await cli(['verify', '--config', configFile(port)], { LOG_MAIL_SMTP_PASS: PASS }));
    expect(line).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

test("verify and send-test leave the application's spool alone", async () => {
  const spoolDir = join(folder, 'spool');
  // A mail the application could not deliver, kept for its next start.
  const outage = new BufferedMailTransport({
    smtp: { host: '127.0.0.1', port: await deadPort(), auth: { user: 'demo', pass: PASS } },
    from: 'app@example.com',
    to: 'ops@example.com',
    retry: false,
    spoolDir,
  });
  outage.write({ level: 'info', message: 'kept for the next start', [Symbol.for('level')]: 'info' });
  await outage.flush();
  await outage.close();
  const spooled = readdirSync(spoolDir).filter((name) => name.endsWith('.mail.json'));
  expect(spooled).toHaveLength(1);

  const config = configFile(server.port, { spoolDir });
  const mails = server.mails.length;
  expect((await cli(['verify', '--config', config], { LOG_MAIL_SMTP_PASS: PASS })).status).toBe(0);
  expect(server.mails).toHaveLength(mails);
  expect((await cli(['send-test', '--config', config], { LOG_MAIL_SMTP_PASS: PASS })).status).toBe(0);
  expect(server.mails).toHaveLength(mails + 1);
  expect(server.mails[mails]?.parsed.text).not.toContain('kept for the next start');
  expect(readdirSync(spoolDir).filter((name) => name.endsWith('.mail.json'))).toEqual(spooled);
});

describe('send-test', () => {
  test('mails one sample of several levels, rendered with the settings, whatever else they say', async () => {
    // Settings an application may well have, none of which may keep the sample from going at once.
    const config = configFile(server.port, {
      html: true,
      level: 'error',
      mode: 'context',
      flushLevel: 'crit',
      capacity: 2,
      maxBufferedEntries: 2,
      spoolDir: join(folder, 'spool-not-created'),
    });
    const mails = server.mails.length;
    const result = await cli(['send-test', '--config', config], { LOG_MAIL_SMTP_PASS: PASS });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `Sent a sample log mail (5 entries) to ops@example.com through 127.0.0.1:${server.port}\n`,
    );
    expect(result.status).toBe(0);

    expect(server.mails).toHaveLength(mails + 1);
    const mail = server.mails[mails]!;
    expect(mail).toMatchObject({ secure: true, user: 'demo' });
    expect(mail.parsed.subject).toMatch(/^\[ERROR\] 5 log entries from .*: could not write the nightly export/);
    const levels = bodyLines(mail)
      .map((line) => /^\S+Z (\w+) /.exec(line)?.[1])
      .filter((level) => level !== undefined);
    expect(levels).toEqual(['INFO', 'DEBUG', 'INFO', 'WARN', 'ERROR']);
    expect(mail.parsed.text).toContain('Error: could not write the nightly export: disk quota exceeded\n    at ');
    expect(mail.parsed.html).toEqual(expect.stringContaining('payment provider answered slowly'));
  });

  test('a port where nothing listens: exit 1 at the first failure, naming ECONNREFUSED', async () => {
    const port = await deadPort();
    const result = await cli(['send-test', '--config', configFile(port)], { LOG_MAIL_SMTP_PASS: PASS });
    const line = expectFailure(result);
    expect(line).toMatch(/^Failed: the sample log mail was not accepted \(\w+: Could not mail 5 log entries/);
    expect(line).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});
