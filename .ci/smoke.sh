#!/usr/bin/env bash
# Installs the packed tarball into a new project, the way users get it, and uses it from
# CommonJS, from ESM, and from TypeScript under moduleResolution node16 and bundler.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
contents="$(tar -tzf "$work/$tarball")"
if grep -qvE '^package/(dist/|README\.md$|LICENSE$|package\.json$)' <<<"$contents"; then
  echo "smoke: the tarball holds more than dist/, README, LICENSE and package.json:" >&2
  grep -vE '^package/(dist/|README\.md$|LICENSE$|package\.json$)' <<<"$contents" >&2
  exit 1
fi
if grep -qE '\.map$|__tests__|demo-mail' <<<"$contents"; then
  echo "smoke: the tarball holds source maps, tests or demo output" >&2
  exit 1
fi

cd "$work"
npm init -y >/dev/null
typescript_version="$(node -p "require('$root/node_modules/typescript/package.json').version")"
npm install --no-audit --no-fund --silent "./$tarball" winston@3 "typescript@$typescript_version" @types/node@20 >/dev/null

cat > smoke.cjs <<'JS'
const assert = require('node:assert');
const winston = require('winston');
const api = require('winston-buffered-mail');
for (const name of ['BufferedMailTransport', 'utcTimestamp', 'defaultLineFormat', 'withLogging', 'optionsFromEnv', 'renderBatch']) {
  assert.strictEqual(typeof api[name], 'function', `${name} is exported`);
}
const sent = [];
const mail = new api.BufferedMailTransport({
  transporter: { sendMail: async (message) => { sent.push(message); return { messageId: 'm1' }; } },
  from: 'app@example.com', to: 'ops@example.com', capacity: 2,
});
const logger = winston.createLogger({ transports: [mail] });
logger.info('one'); logger.info('two');
mail.flush().then(() => {
  assert.strictEqual(sent.length, 1);
  assert.match(sent[0].text, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}one\n/);
  console.log('smoke: CommonJS ok');
});
JS
node smoke.cjs

cat > smoke.mjs <<'JS'
import assert from 'node:assert';
import winston from 'winston';
import { BufferedMailTransport, utcTimestamp, optionsFromEnv } from 'winston-buffered-mail';
assert.strictEqual(typeof utcTimestamp, 'function');
assert.strictEqual(typeof optionsFromEnv, 'function');
const sent = [];
const mail = new BufferedMailTransport({
  transporter: { sendMail: async (message) => { sent.push(message); return {}; } },
  from: 'app@example.com', to: ['ops@example.com'],
});
winston.createLogger({ transports: [mail] }).warn('from ESM');
await mail.close();
assert.strictEqual(sent.length, 1);
console.log('smoke: ESM ok');
JS
node smoke.mjs

cat > use.ts <<'TS'
import winston from 'winston';
import {
  BufferedMailTransport,
  defaultLineFormat,
  optionsFromEnv,
  renderBatch,
  utcTimestamp,
  withLogging,
  type BufferedMailTransportOptions,
  type DeliveryWarning,
  type MailSentInfo,
  type TransportStats,
} from 'winston-buffered-mail';

const options: BufferedMailTransportOptions = {
  smtp: { host: 'smtp.example.com', port: 587, auth: { user: 'app', pass: 'secret' } },
  from: 'app@example.com',
  to: ['ops@example.com'],
  subject: '[{level}] {count} entries',
  capacity: 10,
  flushLevel: 'error',
  retry: { attempts: 3 },
  rateLimit: { mails: 10, perMs: 60_000 },
  format: winston.format.combine(utcTimestamp({ format: 'YYYY-MM-DD HH:mm:ss,SSS' }), winston.format.json()),
};
const mail = new BufferedMailTransport(options);
mail.on('mail', (info: MailSentInfo) => info.count.toFixed());
mail.on('warn', (warning: DeliveryWarning) => warning.code?.toLowerCase());
const stats: TransportStats = mail.stats();
stats.entriesMailed.toFixed();
const logger = winston.createLogger({ format: defaultLineFormat(), transports: [mail] });
void withLogging(logger, { level: 'debug', transports: [mail], close: true }, async () => 42).then((n: number) => n);
const fromEnv: BufferedMailTransportOptions = optionsFromEnv({}, 'APP_');
const preview: string = renderBatch([], { html: true })[0]?.subject ?? '';
export { fromEnv, preview };
TS
typecheck() {
  for resolution in node16 bundler; do
    module=$([ "$resolution" = bundler ] && echo esnext || echo node16)
    npx tsc --noEmit --strict --skipLibCheck false --types node --module "$module" --moduleResolution "$resolution" --target es2022 "$1"
    echo "smoke: TypeScript $1, moduleResolution $resolution ok"
  done
}
# The main entry must type-check without the optional peers of the testing entry.
typecheck use.ts

cat > use-testing.ts <<'TS'
import { startLocalSmtpServer, type LocalSmtpServer } from 'winston-buffered-mail/testing';
export async function start(): Promise<LocalSmtpServer> {
  const server = await startLocalSmtpServer();
  server.mails.map((mail) => mail.parsed.subject);
  return server;
}
TS
npm install --no-audit --no-fund --silent smtp-server mailparser selfsigned >/dev/null
typecheck use-testing.ts
