#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BufferedMailTransport, type DeliveryWarning } from './transport';

const USAGE = `Usage:
  winston-buffered-mail send HOST USER PASSWORD TO SENDER [options]
      Logs --count entries "Info index = N" and mails them in batches of --capacity
      through HOST, over STARTTLS (or implicit TLS with --secure) with SMTP AUTH.
      PASSWORD may be "-" to read it from the SMTP_PASSWORD environment variable.
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
    },
  });
  if (positionals.length !== 5) {
    throw new UsageError(`send expects HOST USER PASSWORD TO SENDER, got ${positionals.length} arguments`);
  }
  const [host, user, passwordArgument, to, sender] = positionals as [string, string, string, string, string];
  const pass = passwordArgument === '-' ? process.env.SMTP_PASSWORD : passwordArgument;
  if (!pass) throw new UsageError('PASSWORD is "-" but the SMTP_PASSWORD environment variable is empty');
  const count = positiveInteger('count', values.count, 102);
  const capacity = positiveInteger('capacity', values.capacity, 10);
  const port = positiveInteger('port', values.port, values.secure ? 465 : 587);
  let ca: string | undefined;
  if (values.ca !== undefined) {
    try {
      ca = readFileSync(values.ca, 'utf8');
    } catch (error) {
      throw new UsageError(`--ca: cannot read ${values.ca}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  let transport: BufferedMailTransport;
  try {
    transport = new BufferedMailTransport({
      smtp: { host, port, secure: values.secure ?? false, auth: { user, pass }, ...(ca !== undefined && { tls: { ca } }) },
      from: sender,
      to,
      capacity,
      // The count and the capacity were chosen on the command line: send exactly those mails,
      // and hold all the entries, which are logged faster than any server takes them.
      rateLimit: false,
      maxBufferedEntries: Math.max(count, capacity),
      ...(values.subject !== undefined && { subject: values.subject }),
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
  process.stderr.write(`Failed: ${count - mailed} of ${count} log entries were not accepted (${reason.replace(/\s+/g, ' ')})\n`);
  return 1;
}

async function demo(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`demo takes no arguments, got "${args[0]}"`);
  let runDemo: typeof import('./demo').runDemo;
  try {
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
