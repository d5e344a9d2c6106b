import { types } from 'node:util';
import { describeValue, expected } from '../describe-value';

/** The text that replaces a redacted value unless `censor` names another. */
export const DEFAULT_CENSOR = '[redacted]';

/**
 * The keys whose values are redacted at any depth when the user sets nothing. A key matches when it
 * equals one of these once `-` and `_` are removed and case is ignored: `api_key`, `apiKey` and
 * `API-KEY` all match `apiKey`. Only names that hold a secret whatever the program are listed: a
 * session id, often logged to follow a request, is left to the user's `keys`.
 */
export const DEFAULT_REDACTED_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'clientSecret',
  'secretAccessKey',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'sessionToken',
  'authToken',
  'xAuthToken',
  'jwt',
  'apiKey',
  'xApiKey',
  'authorization',
  'proxyAuthorization',
  'cookie',
  'setCookie',
  'privateKey',
  'credentials',
]);

/**
 * With the default keys, a key whose name ends with one of these (compared as the keys are) is
 * secret too: `newPassword`, `db_password`, `AWS_SECRET_ACCESS_KEY`, `apiSecret`, `x-access-token`.
 */
const DEFAULT_SECRET_ENDINGS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'secretkey',
  'accesskey',
  'privatekey',
  'apikey',
  'token',
  'credentials',
  'authorization',
  'cookie',
]);

/**
 * Decides the value of one property of a logged entry: called for each property at any depth, not
 * for `level`, after the key rules and before the patterns. Return `value` itself to keep it (an
 * object is then searched further), or what to show instead; `undefined` leaves the property out
 * of the JSON. A function that throws has the value replaced by the censor.
 * @param key - the property's name; an array index as a string
 * @param path - the keys from the entry (or from an element of its splat) down to this property, `key` last
 */
export type RedactFunction = (key: string, value: unknown, path: readonly string[]) => unknown;

/** What to redact from each logged entry, in the manner of pino's `redact`. */
export interface RedactRules {
  /**
   * Key names redacted at any depth, matched like the defaults (case, `-` and `_` ignored), or
   * dotted paths from the entry's top such as `req.headers.x-api-key`, where `*` stands for any one
   * key or array index. With `replaceDefaults: false` they add to `DEFAULT_REDACTED_KEYS`.
   * @default []
   */
  keys?: readonly string[];
  /**
   * Patterns searched in every string: the message, string values at any depth, an error's
   * message and stack, and the formatted line. Each match is replaced by the censor; a string is
   * matched literally. Use a lookbehind to keep a prefix: `/(?<=Bearer )[\w.~+/-]+/`.
   * @default []
   */
  patterns?: ReadonlyArray<RegExp | string>;
  /**
   * `true`: only `keys` are redacted, not `DEFAULT_REDACTED_KEYS`.
   * @default false
   */
  replaceDefaults?: boolean;
  /**
   * The text that replaces a redacted value or a matched pattern; one line of at most 100 characters.
   * @default '[redacted]'
   */
  censor?: string;
  /** A function that decides any value the rules above leave; see `RedactFunction`. */
  replacer?: RedactFunction;
}

/**
 * The `redact` option: `false` to redact nothing, a `RedactFunction` (the default keys still apply),
 * or `RedactRules`. `true` and `undefined` mean the default keys only.
 * @default true
 */
export type RedactOption = boolean | RedactFunction | RedactRules;

/** Called when a `replacer` threw while an entry was redacted; the entry was still kept. */
export type RedactionErrorListener = (error: RedactionError) => void;

/**
 * A `replacer` that threw. `code` is `EREDACT`, `path` the keys down to the property, `cause` what
 * was thrown; the message names the path and the error's class, never the value or its text.
 */
export interface RedactionError extends Error {
  code: 'EREDACT';
  path: readonly string[];
}

