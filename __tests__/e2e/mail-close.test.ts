import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { startFixture, type ChildResult } from '../helpers/child';
import { childEnv, startServer } from '../helpers/smtp';

// A server that keeps idle and silent connections open far longer than the test runs: only the
// client can end them.
const SERVER_TIMEOUT_MS = 600_000;
// The process must be gone well before a socket ended politely would be destroyed (5 s).
const LIVES_ON_AT_MOST_MS = 2_000;

function livedOnMs(result: ChildResult): number {
  const match = /lived on for (\d+) ms\n$/.exec(result.stdout);
  if (!match?.[1]) throw new Error(`No exit report in ${JSON.stringify(result)}`);
  return Number(match[1]);
}

describe('letting go of the mailer keeps no process alive', () => {
  test('release() once idle: the process exits although the server would keep the connection', async () => {
    const server = await startServer({ serverOptions: { socketTimeout: SERVER_TIMEOUT_MS } });

    const result = await startFixture('mail-close.ts', childEnv(server), ['release']).result;

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^first delivered\nlived on for \d+ ms\n$/);
    expect(livedOnMs(result)).toBeLessThan(LIVES_ON_AT_MOST_MS);
    expect(result.status).toBe(0);
    expect(server.mails.map((mail) => mail.parsed.text)).toEqual(['first\n']);
  }, 30_000);

  test('close() while a second mail is held mid-DATA by a server that reads no more: it is aborted and the process exits', async () => {
    let messages = 0;
    let held: Readable | undefined;
    let signalChild = () => {};
    const server = await startServer({
      serverOptions: {
        socketTimeout: SERVER_TIMEOUT_MS,
        onData(stream, _session, callback) {
          if (++messages === 1) {
            stream.on('end', () => callback());
            stream.resume();
            return;
          }
          // One chunk proves the client is writing the second mail; then the server reads no more.
          held = stream;
          stream.once('data', () => {
            stream.pause();
            signalChild();
          });
        },
      },
    });
    const started = startFixture('mail-close.ts', childEnv(server), ['close']);
    signalChild = () => started.child.kill('SIGUSR2');

    const result = await started.result;
    // Let the server read again, so that it sees the close and ends the connection.
    held?.resume();

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^first delivered\nsecond aborted\nlived on for \d+ ms\n$/);
    expect(livedOnMs(result)).toBeLessThan(LIVES_ON_AT_MOST_MS);
    expect(result.status).toBe(0);
    expect(messages).toBe(2);
    expect(server.mails).toEqual([]);
  }, 30_000);

  test('close() while waiting for a greeting from a server that never closes its side: the socket is destroyed, not ended', async () => {
    const sockets = new Set<Socket>();
    let signalChild = () => {};
    // Half-open allowed: a client that only ends its side would wait for this server forever.
    const silent = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume();
      signalChild();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const env = childEnv({
      port: (silent.address() as AddressInfo).port,
      ca: 'unused: the server never gets as far as TLS',
      credentials: { user: 'app', pass: 'secret' },
    });

    const started = startFixture('mail-close.ts', env, ['silent']);
    signalChild = () => started.child.kill('SIGUSR2');
    const result = await started.result;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));

    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^send aborted\nlived on for \d+ ms\n$/);
    expect(livedOnMs(result)).toBeLessThan(LIVES_ON_AT_MOST_MS);
    expect(sockets.size).toBe(1);
  }, 30_000);
});
