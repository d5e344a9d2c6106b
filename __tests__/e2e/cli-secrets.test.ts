import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode, type ChildResult } from '../helpers/child';

const USER = 'demo';
const PASS = 'S3cret-Pass-9f';
const NUMERIC_PASS = '907311455';
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '');
const SECRET_FORMS = [
  PASS,
  base64(PASS),
  base64(`\u0000${USER}\u0000${PASS}`),
  base64(`${USER}\u0000${USER}\u0000${PASS}`),
  encodeURIComponent(PASS),
  NUMERIC_PASS,
];

let folder: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'wbm-cli-secrets-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

let files = 0;

/** Writes `lines` to a new file of the temporary folder; returns its path. */
function configFile(lines: readonly string[]): string {
  const file = join(folder, `config-${++files}.json`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

// The variables a developer's shell may hold would change what the command reads.
const cleanEnv = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => name.startsWith('LOG_MAIL_') || name === 'SMTP_PASSWORD')
    .map((name) => [name, '']),
);

function cli(args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return runNode(['src/cli.ts', ...args], { ...cleanEnv, ...env });
}

/** A usage error: exit 2, nothing on stdout, `reason` and where the usage is on stderr, and no form of the password. */
function expectUsageError(result: ChildResult, reason: string): void {
  expect(SECRET_FORMS.filter((form) => result.stderr.includes(form))).toEqual([]);
  expect(result.stderr).toContain(`winston-buffered-mail: ${reason}\n`);
  expect(result.stderr).toContain('--help" for the usage.');
  expect(result.stdout).toBe('');
  expect(result.status).toBe(2);
}

const HEAD = ['{', '  "smtp": {', '    "host": "relay.internal.example",'];
const TAIL = ['  },', '  "from": "app@example.com",', '  "to": "ops@example.com"', '}'];

describe('send --config with a file that is not JSON: where, never what', () => {
  test.each<[string, string[], string]>([
    [
      'an unquoted password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": ${PASS} }`, ...TAIL],
      'Unexpected character at line 4, column 39',
    ],
    [
      'a trailing comma after the password',
      [...HEAD, '    "auth": {', `      "user": "${USER}",`, `      "pass": "${PASS}",`, '    }', ...TAIL],
      'Expected double-quoted property name at line 7, column 5',
    ],
    [
      'a missing comma after the password',
      [...HEAD, '    "auth": {', `      "pass": "${PASS}"`, `      "user": "${USER}"`, '    }', ...TAIL],
      "Expected ',' or '}' after property value at line 6, column 7",
    ],
    [
      'a single-quoted password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": '${PASS}' }`, ...TAIL],
      'Unexpected character at line 4, column 39',
    ],
    [
      'a line break inside the password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": "S3cret-`, `Pass-9f" }`, ...TAIL],
      'Bad control character in string literal at line 4, column 47',
    ],
    [
      'a comment after the password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": "${PASS}" } // ${PASS}`, ...TAIL],
      "Expected ',' or '}' after property value at line 4, column 58",
    ],
    [
      'a file cut just after the password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": "${PASS}"`],
      "Expected ',' or '}' after property value at line 4, column 55",
    ],
    [
      'a file cut inside the password',
      [...HEAD, `    "auth": { "user": "${USER}", "pass": "${PASS.slice(0, 6)}`],
      'Unterminated string at line 4, column 46',
    ],
  ])('%s', async (_what, lines, where) => {
    const file = configFile(lines);
    const result = await cli(['send', '--config', file]);
    expectUsageError(result, `--config: ${file} is not valid JSON: ${where}`);
    // Not a line of the file, let alone the password, is shown.
    const shown = lines.map((line) => line.trim()).filter((line) => line.length > 3 && result.stderr.includes(line));
    expect(shown).toEqual([]);
  });
});

describe('send --config with JSON of the wrong shape names the option, never the password', () => {
  const smtp = (auth: string) => [...HEAD, `    "auth": ${auth}`, ...TAIL];

  test.each<[string, string[], string]>([
    [
      'a number as the password',
      smtp(`{ "user": "${USER}", "pass": ${NUMERIC_PASS} }`),
      'Expected `smtp.auth.pass` to be a non-empty string',
    ],
    [
      'the password in an array',
      smtp(`{ "user": "${USER}", "pass": ["${PASS}"] }`),
      'Expected `smtp.auth.pass` to be a non-empty string',
    ],
    [
      'the password under another name',
      smtp(`{ "user": "${USER}", "password": "${PASS}" }`),
      'Unknown option `smtp.auth.password`; did you mean `smtp.auth.pass`?',
    ],
    [
      '`user:password` as `smtp.auth`',
      smtp(`"${USER}:${PASS}"`),
      'Expected `smtp.auth` to be an object with `user` and `pass`, got a string (not shown: it may hold a password)',
    ],
    [
      'a connection URL as `smtp`',
      ['{', `  "smtp": "smtps://${USER}:${PASS}@relay.internal.example:465",`, ...TAIL.slice(1)],
      'Expected `smtp` to be an object with at least `host`, got a string (not shown: it may hold a password)',
    ],
    [
      'a connection URL as `smtp.host`',
      ['{', '  "smtp": {', `    "host": "smtp://${USER}:${PASS}@relay.internal.example",`, '    "port": 587', ...TAIL],
      'Expected `smtp.host` to be a host name or an IP address, not a URL, got a string (not shown: it may hold a password)',
    ],
  ])('%s', async (_what, lines, reason) => {
    const result = await cli(['send', '--config', configFile(lines)]);
    expectUsageError(result, reason);
  });
});

describe('passwords from the environment are not shown by errors in other options', () => {
  const config = () =>
    configFile(['{', '  "smtp": { "host": "relay.internal.example" },', '  "from": "app@example.com"', '}']);

  test('LOG_MAIL_SMTP_PASS, with `to` missing', async () => {
    const result = await cli(['send', '--config', config()], { LOG_MAIL_SMTP_USER: USER, LOG_MAIL_SMTP_PASS: PASS });
    expectUsageError(
      result,
      'Expected `to` to be an e-mail address or a non-empty array of them, got `undefined` (undefined)',
    );
  });

  test('LOG_MAIL_SMTP_PASS, with a malformed LOG_MAIL_SMTP_PORT', async () => {
    const result = await cli(['send', '--config', config()], {
      LOG_MAIL_SMTP_PASS: PASS,
      LOG_MAIL_SMTP_PORT: '58x',
      LOG_MAIL_TO: 'ops@example.com',
    });
    expectUsageError(result, 'Expected `LOG_MAIL_SMTP_PORT` to be a whole number, got "58x"');
  });

  test('a connection URL in LOG_MAIL_SMTP_HOST', async () => {
    const result = await cli(['send', '--config', config()], {
      LOG_MAIL_SMTP_HOST: `smtps://${USER}:${PASS}@relay.internal.example`,
      LOG_MAIL_TO: 'ops@example.com',
    });
    expectUsageError(
      result,
      'Expected `smtp.host` to be a host name or an IP address, not a URL, got a string (not shown: it may hold a password)',
    );
  });

  test('SMTP_PASSWORD for "-", with an address that is none', async () => {
    const result = await cli(['send', 'relay.internal.example', USER, '-', 'nobody', 'app@example.com'], {
      SMTP_PASSWORD: PASS,
    });
    expectUsageError(result, 'Expected `to` to be an e-mail address, got `"nobody"` (string)');
  });
});
