import { Writable } from 'node:stream';
import winston from 'winston';

/** A winston Stream transport that keeps the messages it receives. */
export function memoryTransport() {
  const messages: string[] = [];
  const transport = new winston.transports.Stream({
    stream: new Writable({
      objectMode: true,
      write(info: { message: string }, _encoding, callback) {
        messages.push(info.message);
        callback();
      },
    }),
  });
  return { transport, messages };
}
