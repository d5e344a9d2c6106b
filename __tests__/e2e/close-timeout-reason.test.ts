import { runFixture } from '../helpers/child';
import { deadPort } from '../helpers/ports';

describe('a program whose mail server is unreachable, with nobody listening to warnings', () => {
  test('ends within about closeTimeoutMs, and stderr says the last try failed: ECONNREFUSED at host:port', async () => {
    const port = await deadPort();
    const result = await runFixture('refused-port.ts', { DEAD_PORT: String(port), CLOSE_TIMEOUT_MS: '1500' });

    expect(result.status).toBe(0);
    expect(result.stderr).toContain(
      `[ECLOSETIMEOUT] WinstonBufferedMailWarning: 2 log entries were not delivered within \`closeTimeoutMs\` (1500 ms); the last try failed: connect ECONNREFUSED 127.0.0.1:${port}; check \`smtp.host\` and \`smtp.port\``,
    );
    expect(result.stderr).not.toContain('S3cret-pass');
    // The retries at the defaults would go on for about 15 s; the close ends them at 1.5 s.
    const elapsedMs = Number(/^exited (\d+) ms after main returned$/m.exec(result.stdout)?.[1]);
    expect(elapsedMs).toBeGreaterThanOrEqual(1500);
    expect(elapsedMs).toBeLessThan(6000);
  });
});
