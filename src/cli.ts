#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readEnvOptions } from './env';
import { locateJsonSyntaxError } from './json-syntax';
import type { BufferedMailTransportOptions, SmtpOptions } from './options';
import { BufferedMailTransport, type DeliveryWarning } from './transport';

const PROGRAM = 'winston-buffered-mail';

const SETTINGS = `Settings: the transport's options as JSON in --config FILE.json, and LOG_MAIL_*
variables (LOG_MAIL_SMTP_HOST, LOG_MAIL_SMTP_USER, LOG_MAIL_SMTP_PASS, LOG_MAIL_TO...),
which take precedence over the file. Or HOST USER PASSWORD TO SENDER, where PASSWORD
"-" reads the SMTP_PASSWORD environment variable, which keeps it out of the process
list and the shell history.
`;

const CONNECTION_OPTIONS = `  --config FILE   transport options as JSON
  --port N        SMTP port (default 587, or 465 with --secure)
  --ca FILE       trust the certificate authority in this PEM file
  --secure        implicit TLS, usually with --port 465
  --help, -h      this text
`;

const PROGRAM_USAGE = `Usage:
  ${PROGRAM} send HOST USER PASSWORD TO SENDER [options]
  ${PROGRAM} send --config FILE.json [options]
  ${PROGRAM} send-test [--config FILE.json] [options]
  ${PROGRAM} verify [--config FILE.json] [options]
  ${PROGRAM} demo
  ${PROGRAM} --version
  ${PROGRAM} COMMAND --help

Commands:
  send        log numbered entries and mail them in batches of --capacity
  send-test   mail one sample log mail, to see what a log mail looks like
  verify      connect, upgrade with STARTTLS, check the certificate and log in,
              without sending anything
  demo        run the send scenario against an SMTP server started in this process

${SETTINGS}`;

const SEND_USAGE = `Usage:
  ${PROGRAM} send HOST USER PASSWORD TO SENDER [options]
  ${PROGRAM} send --config FILE.json [options]

Logs --count entries "Info index = N" and mails them in batches of --capacity
through the server, over STARTTLS (or implicit TLS with --secure) with SMTP AUTH.
Exits 0 when every entry was accepted, 1 with the reason when not, 2 on bad arguments.

Options:
  --count N       entries to log (default 102)
  --capacity N    entries per mail (default 10)
  --subject S     subject of each mail
${CONNECTION_OPTIONS}
${SETTINGS}`;

const SEND_TEST_USAGE = `Usage:
  ${PROGRAM} send-test [--config FILE.json] [options]
  ${PROGRAM} send-test HOST USER PASSWORD TO SENDER [options]

Mails one sample log mail, a few entries of several levels rendered with your
settings (subject, html, attachJson...), so that you see what a log mail looks like.
Exits 0 when the server accepted it, 1 with the reason when not, 2 on bad arguments.

Options:
  --subject S     subject of the mail
${CONNECTION_OPTIONS}
${SETTINGS}`;

const VERIFY_USAGE = `Usage:
  ${PROGRAM} verify [--config FILE.json] [options]
  ${PROGRAM} verify HOST USER PASSWORD TO SENDER [options]

Connects to the server, upgrades the connection with STARTTLS (or starts in TLS with
--secure), checks its certificate and logs in (a password or OAuth2), without sending
any mail. Exits 0 when all of that worked, 1 with the reason when not, 2 on bad arguments.

Options:
${CONNECTION_OPTIONS}
${SETTINGS}`;

const DEMO_USAGE = `Usage:
  ${PROGRAM} demo

Runs the send scenario against an SMTP server started in this process, with STARTTLS
and AUTH required and a certificate made for the run, and writes the received mails to
./demo-mail/. Needs the development packages winston, smtp-server, mailparser and
selfsigned.

Options:
  --help, -h      this text
`;

/** An error in the command line or the settings: exit 2, with a hint to the usage. */
class UsageError extends Error {}

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

type Values = Record<string, string | boolean | undefined>;

const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h' } };
const CONNECTION_SPEC: Record<string, OptionSpec> = {
  ...HELP_OPTION,
  config: { type: 'string' },
  port: { type: 'string' },
  ca: { type: 'string' },
  secure: { type: 'boolean' },
};

interface Command {
  usage: string;
  options: Record<string, OptionSpec>;
  run(values: Values, positionals: string[]): Promise<number>;
}

