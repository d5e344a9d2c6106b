// Renders a sample digest without sending it, and writes it to demo-mail/digest.html so that a
// person can open it in a browser: the preview of what `html: true` mails look like.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import winston from 'winston';
import { defaultLineFormat, renderBatch, type LogEntry } from 'winston-buffered-mail';

const format = defaultLineFormat();
const entries: LogEntry[] = [];
// A transport-less logger: the entries are formatted as the mail transport would, then kept.
const logger = winston.createLogger({
  level: 'debug',
  transports: [
    new winston.transports.Stream({
      format,
      stream: new Writable({
        objectMode: true,
        write(info: LogEntry, _encoding, callback) {
          entries.push(info);
          callback();
        },
      }),
    }),
  ],
});

logger.info('checkout service started', { version: '4.2.0', region: 'eu-west-1' });
logger.debug('cache warmed', { keys: 1832, ms: 412 });
logger.warn('payment provider slow', { provider: 'acme-pay', p99Ms: 2870 });
logger.error('Payment declined for order 1234', { orderId: 1234, amount: { value: 99.5, currency: 'EUR' } });
logger.error('connect ECONNREFUSED 10.0.0.7:5432', {
  stack:
    'Error: connect ECONNREFUSED 10.0.0.7:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)',
});
// The same error, again and again: the mail lists ten, states the rest, and attaches them all.
for (let attempt = 1; attempt <= 480; attempt++) {
  logger.error(`Connection refused to db ${attempt % 2 === 0 ? '10.0.0.7' : '10.0.0.8'}:5432`, {
    attempt,
    requestId: `req-${(attempt * 7919).toString(16).padStart(8, '0')}`,
  });
}
logger.info('<img src=x onerror=alert(1)> is shown as text, never run');

setImmediate(() => {
  const [mail] = renderBatch(entries, { html: true, hostname: hostname() });
  const folder = join(process.cwd(), 'demo-mail');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'digest.html'), mail?.html ?? '');
  process.stdout.write(`Subject: ${mail?.subject}\n\n${mail?.text}\nWrote ${join('demo-mail', 'digest.html')}\n`);
});