/** Replaces secrets in logged entries and lines; built by `resolveRedaction`. */
export interface Redaction {
  /** Whether anything is redacted; `false` for `redact: false`. */
  readonly enabled: boolean;
  /**
   * Replaces the secrets of a winston info object, at any depth, and returns it: the top-level keys
   * are replaced on `info` itself, which must be the caller's own shallow copy (a frozen one is
   * copied); a nested object or array is never written to, but copied along the paths where
   * something was replaced, and returned as it was where nothing was. The splat array
   * (`Symbol.for('splat')`) gets the same treatment, with paths counted from each of its elements;
   * the formatted line (`Symbol.for('message')`) and any string that holds JSON get that of
   * `redactText`; `level` and the other symbols are left alone. A value that cannot be read (a
   * throwing getter, a revoked Proxy) becomes `[unreadable: <class of the error>]`, a reference
   * back to an object being searched `[Circular]`, an object more than 16 levels down `[too deep]`,
   * and one that would take the values searched past 10,000 `[too large]`. Never throws: an entry
   * that cannot be read at all comes back as `{ level, message: '[unreadable: …]' }`.
   * @param onError - told when the `replacer` threw, once per entry
   */
  redactEntry<T extends object>(info: T, onError?: RedactionErrorListener): T;
  /**
   * Redacts text already formatted: each pattern, and in JSON the string, number or boolean value
   * of a key matched by name (`"apiKey":"…"`). Dotted paths cannot be matched in text.
   */
  redactText(text: string): string;
  /**
   * What `redactEntry` makes of one top-level property whose value is not an object (the caller
   * checks), for a reader that walks the entry's keys once; undefined when the rules need
   * `redactEntry` (dotted paths, a replacer), or when nothing is redacted.
   */
  readonly redactTopPrimitive: TopPrimitiveRedactor | undefined;
}

/**
 * Returns the redacted form of `value`, the entry's property `key`, which is not an object; or
 * `value` itself when nothing changes. `position`: the key's place among the entry's keys, which
 * lets the entries of one call site skip looking up keys already found not secret there.
 */
export type TopPrimitiveRedactor = (key: string, value: unknown, position: number) => unknown;

const SPLAT = Symbol.for('splat');
const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

const MAX_DEPTH = 16;
const MAX_VALUES = 10_000;
const MAX_CACHED_KEYS = 4096;
const MAX_KNOWN_TOP_KEYS = 64;
const MAX_KEY_CHARS = 200;
const MAX_PATH_SEGMENTS = 16;
const MAX_CENSOR_CHARS = 100;

const CIRCULAR = '[Circular]';
const TOO_DEEP = '[too deep]';
const TOO_LARGE = '[too large]';

const RULE_KEYS = ['keys', 'patterns', 'replaceDefaults', 'censor', 'replacer'] as const;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const NO_PATHS: readonly number[] = Object.freeze([]);
// Returned by path matching when a path ends at the key: its value is redacted.
const PATH_END: readonly number[] = Object.freeze([-1]);

/** Lower case, without `-` and `_`: the form in which key names are compared. */
function normaliseKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

// The class of what was thrown, never its message: the message may quote the value.
function errorClass(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = String(error.name).replace(/[^\w$.-]/g, '');
      return name.slice(0, 40) || 'Error';
    }
    return error === null ? 'null' : typeof error;
  } catch {
    return 'unknown error';
  }
}

