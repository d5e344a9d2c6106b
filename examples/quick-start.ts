// The quick start: a Console transport for people at the terminal, a mail every 10 entries for
// the people on call. Configure it with SMTP_HOST, SMTP_USER, SMTP_PASSWORD and MAIL_TO.
import winston from 'winston';
import { BufferedMailTransport } from 'winston-buffered-mail';

const mail = new BufferedMailTransport({
  smtp: {
    host: process.env.SMTP_HOST ?? 'smtp.example.com',
    port: 587,
    auth: { user: process.env.SMTP_USER ?? 'app', pass: process.env.SMTP_PASSWORD ?? '' },
  },
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
logger.end();
