import { createServer, type Socket } from 'node:net';
import { runFixture } from '../helpers/child';
import { bodyLines, childEnv, startServer } from '../helpers/smtp';

const text = (line: string) => line.replace(/^\S+ \S+\s+/, '');

describe('the ways a program ends a logger', () => {
  test.each([
    ['logger.close() and return', 'logger-close', [['entry 0', 'entry 1', 'entry 2']]],
    ['logger.remove() and logger.add() again', 'remove-and-add', [['before removal', 'after adding again']]],
    ['an entry logged after close() resolved', 'after-close', [['before close'], ['after close']]],
  ])('%s: every entry is delivered before the process ends', async (_name, scenario, expected) => {
    const server = await startServer();
    const result = await runFixture('close-scenarios.ts', childEnv(server), [scenario]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(server.mails.map((mail) => bodyLines(mail).map(text))).toEqual(expected);
  });
});

describe('closeTimeoutMs is a bound', () => {
  let server: ReturnType<typeof createServer> | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('a server that accepts and never greets does not keep the process alive past closeTimeoutMs', async () => {
    let closedByClient = 0;
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => closedByClient++);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    const started = Date.now();
    const result = await runFixture('silent-server.ts', { SILENT_PORT: String(port) });
    const elapsedMs = Date.now() - started;

    expect(result.stdout).toBe('main returned\n');
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(
      '[ECLOSETIMEOUT] WinstonBufferedMailWarning: 1 log entry was not delivered within `closeTimeoutMs` (1000 ms)',
    );
    expect(result.stderr).not.toContain('S3cret-pass');
    // The SMTP timeouts are a minute: only the abort at closeTimeoutMs can end the process sooner.
    expect(elapsedMs).toBeLessThan(30_000);
    expect(closedByClient).toBe(1);
  });
});