function unreadable(error: unknown): string {
  return `[unreadable: ${errorClass(error)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Replaces a top-level value on the caller's copy of the entry; an entry that turns out not to be
 * writable (frozen) is copied once, and the rest goes to the copy.
 */
function writeTop(
  target: Record<string | symbol, unknown>,
  key: string | symbol,
  value: unknown,
): Record<string | symbol, unknown> {
  try {
    target[key] = value;
    return target;
  } catch {
    return { ...target, [key]: value };
  }
}

/** A property on a copy, as data, even when the key is `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

interface CompiledPattern {
  /** Without the `g` flag, so that testing keeps no state. */
  readonly test: RegExp;
  readonly replace: RegExp;
}

interface CompiledRules {
  readonly names: ReadonlySet<string>;
  /** Endings of normalised key names that make a key secret too (`dbPassword`, `apiSecret`). */
  readonly suffixes: readonly string[];
  readonly paths: ReadonlyArray<readonly string[]>;
  readonly patterns: readonly CompiledPattern[];
  readonly censor: string;
  readonly replacer: RedactFunction | undefined;
}

/** `next` is not `current`; NaN is NaN. */
function differs(next: unknown, current: unknown): boolean {
  return next !== current && (next === next || current === current);
}

/** What one redactEntry() call keeps while it searches. */
interface Walk {
  /** The objects from the top down to the one being searched, for cycles. */
  readonly ancestors: object[];
  /** The keys of a plain object at each depth found unchanged so far, for a copy made later. */
  readonly keysSeen: string[][];
  /** The keys down to the property, for the replacer. */
  readonly path: string[];
  budget: number;
  failure: RedactionError | undefined;
}

/**
 * Takes `count` values from the walk's budget, or nothing when it holds fewer: an object too large
 * for what is left is replaced whole, and the smaller ones after it are still searched.
 */
function spend(walk: Walk, count: number): boolean {
  if (count > walk.budget) return false;
  walk.budget -= count;
  return true;
}

function createWalk(): Walk {
  return { ancestors: [], keysSeen: [], path: [], budget: MAX_VALUES, failure: undefined };
}

function redactionError(path: readonly string[], cause: unknown, censor: string): RedactionError {
  const where = path.join('.').slice(0, 200);
  const error = new Error(
    `The \`redact\` replacer threw ${errorClass(cause)} at \`${where}\`; the value was replaced by \`${censor}\``,
    { cause },
  ) as RedactionError;
  error.code = 'EREDACT';
  error.path = Object.freeze([...path]);
  return error;
}

class RuleRedaction implements Redaction {
  readonly enabled = true;
  readonly #names: ReadonlySet<string>;
  readonly #paths: ReadonlyArray<readonly string[]>;
  readonly #rootPaths: readonly number[];
  readonly #patterns: readonly CompiledPattern[];
  readonly #censor: string;
  readonly #censorJson: string;
  readonly #replacer: RedactFunction | undefined;
  // `"apiKey": "…"` in JSON text, for the names only.
  readonly #jsonPairs: RegExp | undefined;
  /** The length of the shortest JSON pair `#jsonPairs` can match, `"pwd":1`. */
  readonly #shortestPair: number;
  readonly #secretNames = new Map<string, boolean>();
  readonly #suffixes: readonly string[];
  /** A bit for each letter a to z that a name starts with. */
  readonly #firstLetters: number;
  readonly #normalisedKeys = new Map<string, string>();
  #spareWalk: Walk | undefined = createWalk();
  /**
   * Top-level keys found not secret, by position: the entries of one call site have the same keys
   * in the same order, and comparing a key with the one last seen there is cheaper than a lookup.
   */
  readonly #plainTopKeys: string[] = Array.from({ length: MAX_KNOWN_TOP_KEYS }, () => '');
  readonly redactTopPrimitive: TopPrimitiveRedactor | undefined;

  constructor(rules: CompiledRules) {
    this.#names = rules.names;
    this.#suffixes = rules.suffixes;
    this.#paths = rules.paths;
    this.#rootPaths = Object.freeze(rules.paths.map((_path, index) => index * MAX_PATH_SEGMENTS));
    this.#patterns = rules.patterns;
    this.#censor = rules.censor;
    this.#censorJson = JSON.stringify(rules.censor);
    this.#replacer = rules.replacer;
    let firstLetters = 0;
    for (const name of rules.names) {
      const first = name.charCodeAt(0);
      if (first >= 0x61 && first <= 0x7a) firstLetters |= 1 << (first - 0x61);
    }
    this.#firstLetters = firstLetters;
    this.redactTopPrimitive =
      rules.paths.length === 0 && rules.replacer === undefined
        ? (key, value, position) => this.#redactTopPrimitive(key, value, position)
        : undefined;
    this.#shortestPair = Math.min(...[...rules.names].map((name) => name.length)) + '"":1'.length;
    if (rules.names.size > 0) {
      const names = [...rules.names]
        .sort((a, b) => b.length - a.length)
        .map((name) => [...name].map(escapeRegExp).join('[-_]*'));
      this.#jsonPairs = new RegExp(
        `"[-_]*(?:${names.join('|')})[-_]*"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*"|-?\\d[\\d.eE+-]*|true|false)`,
        'gi',
      );
    }
  }

  redactEntry<T extends object>(info: T, onError?: RedactionErrorListener): T {
    const walk = this.#spareWalk ?? createWalk();
    this.#spareWalk = undefined;
    try {
      let result: T;
      try {
        result = this.#redactTop(info as Record<string | symbol, unknown>, walk) as T;
      } catch (error) {
        result = this.#unreadableEntry(info, error) as T;
      }
      if (walk.failure && onError) {
        try {
          onError(walk.failure);
        } catch {
          // The listener's failure must not lose the entry.
        }
      }
      return result;
    } finally {
      // Emptied only when something threw half-way: setting an array's length is not cheap.
      if (walk.ancestors.length !== 0) walk.ancestors.length = 0;
      if (walk.path.length !== 0) walk.path.length = 0;
      walk.budget = MAX_VALUES;
      walk.failure = undefined;
      this.#spareWalk = walk;
    }
  }

  redactText(text: string): string {
    let result = text;
    for (const pattern of this.#patterns) {
      if (pattern.test.test(result)) result = result.replace(pattern.replace, this.#replaceMatch);
    }
    const pairs = this.#jsonPairs;
    if (pairs !== undefined && result.includes('"')) {
      result = result.replace(pairs, (match: string, value: string) =>
        value === this.#censorJson ? match : `${match.slice(0, match.length - value.length)}${this.#censorJson}`,
      );
    }
    return result;
  }

  readonly #replaceMatch = (match: string): string => (match === '' ? match : this.#censor);

  #redactTop(info: Record<string | symbol, unknown>, walk: Walk): object {
    let target = info;
    walk.ancestors.push(info);
    // The transport's own spread copy: every enumerable key is its own, and for-in reads them
    // several times faster than a loop over Object.keys(). An entry that cannot be enumerated (a
    // revoked Proxy) throws here, and is replaced as a whole.
    const plain = this.redactTopPrimitive !== undefined;
    let index = 0;
    for (const key in info) {
      if (key === 'level') continue;
      let value: unknown;
      try {
        value = info[key];
      } catch (error) {
        target = writeTop(target, key, unreadable(error));
        continue;
      }
      const next =
        plain && (typeof value !== 'object' || value === null)
          ? this.#redactTopPrimitive(key, value, index)
          : this.#redactProperty(key, value, 1, this.#rootPaths, walk);
      index++;
      if (differs(next, value)) target = writeTop(target, key, next);
    }
    try {
      const splat = info[SPLAT];
      if (Array.isArray(splat)) {
        const next = this.#redactSplat(splat, walk);
        if (next !== splat) target = writeTop(target, SPLAT, next);
      }
    } catch {
      // Its elements were merged into the entry, which was searched: a splat that cannot be read is dropped.
      target = writeTop(target, SPLAT, undefined);
    }
    try {
      const line = info[MESSAGE];
      if (typeof line === 'string') {
        const next = this.redactText(line);
        if (next !== line) target = writeTop(target, MESSAGE, next);
      }
    } catch (error) {
      target = writeTop(target, MESSAGE, unreadable(error));
    }
    walk.ancestors.pop();
    return target;
  }

  /** A top-level value that holds no other, under no dotted path and no replacer: the key, then the patterns. */
  #redactTopPrimitive(key: string, value: unknown, position: number): unknown {
    const known = this.#plainTopKeys;
    if (known[position] !== key) {
      if (this.#names.size > 0 && this.#isSecretName(key)) return isBlank(value) ? value : this.#censor;
      if (position < MAX_KNOWN_TOP_KEYS && key.length <= MAX_KEY_CHARS) known[position] = key;
    }
    return typeof value === 'string' ? this.#redactString(value) : value;
  }

  #unreadableEntry(info: object, error: unknown): object {
    let level: unknown;
    try {
      level = (info as Record<string | symbol, unknown>)[LEVEL] ?? (info as Record<string, unknown>).level;
    } catch {
      level = undefined;
    }
    const name = typeof level === 'string' ? level : 'error';
    return { level: name, message: unreadable(error), [LEVEL]: name };
  }

  #redactSplat(splat: unknown[], walk: Walk): unknown[] {
    const length = splat.length;
    if (!spend(walk, length)) return [TOO_LARGE];
    let copy: unknown[] | undefined;
    for (let index = 0; index < length; index++) {
      const value = splat[index];
      const next = this.#redactValue(value, 1, this.#rootPaths, walk);
      if (copy === undefined && differs(next, value)) copy = splat.slice(0, index);
      if (copy !== undefined) copy.push(next);
    }
    return copy ?? splat;
  }

  #isSecretName(key: string): boolean {
    // Most keys are rejected by their first letter, before any lookup, when no ending counts.
    const first = key.charCodeAt(0) | 0x20;
    if (
      this.#suffixes.length === 0 &&
      first >= 0x61 &&
      first <= 0x7a &&
      (this.#firstLetters & (1 << (first - 0x61))) === 0
    ) {
      return false;
    }
    let secret = this.#secretNames.get(key);
    if (secret === undefined) {
      const normalised = normaliseKey(key);
      secret = this.#names.has(normalised) || this.#suffixes.some((suffix) => normalised.endsWith(suffix));
      if (this.#secretNames.size < MAX_CACHED_KEYS && key.length <= MAX_KEY_CHARS) this.#secretNames.set(key, secret);
    }
    return secret;
  }

  #normalised(key: string): string {
    let normalised = this.#normalisedKeys.get(key);
    if (normalised === undefined) {
      normalised = normaliseKey(key);
      if (this.#normalisedKeys.size < MAX_CACHED_KEYS && key.length <= MAX_KEY_CHARS) {
        this.#normalisedKeys.set(key, normalised);
      }
    }
    return normalised;
  }

  /** The paths still open below `key`, or PATH_END when one of them ends at it. */
  #followPaths(key: string, open: readonly number[]): readonly number[] {
    const normalised = this.#normalised(key);
    let next: number[] | undefined;
    for (const state of open) {
      const pathIndex = Math.floor(state / MAX_PATH_SEGMENTS);
      const position = state % MAX_PATH_SEGMENTS;
      const path = this.#paths[pathIndex] as readonly string[];
      const segment = path[position];
      if (segment !== '*' && segment !== normalised) continue;
      if (position === path.length - 1) return PATH_END;
      (next ??= []).push(state + 1);
    }
    return next ?? NO_PATHS;
  }

  #redactProperty(key: string, value: unknown, depth: number, open: readonly number[], walk: Walk): unknown {
    const below = open.length === 0 ? NO_PATHS : this.#followPaths(key, open);
    if (below === PATH_END || (this.#names.size > 0 && this.#isSecretName(key))) {
      return isBlank(value) ? value : this.#censor;
    }
    const replacer = this.#replacer;
    if (replacer === undefined) return this.#redactValue(value, depth, below, walk);
    walk.path.push(key);
    try {
      let replaced: unknown;
      try {
        replaced = replacer(key, value, [...walk.path]);
      } catch (error) {
        walk.failure ??= redactionError(walk.path, error, this.#censor);
        return this.#censor;
      }
      return !differs(replaced, value) ? this.#redactValue(value, depth, below, walk) : replaced;
    } finally {
      walk.path.pop();
    }
  }

  #redactElement(index: number, value: unknown, depth: number, open: readonly number[], walk: Walk): unknown {
    if (open.length === 0 && this.#replacer === undefined) return this.#redactValue(value, depth, NO_PATHS, walk);
    return this.#redactProperty(String(index), value, depth, open, walk);
  }

  #redactString(text: string): string {
    if (this.#patterns.length === 0 && (this.#jsonPairs === undefined || text.length < this.#shortestPair)) return text;
    return this.redactText(text);
  }

  #redactValue(value: unknown, depth: number, open: readonly number[], walk: Walk): unknown {
    if (typeof value === 'string') return this.#redactString(value);
    if (typeof value !== 'object' || value === null) return value;
    if (depth > MAX_DEPTH) return TOO_DEEP;
    if (walk.ancestors.includes(value)) return CIRCULAR;
    try {
      if (Array.isArray(value)) return this.#redactArray(value as unknown[], depth, open, walk);
      const prototype = Object.getPrototypeOf(value) as unknown;
      // Plain objects first, the usual meta, with no more checks; but one with a `toJSON` of its
      // own shows what that returns, which a closure may hold apart from the object's fields.
      if (
        (prototype === Object.prototype || prototype === null) &&
        typeof (value as { toJSON?: unknown }).toJSON !== 'function'
      ) {
        return this.#redactPlainObject(value as Record<string, unknown>, depth, open, walk);
      }
      if (value instanceof Error || types.isNativeError(value)) return this.#redactError(value, depth, open, walk);
      if (value instanceof Map) return this.#redactMap(value as Map<unknown, unknown>, depth, open, walk);
      if (value instanceof Set) return this.#redactSet(value as Set<unknown>, depth, walk);
      if (value instanceof String) {
        const text = value.valueOf();
        const next = this.#redactString(text);
        return next === text ? value : next;
      }
      if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp) return value;
      // What JSON shows of an object with `toJSON` (a URL, a database document) is what it returns.
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        const json: unknown = toJSON.call(value, '');
        if (json !== value) {
          walk.ancestors.push(value);
          const next = this.#redactValue(json, depth, open, walk);
          walk.ancestors.pop();
          return differs(next, json) ? next : value;
        }
      }
      return this.#redactOtherObject(value as Record<string, unknown>, depth, open, walk);
    } catch (error) {
      return unreadable(error);
    }
  }

  #keysSeen(depth: number, walk: Walk): string[] {
    let keys = walk.keysSeen[depth];
    if (keys === undefined) walk.keysSeen[depth] = keys = [];
    return keys;
  }

  #redactPlainObject(value: Record<string, unknown>, depth: number, open: readonly number[], walk: Walk): unknown {
    const seen = this.#keysSeen(depth, walk);
    let copy: Record<string, unknown> | undefined;
    let count = 0;
    walk.ancestors.push(value);
    try {
      // A plain object inherits no enumerable key: for-in lists its own, and reads them several
      // times faster than a loop over Object.keys().
      for (const key in value) {
        if (--walk.budget < 0) return TOO_LARGE;
        let current: unknown;
        let next: unknown;
        try {
          current = value[key];
          next = this.#redactProperty(key, current, depth + 1, open, walk);
        } catch (error) {
          next = unreadable(error);
        }
        if (copy === undefined) {
          if (!differs(next, current)) {
            seen[count++] = key;
            continue;
          }
          copy = this.#copyBefore(value, seen, count, depth, open, walk);
        }
        setOwn(copy, key, next);
      }
    } finally {
      walk.ancestors.pop();
    }
    return copy ?? value;
  }

  #redactOtherObject(value: Record<string, unknown>, depth: number, open: readonly number[], walk: Walk): unknown {
    const keys = Object.keys(value);
    if (!spend(walk, keys.length)) return TOO_LARGE;
    let copy: Record<string, unknown> | undefined;
    walk.ancestors.push(value);
    try {
      keys.forEach((key, index) => {
        let current: unknown;
        let next: unknown;
        try {
          current = value[key];
          next = this.#redactProperty(key, current, depth + 1, open, walk);
        } catch (error) {
          next = unreadable(error);
        }
        if (copy === undefined && differs(next, current))
          copy = this.#copyBefore(value, keys, index, depth, open, walk);
        if (copy !== undefined) setOwn(copy, key, next);
      });
    } finally {
      walk.ancestors.pop();
    }
    return copy ?? value;
  }

  /**
   * A copy of `source` with its first `count` keys, found unchanged. Their values are read and
   * searched once more rather than kept from the first pass, so that no logged value outlives its
   * entry in a scratch list; a getter that answers differently the second time is searched again.
   */
  #copyBefore(
    source: Record<string, unknown>,
    keys: readonly string[],
    count: number,
    depth: number,
    open: readonly number[],
    walk: Walk,
  ): Record<string, unknown> {
    const copy = Object.getPrototypeOf(source) === null ? (Object.create(null) as Record<string, unknown>) : {};
    for (let index = 0; index < count; index++) {
      const key = keys[index] as string;
      let next: unknown;
      try {
        next = this.#redactProperty(key, source[key], depth + 1, open, walk);
      } catch (error) {
        next = unreadable(error);
      }
      setOwn(copy, key, next);
    }
    return copy;
  }

  #redactArray(value: unknown[], depth: number, open: readonly number[], walk: Walk): unknown {
    const length = value.length;
    if (!spend(walk, length)) return TOO_LARGE;
    let copy: unknown[] | undefined;
    walk.ancestors.push(value);
    try {
      for (let index = 0; index < length; index++) {
        let current: unknown;
        let next: unknown;
        try {
          current = value[index];
          next = this.#redactElement(index, current, depth + 1, open, walk);
        } catch (error) {
          next = unreadable(error);
        }
        if (copy === undefined && differs(next, current)) {
          // As for objects: the elements before are read and searched again, not kept.
          copy = [];
          for (let before = 0; before < index; before++) {
            let element: unknown;
            try {
              element = this.#redactElement(before, value[before], depth + 1, open, walk);
            } catch (error) {
              element = unreadable(error);
            }
            copy.push(element);
          }
        }
        if (copy !== undefined) copy.push(next);
      }
    } finally {
      walk.ancestors.pop();
    }
    return copy ?? value;
  }

  #redactMap(value: Map<unknown, unknown>, depth: number, open: readonly number[], walk: Walk): unknown {
    if (!spend(walk, value.size)) return TOO_LARGE;
    const entries = [...Map.prototype.entries.call(value)] as Array<[unknown, unknown]>;
    let changed = false;
    walk.ancestors.push(value);
    try {
      for (const entry of entries) {
        const [key, current] = entry;
        const next =
          typeof key === 'string'
            ? this.#redactProperty(key, current, depth + 1, open, walk)
            : this.#redactValue(current, depth + 1, NO_PATHS, walk);
        if (differs(next, current)) {
          entry[1] = next;
          changed = true;
        }
      }
    } finally {
      walk.ancestors.pop();
    }
    return changed ? new Map(entries) : value;
  }

  #redactSet(value: Set<unknown>, depth: number, walk: Walk): unknown {
    if (!spend(walk, value.size)) return TOO_LARGE;
    const values = [...Set.prototype.values.call(value)] as unknown[];
    let changed = false;
    walk.ancestors.push(value);
    try {
      values.forEach((current, index) => {
        const next = this.#redactValue(current, depth + 1, NO_PATHS, walk);
        if (differs(next, current)) {
          values[index] = next;
          changed = true;
        }
      });
    } finally {
      walk.ancestors.pop();
    }
    return changed ? new Set(values) : value;
  }

  // The message and stack are searched for patterns; the enumerable properties (an HTTP client's
  // request config, say) and the cause like those of any object.
  #redactError(value: Error, depth: number, open: readonly number[], walk: Walk): unknown {
    const fields = value as unknown as Record<string, unknown>;
    const keys = Object.keys(value);
    if (!spend(walk, keys.length + 3)) return TOO_LARGE;
    const hidden = new Map<string, unknown>();
    const visible: Array<[string, unknown]> = [];
    let changed = false;
    walk.ancestors.push(value);
    try {
      for (const key of ['message', 'stack']) {
        const current = fields[key];
        if (typeof current !== 'string' || keys.includes(key)) continue;
        const next = this.#redactString(current);
        if (next !== current) hidden.set(key, next);
      }
      if (Object.hasOwn(value, 'cause') && !keys.includes('cause')) {
        const current = fields.cause;
        const next = this.#redactProperty('cause', current, depth + 1, open, walk);
        if (differs(next, current)) hidden.set('cause', next);
      }
      for (const key of keys) {
        let current: unknown;
        let next: unknown;
        try {
          current = fields[key];
          next = this.#redactProperty(key, current, depth + 1, open, walk);
        } catch (error) {
          next = unreadable(error);
        }
        visible.push([key, next]);
        if (differs(next, current)) changed = true;
      }
    } finally {
      walk.ancestors.pop();
    }
    if (!changed && hidden.size === 0) return value;
    // The copy keeps the prototype, so that it is still an Error for whatever renders it.
    const copy = Object.create(Object.getPrototypeOf(value) as object | null) as object;
    for (const key of ['name', 'message', 'stack', 'cause']) {
      if (keys.includes(key) || !(hidden.has(key) || Object.hasOwn(value, key))) continue;
      const own = hidden.has(key) ? hidden.get(key) : fields[key];
      Object.defineProperty(copy, key, { value: own, enumerable: false, writable: true, configurable: true });
    }
    for (const [key, next] of visible) {
      Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
}

