#!/usr/bin/env bash
# Installs the packed tarball into a new project, the way users get it, and uses it from
# CommonJS and from ESM; then type-checks the README's quick start (its import and its require()
# forms) and a use of every export against it, strict and without skipLibCheck, in each setup
# users have: esModuleInterop off, module/moduleResolution node16, nodenext, and bundler.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# `npm pack` builds dist/ first (the `prepack` script).
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
contents="$(tar -tzf "$work/$tarball")"
shipped='^package/(dist/|README\.md$|LICENSE$|package\.json$|CHANGELOG\.md$|BENCHMARKS\.md$|docs/digest\.png$)'
if grep -qvE "$shipped" <<<"$contents"; then
  echo "smoke: the tarball holds more than dist/, the README, what it links to, LICENSE and package.json:" >&2
  grep -vE "$shipped" <<<"$contents" >&2
  exit 1
fi
if grep -qE '\.map$|__tests__|demo-mail' <<<"$contents"; then
  echo "smoke: the tarball holds source maps, tests or demo output" >&2
  exit 1
fi
# npm shows the README without a repository to resolve relative paths against: a relative link
# or image would be broken there, so the README has none (anchors and absolute URLs only).
relative="$(grep -oE '\]\([^)#:]+\)' "$root/README.md" | sort -u || true)"
if [ -n "$relative" ]; then
  echo "smoke: the README has relative links, which break on the npm page: $relative" >&2
  exit 1
fi
if tar -xzOf "$work/$tarball" --wildcards 'package/dist/*.d.ts' | grep -qE '\b(flushBeforeExit|onExit)\b'; then
  echo "smoke: the published declarations show the exit handling's internals" >&2
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
import * as winston from 'winston';
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
const name: string = mail.name;
// @ts-expect-error the exit handling is not part of the public surface
mail.flushBeforeExit();
// @ts-expect-error the exit handling is not part of the public surface
mail.onExit();
export { fromEnv, preview, name };
TS
cp "$root/examples/quick-start.ts" quick-start.ts
cp "$root/examples/quick-start.ts" quick-start.mts
cp "$root/examples/quick-start.cjs" quick-start.cjs
# Each setup: a name, then the compiler options that make it.
setups=(
  "esModuleInterop false|--module commonjs --moduleResolution node10 --esModuleInterop false"
  "node16|--module node16 --moduleResolution node16"
  "nodenext|--module nodenext --moduleResolution nodenext"
  "bundler|--module esnext --moduleResolution bundler"
)
tsc_in() {
  local flags
  read -r -a flags <<<"${1#*|}"
  npx tsc --noEmit --strict --skipLibCheck false --types node --target es2022 --allowJs --checkJs "${flags[@]}" "${@:2}"
}
typecheck() {
  for setup in "${setups[@]}"; do
    name="${setup%%|*}"
    files=()
    for file in "$@"; do
      # An .mts file is an ES module, which a project compiled to CommonJS does not have.
      [[ "$name" = "esModuleInterop false" && "$file" = *.mts ]] || files+=("$file")
    done
    tsc_in "$setup" "${files[@]}"
    echo "smoke: TypeScript ($name) ok: ${files[*]}"
  done
}
# The main entry must type-check without the optional peers of the testing entry.
typecheck use.ts quick-start.ts quick-start.mts quick-start.cjs

# Without its optional peers, the testing entry loads, and starting a server names what to install.
cat > no-peers.cjs <<'JS'
const assert = require('node:assert');
const { startLocalSmtpServer } = require('winston-buffered-mail/testing');
startLocalSmtpServer().then(
  () => assert.fail('the server started without smtp-server'),
  (error) => {
    assert.match(error.message, /`smtp-server` is not installed: npm install --save-dev smtp-server mailparser selfsigned$/);
    console.log('smoke: testing entry without its optional peers ok');
  },
);
JS
node no-peers.cjs

# Without ioredis, the redis entry loads, and a store with a URL names what to install.
cat > no-ioredis.cjs <<'JS'
const assert = require('node:assert');
const { RedisStore } = require('winston-buffered-mail/redis');
assert.throws(() => new RedisStore({ url: 'redis://127.0.0.1:6379' }), /needs the optional package `ioredis`, which is not installed: npm install ioredis$/);
console.log('smoke: redis entry without ioredis ok');
JS
node no-ioredis.cjs

cat > use-testing.ts <<'TS'
import { startLocalSmtpServer, type LocalSmtpServer } from 'winston-buffered-mail/testing';
export async function start(): Promise<LocalSmtpServer> {
  const server = await startLocalSmtpServer({ serverOptions: { size: 1024 } });
  server.mails.map((mail) => mail.parsed.subject);
  return server;
}
TS
npm install --no-audit --no-fund --silent smtp-server mailparser selfsigned >/dev/null
for setup in "${setups[@]:1}"; do
  tsc_in "$setup" use-testing.ts
  echo "smoke: TypeScript (${setup%%|*}) ok: use-testing.ts"
done
# smtp-server's own declarations default-import node: modules, so they need esModuleInterop;
# ours must add no error of their own.
ours="$(tsc_in "${setups[0]}" use-testing.ts | grep 'error TS' | grep -v '^node_modules/smtp-server/' || true)"
if [ -n "$ours" ]; then
  echo "smoke: the testing entry's declarations fail without esModuleInterop:" >&2
  echo "$ours" >&2
  exit 1
fi
echo "smoke: TypeScript (esModuleInterop false) ok: use-testing.ts, but for smtp-server's own declarations"

cat > use-redis.ts <<'TS'
import { BufferedMailTransport } from 'winston-buffered-mail';
import { RedisStore, type RedisStoreOptions } from 'winston-buffered-mail/redis';
const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', group: 'orders', timeoutMs: 250 };
export const mail = new BufferedMailTransport({
  transporter: { sendMail: async () => ({}) },
  from: 'app@example.com',
  to: 'ops@example.com',
  store: new RedisStore(options),
});
TS
npm install --no-audit --no-fund --silent ioredis@5 >/dev/null
for setup in "${setups[@]}"; do
  tsc_in "$setup" use-redis.ts
  echo "smoke: TypeScript (${setup%%|*}) ok: use-redis.ts"
done
cat > use-redis.mjs <<'JS'
import assert from 'node:assert';
import { RedisStore } from 'winston-buffered-mail/redis';
const store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
assert.deepStrictEqual(JSON.parse(JSON.stringify(store)), { target: 'redis://127.0.0.1:6379', keyPrefix: 'wbm:', timeoutMs: 500 });
await store.close();
console.log('smoke: redis entry from ESM ok');
JS
node use-redis.mjs