// An unknown option is shown as typed, but no longer than this and without control characters.
function shown(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/**
 * Reads the arguments of a command with our own messages: `util.parseArgs` in strict mode
 * speaks of its own API, and would echo the value given to an unknown option.
 */
function readArguments(command: string, spec: Record<string, OptionSpec>, args: string[]) {
  const { tokens } = parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true });
  const values: Values = {};
  const positionals: string[] = [];
  if (tokens.some((token) => token.kind === 'option' && token.name === 'help' && spec.help !== undefined)) {
    return { help: true, values, positionals };
  }
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const option = spec[token.name];
    if (option === undefined) throw new UsageError(`unknown option "${shown(token.rawName)}" for ${command}`);
    if (option.type === 'string' && token.value === undefined) {
      throw new UsageError(`${token.rawName} expects a value`);
    }
    if (option.type === 'boolean' && token.inlineValue === true) {
      throw new UsageError(`${token.rawName} takes no value`);
    }
    values[token.name] = token.value ?? true;
  }
  return { help: false, values, positionals };
}

function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function readConfig(file: string): Partial<BufferedMailTransportOptions> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`--config: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Node's own message quotes the text around the error, which may be the password.
    const { reason, line, column, offset } = locateJsonSyntaxError(text) ?? { line: 1, column: 1, offset: 0 };
    const what = reason ?? (offset < text.length ? 'Unexpected character' : 'Unexpected end of the file');
    throw new Error(`--config: ${file} is not valid JSON: ${what} at line ${line}, column ${column}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`--config: ${file} must hold an object of transport options`);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A value that is not an object replaces the other whole, so that the validation names it; spread,
// a string would become an object of its characters.
function mergeObjects(base: unknown, override: unknown, nested: readonly string[] = []): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base, ...override };
  for (const key of nested) {
    const value = mergeObjects(base[key], override[key]);
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** Later sources win; the nested SMTP settings are merged field by field. */
function mergeOptions(
  base: Partial<BufferedMailTransportOptions>,
  override: Partial<BufferedMailTransportOptions>,
): Partial<BufferedMailTransportOptions> {
  const smtp = mergeObjects(base.smtp, override.smtp, ['auth', 'tls']) as SmtpOptions | undefined;
  return { ...base, ...override, ...(smtp !== undefined && { smtp }) };
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`--${name} expects a positive integer, got "${shown(value)}"`);
  }
  return number;
}

/** What the options say about where mail goes, for the one-line outcome. */
interface Loaded {
  options: Partial<BufferedMailTransportOptions>;
  /** `host:port`. */
  server: string;
  to: string;
}

/**
 * The transport's options from --config, the LOG_MAIL_* variables, the five arguments and the
 * connection options, in that order of precedence, the last winning; not yet validated.
 */