class NoRedaction implements Redaction {
  readonly enabled = false;
  readonly redactTopPrimitive = undefined;

  redactEntry<T extends object>(info: T): T {
    return info;
  }

  redactText(text: string): string {
    return text;
  }
}

function resolveKeys(name: string, value: unknown): { names: string[]; paths: string[][] } {
  if (value === undefined) return { names: [], paths: [] };
  if (!Array.isArray(value)) {
    throw new TypeError(expected(name, 'an array of key names or dotted paths such as `req.headers.cookie`', value));
  }
  const names: string[] = [];
  const paths: string[][] = [];
  value.forEach((key: unknown, index) => {
    const label = `${name}[${index}]`;
    const expectation = 'a key name or a dotted path such as `req.headers.cookie`';
    if (typeof key !== 'string' || key === '') throw new TypeError(expected(label, expectation, key));
    if (key.length > MAX_KEY_CHARS || CONTROL_CHARACTERS.test(key)) {
      throw new TypeError(
        `Expected \`${label}\` to be ${expectation}, of at most ${MAX_KEY_CHARS} characters and without control characters`,
      );
    }
    const segments = key.split('.');
    if (segments.length > MAX_PATH_SEGMENTS) {
      throw new RangeError(expected(label, `a path of at most ${MAX_PATH_SEGMENTS} keys`, key));
    }
    const normalised = segments.map((segment) => (segment === '*' ? segment : normaliseKey(segment)));
    if (normalised.some((segment) => segment === '')) {
      throw new TypeError(
        expected(label, `${expectation}, each key with a character other than \`-\`, \`_\` and \`.\``, key),
      );
    }
    if (segments.length === 1) {
      if (key === '*') {
        throw new TypeError(expected(label, `${expectation} (\`*\` stands for one key of a path)`, key));
      }
      names.push(normalised[0] as string);
    } else {
      paths.push(normalised);
    }
  });
  return { names, paths };
}

