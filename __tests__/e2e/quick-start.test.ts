import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '../helpers/child';
import { codeBlocks, readmeSection } from '../helpers/readme';
import { bodyLines, startServer } from '../helpers/smtp';

const folder = mkdtempSync(join(tmpdir(), 'wbm-quick-start-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const UTC_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}Info index = (\d+)$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** What the README shows of the terminal and of the first mail, split at its `...` line. */
function readmeSamples() {
  const blocks = codeBlocks(readmeSection('Quick start')).filter((block) => block.lang === '');
  const sample = (prefix: string) => {
    const lines =
      blocks
        .find((block) => block.code.startsWith(prefix))
        ?.code.trimEnd()
        .split('\n') ?? [];
    const gap = lines.indexOf('...');
    return { head: gap === -1 ? lines : lines.slice(0, gap), tail: gap === -1 ? [] : lines.slice(gap + 1) };
  };
  const mail = sample('From: ');
  const blank = mail.head.indexOf('');
  return {
    console: sample('{').head,
    headers: mail.head.slice(0, blank).map((line) => line.replace('web-1', hostname())),
    head: mail.head.slice(blank + 1),
    tail: mail.tail,
  };
}

// The quick start reads its server from the environment; the test server's certificate is trusted
// the way a user would trust a private CA without changing the code: NODE_EXTRA_CA_CERTS.
describe.each(['quick-start.ts', 'quick-start.cjs'])('examples/%s, run as the README shows it', (example) => {
  test('prints winston’s JSON lines and mails the 102 entries as ten mails of 10 lines and one of 2', async () => {
    const server = await startServer();
    const caFile = join(folder, `${example}.pem`);
    writeFileSync(caFile, server.ca);
    const result = await runNode(['-r', './__tests__/helpers/package-from-source.ts', join('examples', example)], {
      SMTP_HOST: server.host,
      SMTP_PORT: String(server.port),
      SMTP_USER: server.credentials.user,
      SMTP_PASS: server.credentials.pass,
      NODE_EXTRA_CA_CERTS: caFile,
    });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const readme = readmeSamples();
    const printed = result.stdout.trimEnd().split('\n');
    expect(readme.console).toHaveLength(2);
    expect(printed.slice(0, 2)).toEqual(readme.console);
    expect(printed).toHaveLength(102);

    const mails = server.mails.map((mail) => ({
      subject: mail.parsed.subject,
      from: mail.parsed.from?.text,
      to: mail.envelope.to,
      secure: mail.secure,
      lines: bodyLines(mail),
    }));
    expect(mails.map((mail) => mail.lines.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 2]);
    const indexes = mails.flatMap((mail) => mail.lines.map((line) => Number(UTC_LINE.exec(line)?.[1])));
    expect(indexes).toEqual(Array.from({ length: 102 }, (_, index) => index));
    expect(mails[0]).toMatchObject({
      subject: `[INFO] 10 log entries from ${hostname()}: Info index = 0`,
      from: 'app@example.com',
      to: ['ops@example.com'],
      secure: true,
    });
    expect(mails[10]?.subject).toBe(`[INFO] 2 log entries from ${hostname()}: Info index = 100`);

    // The README's sample is this first mail, the times aside.
    const headerLines = server.mails[0]?.parsed.headerLines ?? [];
    const headers = ['from', 'to', 'subject'].map((key) => headerLines.find((header) => header.key === key)?.line);
    expect(readme.headers).toEqual(headers);
    const withoutTime = (line: string) => line.replace(TIMESTAMP, '');
    expect([...readme.head, ...readme.tail].every((line) => TIMESTAMP.test(line))).toBe(true);
    expect(readme.head.map(withoutTime)).toEqual(mails[0]?.lines.slice(0, readme.head.length).map(withoutTime));
    expect(readme.tail.map(withoutTime)).toEqual(mails[0]?.lines.slice(-readme.tail.length).map(withoutTime));
  });
});

test('without SMTP_USER and SMTP_PASS the quick start says what to set', async () => {
  const result = await runNode(['-r', './__tests__/helpers/package-from-source.ts', 'examples/quick-start.ts'], {
    SMTP_USER: '',
    SMTP_PASS: '',
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('Error: Set SMTP_USER and SMTP_PASS');
});
