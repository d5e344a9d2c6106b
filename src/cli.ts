#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readEnvOptions } from './env';
import { locateJsonSyntaxError } from './json-syntax';
import type { BufferedMailTransportOptions, SmtpOptions } from './options';
import { BufferedMailTransport, type DeliveryWarning } from './transport';

const USAGE = `Usage:
  winston-buffered-mail send HOST USER PASSWORD TO SENDER [options]
  winston-buffered-mail send --config FILE.json [options]
      Logs --count entries "Info index = N" and mails them in batches of --capacity
      through HOST, over STARTTLS (or implicit TLS with --secure) with SMTP AUTH.
      PASSWORD may be "-" to read it from the SMTP_PASSWORD environment variable.
      Without the five arguments, the options come from --config (the transport's
      options as JSON) and from LOG_MAIL_* variables (LOG_MAIL_SMTP_HOST,
      LOG_MAIL_SMTP_PASS, LOG_MAIL_TO...), which take precedence over the file.
        --config FILE   transport options as JSON
        --port N        SMTP port (default 587)
        --subject S     subject of each mail
        --count N       entries to log (default 102)
        --capacity N    entries per mail (default 10)
        --ca FILE       trust the certificate authority in this PEM file
        --secure        implicit TLS, usually with --port 465
  winston-buffered-mail demo
      Runs the same scenario against an SMTP server started in this process and
      writes the received mails to ./demo-mail/.
  winston-buffered-mail --help
`;

class UsageError extends Error {}

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
    throw new UsageError(`--${name} expects a positive integer, got "${value}"`);
  }
  return number;
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      subject: { type: 'string' },
      count: { type: 'string' },
      capacity: { type: 'string' },
      ca: { type: 'string' },
      secure: { type: 'boolean' },
      config: { type: 'string' },
    },
  });
  if (positionals.length !== 5 && (positionals.length !== 0 || values.config === undefined)) {
    throw new UsageError(
      `send expects HOST USER PASSWORD TO SENDER, or --config FILE.json, got ${positionals.length} arguments`,
    );
  }
  let options: Partial<BufferedMailTransportOptions>;
  try {
    options = mergeOptions(
      values.config === undefined ? {} : readConfig(values.config),
      readEnvOptions(process.env, 'LOG_MAIL_'),
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (positionals.length === 5) {
    const [host, user, passwordArgument, to, sender] = positionals as [string, string, string, string, string];
    const pass = passwordArgument === '-' ? process.env.SMTP_PASSWORD : passwordArgument;
    if (!pass) throw new UsageError('PASSWORD is "-" but the SMTP_PASSWORD environment variable is empty');
    options = mergeOptions(options, { smtp: { host, auth: { user, pass } }, to, from: sender });
  }
  const count = positiveInteger('count', values.count, 102);
  const capacity = positiveInteger('capacity', values.capacity, options.capacity ?? 10);
  // An `smtp` that is not an object goes to the validation as it is.
  const smtp: Partial<SmtpOptions> = isPlainObject(options.smtp) ? { ...options.smtp } : {};
  if (values.secure !== undefined) smtp.secure = values.secure;
  smtp.port = positiveInteger('port', values.port, smtp.port ?? (smtp.secure ? 465 : 587));
  if (values.ca !== undefined) {
    try {
      smtp.tls = { ...smtp.tls, ca: readFileSync(values.ca, 'utf8') };
    } catch (error) {
      throw new UsageError(`--ca: cannot read ${values.ca}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const host = smtp.host ?? '(no host)';
  const port = smtp.port;
  const to = [options.to ?? []].flat().join(', ');

  let transport: BufferedMailTransport;
  try {
    transport = new BufferedMailTransport({
      ...options,
      ...(isPlainObject(options.smtp) && { smtp: smtp as SmtpOptions }),
      from: options.from as string,
      to: options.to as string[],
      capacity,
      // The count and the capacity were chosen on the command line: send exactly those mails,
      // and hold all the entries, which are logged faster than any server takes them.
      rateLimit: false,
      maxBufferedEntries: Math.max(count, capacity),
      maxBufferedBytes: Number.MAX_SAFE_INTEGER,
      ...(values.subject !== undefined && { subject: values.subject }),
      flushOnExit: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  const warnings: DeliveryWarning[] = [];
  let mailed = 0;
  let mails = 0;
  transport.on('warn', (warning) => warnings.push(warning));
  transport.on('mail', ({ count: entries }) => {
    mailed += entries;
    mails++;
  });
  const level = Symbol.for('level');
  for (let index = 0; index < count; index++) {
    transport.write({ level: 'info', message: `Info index = ${index}`, [level]: 'info' });
  }
  await new Promise<void>((resolve) => transport.end(resolve));
  await transport.close();

  if (mailed === count) {
    process.stdout.write(`Sent ${count} log entries in ${mails} mails to ${to} through ${host}:${port}\n`);
    return 0;
  }
  const first = warnings[0];
  const reason = first ? `${first.code ? `${first.code}: ` : ''}${first.message}` : 'no mail was accepted';
  process.stderr.write(
    `Failed: ${count - mailed} of ${count} log entries were not accepted (${reason.replace(/\s+/g, ' ')})\n`,
  );
  return 1;
}

async function demo(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`demo takes no arguments, got "${args[0]}"`);
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

/** Runs the command line; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command === 'send') return await send(rest);
    if (command === 'demo') return await demo(rest);
    throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`winston-buffered-mail: ${(error as Error).message}\n\n${USAGE}`);
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
      process.stderr.write(`winston-buffered-mail: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
