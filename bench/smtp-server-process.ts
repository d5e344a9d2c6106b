// The local SMTP server (STARTTLS + AUTH, mailparser) in a process of its own, so that its TLS,
// SMTP parsing and MIME parsing do not count in the memory and the event loop of the process that
// logs. Started by `startServerProcess` in bench/support.ts over IPC: sends `{ type: 'ready' }`
// with the address, then one `{ type: 'mail' }` summary per mail; exits when the parent leaves.
import { startLocalSmtpServer } from '../src/local-smtp-server';

/** What the server process tells its parent. */
export type ServerMessage =
  | { type: 'ready'; port: number; ca: string; credentials: { user: string; pass: string } }
  | { type: 'mail'; bytes: number; entries: number; secure: boolean; user: string | undefined };

const marker = process.argv[2] ?? '';

async function main(): Promise<void> {
  const send = (message: ServerMessage) => process.send?.(message);
  const server = await startLocalSmtpServer();
  // Each mail is summarised and let go of, so that a long run does not fill this process.
  const forward = setInterval(() => {
    for (const mail of server.mails.splice(0)) {
      const lines = (mail.parsed.text ?? '').split('\n');
      send({
        type: 'mail',
        bytes: mail.raw.length,
        entries: marker === '' ? 0 : lines.filter((line) => line.includes(marker)).length,
        secure: mail.secure,
        user: mail.user,
      });
    }
  }, 20);
  // The parent is done: no need to wait for its connections to end.
  process.once('disconnect', () => {
    clearInterval(forward);
    process.exit(0);
  });
  send({ type: 'ready', port: server.port, ca: server.ca, credentials: server.credentials });
}

void main();
