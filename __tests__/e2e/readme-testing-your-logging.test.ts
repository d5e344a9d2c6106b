import { createLogger } from 'winston';
import { BufferedMailTransport } from 'winston-buffered-mail';
import { startLocalSmtpServer } from 'winston-buffered-mail/testing';

test('a declined payment is mailed with its order', async () => {
  const server = await startLocalSmtpServer();
  const mail = new BufferedMailTransport({
    smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca } },
    from: 'app@example.com',
    to: 'ops@example.com',
  });
  const logger = createLogger({ transports: [mail] });

  logger.error('Payment declined', { orderId: 1234 });
  await mail.close(); // delivers what is buffered, then closes the connection

  expect(server.mails).toHaveLength(1);
  expect(server.mails[0]?.parsed.subject).toMatch(/^\[ERROR\] 1 log entry from .+: Payment declined$/);
  expect(server.mails[0]?.parsed.text).toMatch(/Z ERROR Payment declined \{"orderId":1234\}\n/);
  await server.close();
});