function loadOptions(command: string, values: Values, positionals: string[], configRequired: boolean): Loaded {
  const config = stringValue(values, 'config');
  if (positionals.length !== 5 && (positionals.length !== 0 || (configRequired && config === undefined))) {
    throw new UsageError(
      `${command} expects HOST USER PASSWORD TO SENDER, or --config FILE.json, got ${positionals.length} arguments`,
    );
  }
  let options: Partial<BufferedMailTransportOptions>;
  try {
    options = mergeOptions(config === undefined ? {} : readConfig(config), readEnvOptions(process.env, 'LOG_MAIL_'));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (positionals.length === 5) {
    const [host, user, passwordArgument, to, sender] = positionals as [string, string, string, string, string];
    const pass = passwordArgument === '-' ? process.env.SMTP_PASSWORD : passwordArgument;
    if (!pass) throw new UsageError('PASSWORD is "-" but the SMTP_PASSWORD environment variable is empty');
    options = mergeOptions(options, { smtp: { host, auth: { user, pass } }, to, from: sender });
  }
  if (options.smtp === undefined && options.transporter === undefined) {
    throw new UsageError(
      `${command} needs an SMTP server: --config FILE.json, the LOG_MAIL_* variables (at least LOG_MAIL_SMTP_HOST), or HOST USER PASSWORD TO SENDER`,
    );
  }
  // An `smtp` that is not an object goes to the validation as it is.
  const smtp: Partial<SmtpOptions> = isPlainObject(options.smtp) ? { ...options.smtp } : {};
  if (typeof values.secure === 'boolean') smtp.secure = values.secure;
  smtp.port = positiveInteger('port', stringValue(values, 'port'), smtp.port ?? (smtp.secure ? 465 : 587));
  const ca = stringValue(values, 'ca');
  if (ca !== undefined) {
    try {
      smtp.tls = { ...smtp.tls, ca: readFileSync(ca, 'utf8') };
    } catch (error) {
      throw new UsageError(`--ca: cannot read ${ca}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return {
    options: { ...options, ...(isPlainObject(options.smtp) && { smtp: smtp as SmtpOptions }) },
    server: `${smtp.host ?? '(no host)'}:${smtp.port}`,
    to: [options.to ?? []].flat().join(', '),
  };
}

/** The transport for a command; an option the validation refuses is a usage error. */
function createTransport(
  command: string,
  options: Partial<BufferedMailTransportOptions>,
  overrides: Partial<BufferedMailTransportOptions>,
): BufferedMailTransport {
  try {
    return new BufferedMailTransport({
      ...options,
      from: options.from as string,
      to: options.to as string[],
      // The commands write to the transport directly, with no logger whose levels a `level`
      // would be judged by.
      level: undefined,
      silent: false,
      flushOnExit: false,
      ...overrides,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One line, whatever the server said. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function reasonOf(warning: DeliveryWarning | undefined): string {
  if (!warning) return 'no mail was accepted';
  return oneLine(`${warning.code ? `${warning.code}: ` : ''}${warning.message}`);
}

const LEVEL = Symbol.for('level');

/** Writes the entries to the transport, ends it and closes it; resolves to what it reported. */
async function deliver(
  transport: BufferedMailTransport,
  entries: Array<Record<string | symbol, unknown>>,
): Promise<{ mailed: number; mails: number; warnings: DeliveryWarning[] }> {
  const warnings: DeliveryWarning[] = [];
  let mailed = 0;
  let mails = 0;
  transport.on('warn', (warning) => warnings.push(warning));
  transport.on('mail', ({ count }) => {
    mailed += count;
    mails++;
  });
  for (const entry of entries) transport.write(entry);
  await new Promise<void>((resolve) => transport.end(resolve));
  await transport.close();
  return { mailed, mails, warnings };
}

async function send(values: Values, positionals: string[]): Promise<number> {
  const { options, server, to } = loadOptions('send', values, positionals, true);
  const count = positiveInteger('count', stringValue(values, 'count'), 102);
  const capacity = positiveInteger('capacity', stringValue(values, 'capacity'), options.capacity ?? 10);
  const subject = stringValue(values, 'subject');
  const transport = createTransport('send', options, {
    capacity,
    // The count and the capacity were chosen on the command line: send exactly those mails,
    // and hold all the entries, which are logged faster than any server takes them.
    rateLimit: false,
    maxBufferedEntries: Math.max(count, capacity),
    maxBufferedBytes: Number.MAX_SAFE_INTEGER,
    ...(subject !== undefined && { subject }),
  });
  const entries = Array.from({ length: count }, (_, index) => ({
    level: 'info',
    message: `Info index = ${index}`,
    [LEVEL]: 'info',
  }));
  const { mailed, mails, warnings } = await deliver(transport, entries);
  if (mailed === count) {
    process.stdout.write(`Sent ${count} log entries in ${mails} mails to ${to} through ${server}\n`);
    return 0;
  }
  process.stderr.write(
    `Failed: ${count - mailed} of ${count} log entries were not accepted (${reasonOf(warnings[0])})\n`,
  );
  return 1;
}

/** A few entries of several levels, as an application logs them. */
function sampleEntries(): Array<Record<string | symbol, unknown>> {
  const failure = new Error('could not write the nightly export: disk quota exceeded');
  return [
    {
      level: 'info',
      message: `Sample log mail from ${PROGRAM} send-test: this is what a log mail looks like`,
      [LEVEL]: 'info',
    },
    { level: 'debug', message: 'cache warmed', keys: 1280, durationMs: 42, [LEVEL]: 'debug' },
    { level: 'info', message: 'order paid', orderId: 1042, amountCents: 12900, [LEVEL]: 'info' },
    { level: 'warn', message: 'payment provider answered slowly', latencyMs: 2380, [LEVEL]: 'warn' },
    { level: 'error', message: failure.message, stack: failure.stack, job: 'nightly-export', [LEVEL]: 'error' },
  ];
}

async function sendTest(values: Values, positionals: string[]): Promise<number> {
  const { options, server, to } = loadOptions('send-test', values, positionals, false);
  const entries = sampleEntries();
  const subject = stringValue(values, 'subject');
  const transport = createTransport('send-test', options, {
    // One mail, at once, tried once: the answer is for a person waiting at the terminal, and a
    // sample has no business in the spool that the application will deliver from.
    capacity: entries.length,
    mode: 'batch',
    flushLevel: false,
    flushIntervalMs: undefined,
    maxBufferedEntries: undefined,
    rateLimit: false,
    retry: false,
    spoolDir: undefined,
    ...(subject !== undefined && { subject }),
  });
  const { mailed, warnings } = await deliver(transport, entries);
  if (mailed === entries.length) {
    process.stdout.write(`Sent a sample log mail (${entries.length} entries) to ${to} through ${server}\n`);
    return 0;
  }
  process.stderr.write(`Failed: the sample log mail was not accepted (${reasonOf(warnings[0])})\n`);
  return 1;
}

async function verify(values: Values, positionals: string[]): Promise<number> {
  const { options, server } = loadOptions('verify', values, positionals, false);
  // Mails kept in the spool by the application are not for a check to send.
  const transport = createTransport('verify', options, { spoolDir: undefined });
  try {
    await transport.verify();
  } catch (error) {
    const { code, message } = error as DeliveryWarning;
    process.stderr.write(`Failed: ${oneLine(`${code ? `${code}: ` : ''}${message}`)}\n`);
    return 1;
  } finally {
    await transport.close();
  }
  const smtp: Partial<SmtpOptions> = isPlainObject(options.smtp) ? options.smtp : {};
  const login = smtp.auth ? `, logged in as ${smtp.auth.user}${smtp.auth.type === 'OAuth2' ? ' with OAuth2' : ''}` : '';
  const tls = smtp.secure === true ? 'TLS' : 'STARTTLS';
  const certificate =
    smtp.tls?.rejectUnauthorized === false
      ? 'certificate NOT checked (`smtp.tls.rejectUnauthorized` is false)'
      : 'certificate trusted';
  process.stdout.write(`Verified ${server}: connected, ${tls}, ${certificate}${login}; no mail sent\n`);
  return 0;
}

async function demo(_values: Values, positionals: string[]): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`demo takes no arguments, got "${shown(positionals[0] ?? '')}"`);
  let runDemo: typeof import('./demo').runDemo;
  try {
    // Loaded only for this command: the demo needs development packages a user may not have.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ runDemo } = require('./demo') as typeof import('./demo'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      'The demo needs the development packages winston, smtp-server, mailparser and selfsigned: npm install --save-dev winston smtp-server mailparser selfsigned\n',
    );
    return 1;
  }
  return (await runDemo()) ? 0 : 1;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  send: {
    usage: SEND_USAGE,
    options: {
      ...CONNECTION_SPEC,
      count: { type: 'string' },
      capacity: { type: 'string' },
      subject: { type: 'string' },
    },
    run: send,
  },
  'send-test': { usage: SEND_TEST_USAGE, options: { ...CONNECTION_SPEC, subject: { type: 'string' } }, run: sendTest },
  verify: { usage: VERIFY_USAGE, options: CONNECTION_SPEC, run: verify },
  demo: { usage: DEMO_USAGE, options: HELP_OPTION, run: demo },
};

/** The version in package.json, one folder up from this file in `src/` and in `dist/` alike. */
function readVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error('package.json has no version');
  return manifest.version;
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(PROGRAM_USAGE);
      return 0;
    }
    if (name === '--version' || name === '-v') {
      process.stdout.write(`${readVersion()}\n`);
      return 0;
    }
    if (name === undefined) throw new UsageError('a command is required');
    command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) {
      throw new UsageError(
        name.startsWith('-') ? `unknown option "${shown(name)}"` : `unknown command "${shown(name)}"`,
      );
    }
    const { help, values, positionals } = readArguments(name, command.options, rest);
    if (help) {
      process.stdout.write(command.usage);
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = command === undefined ? `${PROGRAM} --help` : `${PROGRAM} ${name} --help`;
      process.stderr.write(`${PROGRAM}: ${oneLine(error.message)}\nRun "${help}" for the usage.\n`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${PROGRAM}: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
      process.exitCode = 1;
    },
  );
}