function compilePattern(label: string, pattern: unknown): CompiledPattern {
  if (typeof pattern === 'string') {
    // A literal pattern is probably the secret itself: it is never repeated in an error.
    if (pattern === '') throw new TypeError(`Expected \`${label}\` to be a RegExp or a non-empty string, got ''`);
    const source = escapeRegExp(pattern);
    return { test: new RegExp(source), replace: new RegExp(source, 'g') };
  }
  if (!types.isRegExp(pattern)) {
    throw new TypeError(expected(label, 'a RegExp or a non-empty string', pattern));
  }
  const flags = pattern.flags.replace(/[gy]/g, '');
  const test = new RegExp(pattern.source, flags);
  if (test.test('')) {
    throw new RangeError(
      `Expected \`${label}\` to match at least one character, got ${String(pattern)}, which matches ''`,
    );
  }
  return { test, replace: new RegExp(pattern.source, `${flags}g`) };
}

function resolvePatterns(name: string, value: unknown): CompiledPattern[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    const got = typeof value === 'string' ? 'a string (not shown)' : describeValue(value);
    throw new TypeError(`Expected \`${name}\` to be an array of RegExps or strings, got ${got}`);
  }
  return value.map((pattern: unknown, index) => compilePattern(`${name}[${index}]`, pattern));
}

