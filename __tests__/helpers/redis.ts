import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { deadPort } from './ports';
import { TEST_PREFIX } from './temp-folder';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5000;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `redis-server` binary: `REDIS_SERVER` when set, otherwise the first on the `PATH`; undefined when there is none. */
export function findRedisServer(): string | undefined {
  const configured = process.env.REDIS_SERVER;
  if (configured !== undefined && configured !== '') return isExecutable(configured) ? configured : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export const REDIS_SERVER = findRedisServer();

const MISSING = [
  '',
  '******************************************************************************',
  '* redis-server is not installed: the tests against a real Redis are SKIPPED. *',
  '* Install it (apt-get install -y redis-server) or set REDIS_SERVER.          *',
  '******************************************************************************',
  '',
].join('\n');

/**
 * `describe` for tests that need a real `redis-server`. Without the binary they are skipped, with
 * a loud message; on CI (`CI` set) they fail instead, so that a missing server cannot pass unseen.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (REDIS_SERVER !== undefined) {
    describe(name, body);
    return;
  }
  console.warn(MISSING);
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    describe(name, () => {
      test('redis-server is installed', () => {
        throw new Error(MISSING);
      });
    });
    return;
  }
  describe.skip(name, body);
}

/** Answers whether a Redis server on `port` replies to PING (or asks for a password first). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      // A server that wants a password says so: it is up all the same.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** A `redis-server` of the test's own, on 127.0.0.1 and a free port, that saves nothing. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `${TEST_PREFIX}redis-`));
  }

  /** Starts a server; `args` are added to its command line (e.g. `['--requirepass', 'secret']`). */
  static async start(args: readonly string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await deadPort(), args);
    try {
      await server.launch();
    } catch (error) {
      await server.remove();
      throw error;
    }
    return server;
  }

  /** A URL of the server, with `password` when given. */
  url(password?: string): string {
    return password === undefined
      ? `redis://127.0.0.1:${this.port}`
      : `redis://:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts it again on the same port, empty. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('The Redis server is running');
    await this.launch();
  }

  /** Stops the process (SIGTERM, then SIGKILL) and waits for its exit; the server can be started again. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  }

  /** Stops it and removes its folder. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    if (REDIS_SERVER === undefined) throw new Error(MISSING);
    this.output = '';
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`redis-server exited at start:\n${this.output}`);
      if (await ping(this.port)) return;
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
