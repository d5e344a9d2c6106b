import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve as resolvePath } from 'node:path';

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

/** Starts a fixture like `runFixture`, and gives its process too, e.g. to send it a signal. */
export function startFixture(
  name: string,
  env: Record<string, string> = {},
  args: string[] = [],
): { child: ChildProcess; result: Promise<ChildResult> } {
  return startNode([join(ROOT, '__tests__', 'fixtures', name), ...args], env);
}

/**
 * Runs `node -r ts-node/register/transpile-only ...args`, from the project root unless `cwd` says
 * otherwise; a script given by a relative path is found from the project root either way.
 */
export function runNode(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<ChildResult> {
  // Node's own options (`-r module`) come first; the first other argument is the script.
  const resolved = [...args];
  let index = 0;
  while (index < resolved.length && resolved[index]?.startsWith('-')) index += resolved[index] === '-r' ? 2 : 1;
  for (let flag = 0; flag < index; flag++) {
    const value = resolved[flag];
    if (resolved[flag - 1] === '-r' && value?.startsWith('.')) resolved[flag] = resolvePath(ROOT, value);
  }
  const script = resolved[index];
  if (script !== undefined) resolved[index] = resolvePath(ROOT, script);
  return startNode(resolved, env, cwd).result;
}

function startNode(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): { child: ChildProcess; result: Promise<ChildResult> } {
  const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), ...args], {
    cwd,
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ pid: child.pid, status, signal, stdout, stderr }));
  });
  return { child, result };
}
