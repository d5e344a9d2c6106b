import winston from 'winston';
import { optionsFor, recordingTransport, startServer } from '../helpers/smtp';

describe("entries from winston's exceptionHandlers", () => {
  test('are redacted like any other, though winston hands them over without the transport format', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server));
    const logger = winston.createLogger({
      exitOnError: false,
      exceptionHandlers: [transport],
      transports: [new winston.transports.Console({ silent: true })],
    });
    try {
      const error = Object.assign(new Error('upstream failed'), {
        config: { headers: { Authorization: 'Bearer EXC-SECRET-1' }, password: 'EXC-SECRET-2' },
      });
      process.emit('uncaughtException', error);
      await transport.flush();
      const mail = server.mails[0]!;
      const everything = [
        mail.parsed.text ?? '',
        ...mail.parsed.attachments.map((a) => a.content.toString('utf8')),
      ].join('\n');
      expect(everything).toContain('upstream failed');
      expect(everything).not.toContain('EXC-SECRET-1');
      expect(everything).not.toContain('EXC-SECRET-2');
    } finally {
      logger.exceptions.unhandle();
    }
  });
});
