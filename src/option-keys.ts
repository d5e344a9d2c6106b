import type {
  BufferedMailTransportOptions,
  JournalOptions,
  RateLimitOptions,
  RenotifyOptions,
  RetryOptions,
  SmtpAuth,
  SmtpOptions,
  SmtpTlsOptions,
} from './options';

/** The string keys of `T`, or of any member of `T` when it is a union. */
type KeysOf<T> = T extends unknown ? Extract<keyof T, string> : never;

/**
 * The keys of `T`, listed at run time. It compiles only when the list names every key of the type
 * and nothing else, so that an option added to a type cannot be refused as unknown.
 */
function listKeys<T>() {
  return <const K extends readonly KeysOf<T>[]>(
    keys: K,
    ..._complete: [Exclude<KeysOf<T>, K[number]>] extends [never] ? [] : [missing: Exclude<KeysOf<T>, K[number]>]
  ): K => keys;
}

/** Like `listKeys`, but the list may hold keys of a form of credentials that the type does not name yet. */
function listAuthKeys<const K extends readonly string[]>(
  keys: K,
  ..._complete: [Exclude<KeysOf<SmtpAuth>, K[number]>] extends [never]
    ? []
    : [missing: Exclude<KeysOf<SmtpAuth>, K[number]>]
): K {
  return keys;
}

/** Every level of the options that holds keys of its own, with the keys it knows. */
export const OPTION_KEYS = {
  '': listKeys<BufferedMailTransportOptions>()([
    'smtp',
    'transporter',
    'from',
    'to',
    'cc',
    'bcc',
    'subject',
    'fingerprint',
    'redact',
    'context',
    'headers',
    'html',
    'attachJson',
    'maxLineBytes',
    'maxMailBytes',
    'capacity',
    'flushIntervalMs',
    'flushLevel',
    'renotify',
    'mode',
    'flushOnExit',
    'closeTimeoutMs',
    'retry',
    'maxBufferedBytes',
    'maxBufferedEntries',
    'rateLimit',
    'spoolDir',
    'journal',
    'store',
    'format',
    'clock',
    'level',
    'silent',
    'handleExceptions',
    'handleRejections',
  ]),
  smtp: listKeys<SmtpOptions>()([
    'host',
    'port',
    'secure',
    'auth',
    'tls',
    'connectionTimeoutMs',
    'greetingTimeoutMs',
    'socketTimeoutMs',
    'name',
  ]),
  // Both forms of credentials, a password and OAuth2; `resolveAuth` checks which form is meant.
  'smtp.auth': listAuthKeys([
    'user',
    'pass',
    'type',
    'accessToken',
    'refreshToken',
    'clientId',
    'clientSecret',
    'serviceClient',
    'privateKey',
    'expires',
    'accessUrl',
  ]),
  'smtp.tls': listKeys<SmtpTlsOptions>()(['ca', 'servername', 'rejectUnauthorized', 'minVersion']),
  retry: listKeys<RetryOptions>()(['attempts', 'minDelayMs', 'maxDelayMs']),
  rateLimit: listKeys<RateLimitOptions>()(['mails', 'perMs']),
  renotify: listKeys<RenotifyOptions>()(['delayMs', 'maxDelayMs']),
  journal: listKeys<JournalOptions>()(['fsync', 'maxJournalBytes']),
} as const;

type Level = keyof typeof OPTION_KEYS;

/** Names other libraries use for one of our options: winston's Http transport, nodemailer's auth. */
const SYNONYMS: Partial<Record<Level, Readonly<Record<string, string>>>> = {
  '': { batchCount: 'capacity', batchInterval: 'flushIntervalMs' },
  'smtp.auth': { username: 'user', password: 'pass' },
};

/** The objects of the options that hold keys, by level. */
const NESTED: ReadonlyArray<readonly [parent: Level, key: string, level: Level]> = [
  ['', 'smtp', 'smtp'],
  ['smtp', 'auth', 'smtp.auth'],
  ['smtp', 'tls', 'smtp.tls'],
  ['', 'retry', 'retry'],
  ['', 'rateLimit', 'rateLimit'],
  ['', 'renotify', 'renotify'],
  ['', 'journal', 'journal'],
];

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pathOf(level: Level, key: string): string {
  return level === '' ? key : `${level}.${key}`;
}

/** Levenshtein distance, case-insensitive: `flushlevel` and `FlushLevel` are the same name. */
function distance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (left[i - 1] === right[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}

/** The known key closest to `key`, when it is close enough to be a misspelling of it. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const gap = distance(key, candidate);
    const close = gap <= Math.max(1, Math.floor(Math.max(key.length, candidate.length) / 3));
    // `per` for `perMs`, `flushInterval` for `flushIntervalMs`: the unit left out.
    const prefix = key.length >= 3 && candidate.toLowerCase().startsWith(key.toLowerCase());
    if ((close || prefix) && gap < bestDistance) {
      best = candidate;
      bestDistance = gap;
    }
  }
  return best;
}

/** Where else a key of this name is an option, e.g. `user` in `smtp.auth`. */
function otherLevelOf(key: string, level: Level): Level | undefined {
  return (Object.keys(OPTION_KEYS) as Level[]).find(
    (other) => other !== level && (OPTION_KEYS[other] as readonly string[]).includes(key),
  );
}

// Only a key that looks like a name is repeated: one from a file could be long, hold control
// characters, or be a `user:password` pasted in the wrong place.
const NAME = /^[\w$-]{1,64}$/;

function unknownKeyMessage(level: Level, key: string): string {
  const known = OPTION_KEYS[level] as readonly string[];
  if (!NAME.test(key)) {
    const where = level === '' ? '' : ` in \`${level}\``;
    return `Unknown option${where}: a key that is not an option name (not shown: it may hold a password)`;
  }
  const shown = `Unknown option \`${pathOf(level, key)}\``;
  const synonym = SYNONYMS[level]?.[key];
  const elsewhere = otherLevelOf(key, level);
  const closest = synonym ?? (elsewhere === undefined ? closestKey(key, known) : undefined);
  if (closest !== undefined) return `${shown}; did you mean \`${pathOf(level, closest)}\`?`;
  if (elsewhere === '') return `${shown}; \`${key}\` belongs at the top level of the options`;
  if (elsewhere !== undefined) return `${shown}; \`${key}\` belongs in \`${pathOf(elsewhere, key)}\``;
  const list = known.map((name) => `\`${name}\``).join(', ');
  return level === '' ? `${shown}; the options are ${list}` : `${shown}; the options of \`${level}\` are ${list}`;
}

/**
 * Throws a `TypeError` for the first key, at any level of the options, that is not an option: a
 * misspelt or misplaced option would otherwise be ignored without a word. The message names the
 * key and the option that was probably meant, never a value: a misspelt key may hold a password.
 */
export function rejectUnknownKeys(options: Record<string, unknown>): void {
  const objects = new Map<Level, Record<string, unknown>>([['', options]]);
  for (const [parent, key, level] of NESTED) {
    const value = objects.get(parent)?.[key];
    if (isPlainRecord(value)) objects.set(level, value);
  }
  for (const [level, object] of objects) {
    const known = OPTION_KEYS[level] as readonly string[];
    const unknown = Object.keys(object).find((key) => !known.includes(key));
    if (unknown !== undefined) throw new TypeError(unknownKeyMessage(level, unknown));
  }
}
