import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import winston from 'winston';
import { startLocalSmtpServer, type ReceivedMail } from './local-smtp-server';
import { BufferedMailTransport } from './transport';

export interface DemoOptions {
  /** Entries to log. @default 102 */
  count?: number;
  /** Entries per mail. @default 10 */
  capacity?: number;
  /** Folder the received mails are written to as .eml files. @default './demo-mail' */
  outputDir?: string;
  /** Where the summary goes. */
  print?: (line: string) => void;
}

const INDEX_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}Info index = (\d+)$/;

/** The lines of a mail's text, without its foot (after the `-- ` separator) that says where it comes from. */
function bodyLines(mail: ReceivedMail): string[] {
  const lines = (mail.parsed.text ?? '').split(/\r?\n/);
  const foot = lines.indexOf('-- ');
  return (foot === -1 ? lines : lines.slice(0, foot)).filter((line) => line !== '');
}

/**
 * The seed's scenario on a private SMTP server: logs `count` entries through a Console transport
 * (local time) and a BufferedMailTransport (UTC), then checks what the server received.
 * Resolves to true when every line arrived once, in order, in UTC.
 */
export async function runDemo(options: DemoOptions = {}): Promise<boolean> {
  const count = options.count ?? 102;
  const capacity = options.capacity ?? 10;
  const outputDir = options.outputDir ?? join(process.cwd(), 'demo-mail');
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));

  const server = await startLocalSmtpServer();
  print(
    `SMTP server listening on ${server.host}:${server.port}: STARTTLS and AUTH required, certificate generated for this run`,
  );
  try {
    const mail = new BufferedMailTransport({
      smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
      from: 'billing@example.com',
      to: ['ops@example.com'],
      subject: 'Logs from billing',
      capacity,
    });
    const warnings: string[] = [];
    mail.on('warn', (warning) => warnings.push(`${warning.code ?? 'ERROR'}: ${warning.message}`));

    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.splat(),
      transports: [
        new winston.transports.Console({
          format: winston.format.combine(
            winston.format.timestamp({ format: 'YYYY-MM-DD HH:mm:ss,SSS' }),
            winston.format.printf(
              (info) =>
                `${String(info.timestamp)} ${info.level.toUpperCase().padEnd(5)} ${String(info.message)} (console, local time)`,
            ),
          ),
        }),
        mail,
      ],
    });
    for (let index = 0; index < count; index++) logger.info('Info index = %d', index);
    await new Promise<void>((resolve) => {
      mail.once('finish', resolve);
      logger.end();
    });

    await rm(outputDir, { recursive: true, force: true });
    await mkdir(outputDir, { recursive: true });
    const received: number[] = [];
    let allUtc = true;
    print('');
    print(`The server received ${server.mails.length} mails:`);
    for (const [position, message] of server.mails.entries()) {
      const lines = bodyLines(message);
      const indexes = lines.map((line) => {
        const match = INDEX_LINE.exec(line);
        if (!match?.[1]) allUtc = false;
        return match?.[1] ? Number(match[1]) : Number.NaN;
      });
      received.push(...indexes);
      const file = join(outputDir, `${String(position + 1).padStart(2, '0')}.eml`);
      await writeFile(file, message.raw);
      const session = `${message.secure ? (message.tlsProtocol ?? 'TLS') : 'NOT ENCRYPTED'}, ${message.user ? `user ${message.user}` : 'no AUTH'}`;
      print(
        `  ${String(position + 1).padStart(2)}. ${String(lines.length).padStart(3)} lines, index ${indexes[0]}..${indexes[indexes.length - 1]}  "${message.parsed.subject}"  (${session})  ${relative(process.cwd(), file)}`,
      );
    }
    const first = server.mails[0];
    if (first) {
      print('');
      print(`The first mail, as a person reads it (${relative(process.cwd(), join(outputDir, '01.eml'))}):`);
      print(`  From: ${first.parsed.from?.text ?? ''}`);
      print(
        `  To: ${[first.parsed.to]
          .flat()
          .map((address) => address?.text ?? '')
          .join(', ')}`,
      );
      print(`  Subject: ${first.parsed.subject ?? ''}`);
      print('');
      for (const line of bodyLines(first)) print(`  ${line}`);
    }
    const inOrder = received.length === count && received.every((value, index) => value === index);
    const allSecure = server.mails.every((message) => message.secure && message.user === server.credentials.user);
    print('');
    for (const warning of warnings) print(`warning: ${warning}`);
    if (inOrder && allUtc && allSecure) {
      print(
        `OK: all ${count} lines arrived once, in order, with UTC timestamps, over an encrypted, authenticated session.`,
      );
      return true;
    }
    print(
      `FAILED: ${received.length} of ${count} lines arrived${inOrder ? '' : ', not all in order'}${allUtc ? '' : ', some not in the UTC layout'}${allSecure ? '' : ', some not over an authenticated TLS session'}.`,
    );
    return false;
  } finally {
    await server.close();
  }
}
