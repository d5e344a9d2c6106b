const { createLogger, transports } = require('winston');
const { BufferedMailTransport } = require('winston-buffered-mail');

// The account to send from: keep it out of the code, e.g. in your secret store.
const { SMTP_HOST = 'smtp.example.com', SMTP_PORT = '587', SMTP_USER, SMTP_PASS } = process.env;
if (!SMTP_USER || !SMTP_PASS) throw new Error('Set SMTP_USER and SMTP_PASS');

const logger = createLogger({
  transports: [
    // Prints {"level":"info","message":"Info index = 0"}: winston's default format, without a time.
    new transports.Console(),
    // One mail per 10 entries, each line with its UTC time.
    new BufferedMailTransport({
      smtp: { host: SMTP_HOST, port: Number(SMTP_PORT), auth: { user: SMTP_USER, pass: SMTP_PASS } },
      from: 'app@example.com',
      to: ['ops@example.com'],
      capacity: 10,
    }),
  ],
});

for (let index = 0; index < 102; index++) logger.info(`Info index = ${index}`);
