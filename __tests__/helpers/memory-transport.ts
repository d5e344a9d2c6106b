import { Writable } from 'node:stream';
import winston from 'winston';

/** A winston Stream transport that keeps the messages it receives. */
export function memoryTransport() {
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  const transport = new winston.transports.Stream({
    stream: new Writable({
      objectMode: true,
      write(info: { message: string }, _encoding, callback) {
        messages.push(info.message);
        waiters.splice(0).forEach((wake) => wake());
        callback();
      },
    }),
  });
  /** Resolves once `count` messages have arrived (at once if they already have). */
  function waitForMessages(count: number): Promise<string[]> {
    return new Promise((resolve) => {
      const check = () => (messages.length >= count ? resolve(messages) : waiters.push(check));
      check();
    });
  }
  return { transport, messages, waitForMessages };
}
