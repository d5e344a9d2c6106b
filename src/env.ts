import { readFileSync } from 'node:fs';
import { resolveOptions, type BufferedMailTransportOptions } from './options';

type Kind = 'string' | 'integer' | 'boolean' | 'list' | 'file' | 'level-or-false';

/** Each variable (after the prefix), the option it sets, and how its text is read. */
const VARIABLES: ReadonlyArray<readonly [name: string, path: string, kind: Kind]> = [
  ['SMTP_HOST', 'smtp.host', 'string'],
  ['SMTP_PORT', 'smtp.port', 'integer'],
  ['SMTP_SECURE', 'smtp.secure', 'boolean'],
  ['SMTP_USER', 'smtp.auth.user', 'string'],
  ['SMTP_PASS', 'smtp.auth.pass', 'string'],
  ['SMTP_CA_FILE', 'smtp.tls.ca', 'file'],
  ['SMTP_SERVERNAME', 'smtp.tls.servername', 'string'],
  ['SMTP_REJECT_UNAUTHORIZED', 'smtp.tls.rejectUnauthorized', 'boolean'],
  ['SMTP_MIN_VERSION', 'smtp.tls.minVersion', 'string'],
  ['SMTP_NAME', 'smtp.name', 'string'],
  ['SMTP_CONNECTION_TIMEOUT_MS', 'smtp.connectionTimeoutMs', 'integer'],
  ['SMTP_GREETING_TIMEOUT_MS', 'smtp.greetingTimeoutMs', 'integer'],
  ['SMTP_SOCKET_TIMEOUT_MS', 'smtp.socketTimeoutMs', 'integer'],
  ['FROM', 'from', 'string'],
  ['TO', 'to', 'list'],
  ['CC', 'cc', 'list'],
  ['BCC', 'bcc', 'list'],
  ['SUBJECT', 'subject', 'string'],
  ['CAPACITY', 'capacity', 'integer'],
  ['LEVEL', 'level', 'string'],
  ['FLUSH_INTERVAL_MS', 'flushIntervalMs', 'integer'],
  ['FLUSH_LEVEL', 'flushLevel', 'level-or-false'],
  ['MODE', 'mode', 'string'],
  ['FLUSH_ON_EXIT', 'flushOnExit', 'boolean'],
  ['CLOSE_TIMEOUT_MS', 'closeTimeoutMs', 'integer'],
  ['MAX_BUFFERED_BYTES', 'maxBufferedBytes', 'integer'],
  ['MAX_BUFFERED_ENTRIES', 'maxBufferedEntries', 'integer'],
  ['RETRY_ATTEMPTS', 'retry.attempts', 'integer'],
  ['RETRY_MIN_DELAY_MS', 'retry.minDelayMs', 'integer'],
  ['RETRY_MAX_DELAY_MS', 'retry.maxDelayMs', 'integer'],
  ['RATE_LIMIT_MAILS', 'rateLimit.mails', 'integer'],
  ['RATE_LIMIT_PER_MS', 'rateLimit.perMs', 'integer'],
  ['SPOOL_DIR', 'spoolDir', 'string'],
  ['JOURNAL', 'journal', 'boolean'],
  ['HTML', 'html', 'boolean'],
  ['ATTACH_JSON', 'attachJson', 'boolean'],
  ['MAX_LINE_BYTES', 'maxLineBytes', 'integer'],
  ['MAX_MAIL_BYTES', 'maxMailBytes', 'integer'],
];

const SECRET = 'SMTP_PASS';

function parse(variable: string, text: string, kind: Kind, secret: boolean): unknown {
  const shown = secret ? '' : `, got "${text}"`;
  switch (kind) {
    case 'integer':
      if (!/^\d+$/.test(text.trim())) throw new TypeError(`Expected \`${variable}\` to be a whole number${shown}`);
      return Number(text.trim());
    case 'boolean': {
      const value = text.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(value)) return true;
      if (['false', '0', 'no'].includes(value)) return false;
      throw new TypeError(`Expected \`${variable}\` to be true or false${shown}`);
    }
    case 'level-or-false':
      return text.trim().toLowerCase() === 'false' ? false : text;
    case 'list':
      return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'file':
      try {
        return readFileSync(text, 'utf8');
      } catch (error) {
        throw new TypeError(
          `Expected \`${variable}\` to name a readable PEM file, got "${text}" (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
          { cause: error },
        );
      }
    default:
      return text;
  }
}

function assign(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1] as string] = value;
}

/** The options that the variables set, parsed but not yet validated as a whole. */
export function readEnvOptions(env: NodeJS.ProcessEnv, prefix: string): Partial<BufferedMailTransportOptions> {
  const options: Record<string, unknown> = {};
  for (const [name, path, kind] of VARIABLES) {
    const variable = `${prefix}${name}`;
    const text = env[variable];
    if (text === undefined || text === '') continue;
    assign(options, path, parse(variable, text, kind, name === SECRET));
  }
  return options;
}

/** Rewrites an option error so that it names the variable to fix. */
function nameVariables(error: unknown, prefix: string): Error {
  const variableFor = new Map<string, string>([
    ['smtp', `${prefix}SMTP_HOST`],
    ['smtp.auth', `${prefix}SMTP_USER`],
    ...VARIABLES.map(([name, path]) => [path, `${prefix}${name}`] as [string, string]),
  ]);
  const message = (error as Error).message.replace(/`([\w.[\]]+)`/g, (quoted, path: string) => {
    const variable = variableFor.get(path.replace(/\[\d+\]$/, ''));
    return variable ? `\`${variable}\`` : quoted;
  });
  return error instanceof RangeError ? new RangeError(message) : new TypeError(message);
}

/**
 * Reads transport options from environment variables, e.g. `LOG_MAIL_SMTP_HOST`,
 * `LOG_MAIL_SMTP_PASS`, `LOG_MAIL_TO` (a comma list), `LOG_MAIL_CAPACITY`, `LOG_MAIL_FLUSH_LEVEL`.
 * Validated as the constructor validates; an error names the variable and never shows the password.
 */
export function optionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  prefix = 'LOG_MAIL_',
): BufferedMailTransportOptions {
  const options = readEnvOptions(env, prefix) as BufferedMailTransportOptions;
  try {
    resolveOptions(options);
  } catch (error) {
    throw nameVariables(error, prefix);
  }
  return options;
}