function resolveCensor(name: string, value: unknown): string {
  if (value === undefined) return DEFAULT_CENSOR;
  if (typeof value !== 'string') throw new TypeError(expected(name, 'a string', value));
  if (value.length > MAX_CENSOR_CHARS || CONTROL_CHARACTERS.test(value)) {
    throw new RangeError(
      expected(name, `one line of at most ${MAX_CENSOR_CHARS} characters`, value.slice(0, MAX_CENSOR_CHARS)),
    );
  }
  return value;
}

function resolveRules(name: string, rules: Record<string, unknown>): Redaction {
  const unknown = Object.keys(rules).find((key) => !(RULE_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) {
    const hint = unknown === 'paths' ? " (pino's `paths` are `keys` here)" : '';
    throw new TypeError(
      `Expected \`${name}\` to have only the keys ${RULE_KEYS.map((key) => `\`${key}\``).join(', ')}, got \`${unknown}\`${hint}`,
    );
  }
  const { names, paths } = resolveKeys(`${name}.keys`, rules.keys);
  const patterns = resolvePatterns(`${name}.patterns`, rules.patterns);
  const { replaceDefaults = false, replacer } = rules;
  if (typeof replaceDefaults !== 'boolean') {
    throw new TypeError(expected(`${name}.replaceDefaults`, 'a boolean', replaceDefaults));
  }
  if (replacer !== undefined && typeof replacer !== 'function') {
    throw new TypeError(expected(`${name}.replacer`, 'a function `(key, value, path) => value`', replacer));
  }
  const censor = resolveCensor(`${name}.censor`, rules.censor);
  const allNames = replaceDefaults ? names : [...DEFAULT_REDACTED_KEYS.map(normaliseKey), ...names];
  if (allNames.length === 0 && paths.length === 0 && patterns.length === 0 && replacer === undefined) {
    return new NoRedaction();
  }
  return new RuleRedaction({
    names: new Set(allNames),
    suffixes: replaceDefaults ? [] : DEFAULT_SECRET_ENDINGS,
    paths,
    patterns,
    censor,
    replacer: replacer as RedactFunction | undefined,
  });
}

/**
 * Validates the `redact` option and builds what applies it. Throws a `TypeError` (wrong type) or a
 * `RangeError` (out of bounds) naming the option and the element at fault, e.g.
 * ``Expected `redact.keys[1]` to be a key name or a dotted path such as `req.headers.cookie`, got `42` (number)``;
 * a string given as a pattern is never repeated, since it may be the secret itself.
 * @param optionName - the name errors give the option
 * @default optionName 'redact'
 */
export function resolveRedaction(option: unknown, optionName = 'redact'): Redaction {
  if (option === undefined || option === true) return resolveRules(optionName, {});
  if (option === false) return new NoRedaction();
  if (typeof option === 'function') return resolveRules(optionName, { replacer: option });
  if (!isPlainObject(option)) {
    throw new TypeError(
      expected(
        optionName,
        '`false`, a function `(key, value, path) => value` or an object with `keys`, `patterns`, `replaceDefaults`, `censor` or `replacer`',
        option,
      ),
    );
  }
  return resolveRules(optionName, option);
}
