import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface ChildResult {
  pid: number | undefined;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const ROOT = join(__dirname, '..', '..');

/** Runs a TypeScript file of `__tests__/fixtures` in its own Node process, the way a user's program runs. */
export function runFixture(name: string, env: Record<string, string> = {}, args: string[] = []): Promise<ChildResult> {
  return runNode([join(ROOT, '__tests__', 'fixtures', name), ...args], env);
}

/** Runs `node -r ts-node/register/transpile-only ...args` from the project root. */
export function runNode(args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ pid: child.pid, status, signal, stdout, stderr }));
  });
}
