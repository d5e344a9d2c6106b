// The quick start: a Console transport for people at the terminal, a mail every 10 entries for
// the people on call. Configure it with SMTP_HOST, SMTP_USER, SMTP_PASSWORD and MAIL_TO, or run
// it with --demo to send to an SMTP server started in this process.
import winston from 'winston';
import { BufferedMailTransport, type SmtpOptions } from 'winston-buffered-mail';

async function smtpSettings(): Promise<{ smtp: SmtpOptions; done: () => Promise<void> }> {
  if (!process.argv.includes('--demo')) {
    const smtp = {
      host: process.env.SMTP_HOST ?? 'smtp.example.com',
      port: 587,
      auth: { user: process.env.SMTP_USER ?? 'app', pass: process.env.SMTP_PASSWORD ?? '' },
    };
    return { smtp, done: () => Promise.resolve() };
  }
  const { startLocalSmtpServer } = await import('winston-buffered-mail/testing');
  const server = await startLocalSmtpServer();
  return {
    smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
    done: async () => {
      process.stdout.write(`The demo server received ${server.mails.length} mails.\n`);
      await server.close();
    },
  };
}

async function main(): Promise<void> {
  const { smtp, done } = await smtpSettings();
  const mail = new BufferedMailTransport({
    smtp,
    from: 'app@example.com',
    to: (process.env.MAIL_TO ?? 'ops@example.com').split(','),
    subject: 'Logs from billing',
    capacity: 10,
  });
  mail.on('warn', (warning) => console.error(`mail not delivered (${warning.code}): ${warning.message}`));

  const logger = winston.createLogger({
    transports: [new winston.transports.Console(), mail],
  });

  for (let index = 0; index < 102; index++) logger.info(`Info index = ${index}`);
  // Ending the logger delivers what is still buffered before the transport finishes.
  await new Promise<void>((resolve) => {
    mail.once('finish', () => resolve());
    logger.end();
  });
  await done();
}

void main();
