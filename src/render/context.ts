import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { escapeHtml } from './html';
import { wellFormed } from './line';
import { cutCharacters } from './subject';

/** One line of the context block: a name and its value, each one line of clean text. */
export interface ContextField {
  readonly name: string;
  readonly value: string;
}

/** Where a mail comes from, in the order it is shown. */
export interface ContextBlock {
  readonly fields: readonly ContextField[];
}

/**
 * The `context` option: fields added to the block at the foot of every mail, such as
 * `{ region: 'eu-west-1', replica: 3 }`. At most 20; names are cut to 40 characters and values to
 * 128; neither may hold a line break or a control character. A name the block already shows
 * (`app`, `host`, `pid`, `node`, `env`, `uptime`, `memory`) replaces that field.
 * @default {}
 */
export type ContextOption = Readonly<Record<string, string | number | boolean>>;

/** What the context block shows besides what it reads from the process. */
export interface ContextOptions {
  /**
   * The application's name; when given, the version is `appVersion` alone.
   * @default `npm_package_name`, else the `name` of `package.json` in the working folder
   */
  appName?: string;
  /**
   * The application's version.
   * @default `npm_package_version`, else the `version` of the same `package.json`
   */
  appVersion?: string;
  /** The user's fields, as `resolveContext` returns them. */
  static?: ContextOption;
}

/** What the context block reads from the running process; replaced in tests. */
export interface ProcessFacts {
  readonly hostname: string;
  readonly pid: number;
  /** `process.version`, e.g. `v20.11.1`. */
  readonly nodeVersion: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working folder, where `package.json` is looked for; '' when it cannot be read. */
  readonly cwd: string;
  /** How long the process has run, in seconds. */
  uptimeSeconds(): number;
  /** The resident set size and the V8 heap in use, in bytes. */
  memoryBytes(): { readonly rss: number; readonly heapUsed: number };
}

const MAX_FIELDS = 20;
const MAX_NAME_CHARS = 40;
const MAX_VALUE_CHARS = 128;
const MAX_PACKAGE_JSON_BYTES = 64 * 1024;
const MIB = 1024 * 1024;

// Control characters, line and paragraph separators, and the marks that reorder text on screen.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]+/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function safeRead<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** The facts of the process this code runs in. Never throws: what cannot be read is left empty. */
export function readProcessFacts(): ProcessFacts {
  return {
    hostname: safeRead(hostname, ''),
    pid: process.pid,
    nodeVersion: process.version,
    env: process.env,
    cwd: safeRead(() => process.cwd(), ''),
    uptimeSeconds: () => process.uptime(),
    memoryBytes: readMemoryAtMostEverySecond(),
  };
}

// Reading the figures costs tens of microseconds, more than the rest of a small mail's context;
// mails that go one after the other within a second show the same figures.
const MEMORY_READ_INTERVAL_MS = 1000;

function readMemoryAtMostEverySecond(): ProcessFacts['memoryBytes'] {
  let memory: ReturnType<ProcessFacts['memoryBytes']> | undefined;
  let readAt = 0;
  return () => {
    const now = performance.now();
    if (memory === undefined || now - readAt >= MEMORY_READ_INTERVAL_MS) {
      const { rss, heapUsed } = process.memoryUsage();
      memory = { rss, heapUsed };
      readAt = now;
    }
    return memory;
  };
}

/**
 * Text from outside the process (the environment, `package.json`, the host name) as one clean
 * line: control characters and reordering marks removed, at most `maxChars` characters.
 */
export function cleanContextValue(text: string, maxChars = MAX_VALUE_CHARS): string {
  const clean = wellFormed(text.slice(0, 4 * maxChars))
    .replace(UNSAFE, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return cutCharacters(clean, maxChars);
}

/** A duration as people say it: `42 s`, `12 min`, `3 h 12 min`, `2 d 4 h`. */
export function describeUptime(seconds: number): string {
  const whole = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / MIB)} MiB`;
}

/**
 * The `name` and `version` strings of the `package.json` in `folder`; empty when it is missing,
 * not a regular file, larger than 64 KiB, or not JSON. Never throws, and never waits on a FIFO.
 */
export function readPackageIdentity(folder: string): { name?: string; version?: string } {
  if (folder === '') return {};
  let descriptor: number | undefined;
  try {
    descriptor = openSync(join(folder, 'package.json'), constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const stats = fstatSync(descriptor);
    if (!stats.isFile() || stats.size > MAX_PACKAGE_JSON_BYTES) return {};
    // One byte more than allowed, to notice a file that grew since it was measured.
    const buffer = Buffer.alloc(MAX_PACKAGE_JSON_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(descriptor, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > MAX_PACKAGE_JSON_BYTES) return {};
    const parsed = JSON.parse(buffer.toString('utf8', 0, length)) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { name, version } = parsed as { name?: unknown; version?: unknown };
    return {
      ...(typeof name === 'string' && { name }),
      ...(typeof version === 'string' && { version }),
    };
  } catch {
    return {};
  } finally {
    if (descriptor !== undefined) safeRead(() => closeSync(descriptor as number), undefined);
  }
}

function applicationOf(options: ContextOptions, facts: ProcessFacts): string {
  const fromEnv = facts.env.npm_package_name;
  const source =
    options.appName !== undefined
      ? {}
      : fromEnv !== undefined && fromEnv !== ''
        ? { name: fromEnv, version: facts.env.npm_package_version }
        : readPackageIdentity(facts.cwd);
  const name = cleanContextValue(options.appName ?? source.name ?? '', MAX_VALUE_CHARS);
  const version = cleanContextValue(options.appVersion ?? source.version ?? '', 40);
  return [name, version].filter((part) => part !== '').join(' ');
}

function field(name: string, value: string): ContextField {
  return Object.freeze({ name, value });
}

/**
 * The context of the mails of one transport. What does not change (application, host, pid, Node.js,
 * `NODE_ENV`, the user's fields) is read once, when it is created; the uptime and the memory when
 * each mail is rendered, by `snapshot()`.
 */
export class ContextSource {
  readonly #before: readonly ContextField[];
  readonly #user: readonly ContextField[];
  readonly #facts: ProcessFacts;

  constructor(options: ContextOptions = {}, facts: ProcessFacts = readProcessFacts()) {
    this.#facts = facts;
    const nodeEnv = facts.env.NODE_ENV;
    this.#before = [
      field('app', applicationOf(options, facts)),
      field('host', cleanContextValue(facts.hostname)),
      field('pid', String(facts.pid)),
      field('node', cleanContextValue(facts.nodeVersion, 40)),
      field('env', nodeEnv === undefined ? '' : cleanContextValue(nodeEnv)),
    ].filter((entry) => entry.value !== '');
    this.#user = Object.entries(options.static ?? {}).map(([name, value]) =>
      field(cleanContextValue(name, MAX_NAME_CHARS), cleanContextValue(String(value))),
    );
  }

  /** The block as it stands now: the fields read once, then the uptime and the memory, then the user's fields. */
  snapshot(): ContextBlock {
    const fields = [...this.#before];
    const uptime = safeRead(() => this.#facts.uptimeSeconds(), undefined);
    if (uptime !== undefined) fields.push(field('uptime', describeUptime(uptime)));
    const memory = safeRead(() => this.#facts.memoryBytes(), undefined);
    if (memory !== undefined) {
      fields.push(field('memory', `rss ${mebibytes(memory.rss)}, heap used ${mebibytes(memory.heapUsed)}`));
    }
    for (const user of this.#user) {
      if (user.name === '' || user.value === '') continue;
      const shown = fields.findIndex((entry) => entry.name === user.name);
      if (shown === -1) fields.push(user);
      else fields[shown] = user;
    }
    return Object.freeze({ fields: Object.freeze(fields) });
  }
}

/** The context block of this moment; see `ContextSource` for a transport, which reads the fixed part once. */
export function collectContext(options: ContextOptions = {}, facts?: ProcessFacts): ContextBlock {
  return new ContextSource(options, facts).snapshot();
}

/** The block as aligned `name: value` lines, for the foot of the text part; '' when it is empty. */
export function renderContextText(block: ContextBlock): string {
  const width = Math.max(0, ...block.fields.map((entry) => entry.name.length)) + 2;
  return block.fields.map((entry) => `${`${entry.name}:`.padEnd(width)}${entry.value}`).join('\n');
}

const TABLE_START =
  '<table style="border-collapse:collapse;margin:16px 0 0;font-family:Menlo,Consolas,monospace;font-size:12px;color:#555;">\n';
const NAME_CELL = '<tr><th style="text-align:left;font-weight:normal;color:#777;padding:1px 12px 1px 0;">';
const VALUE_CELL = '</th><td style="padding:1px 0;">';
const ROW_END = '</td></tr>\n';

/** The block as a small HTML table, every name and value escaped; '' when it is empty. */
export function renderContextHtml(block: ContextBlock): string {
  if (block.fields.length === 0) return '';
  const rows = block.fields.map(
    (entry) => `${NAME_CELL}${escapeHtml(entry.name)}${VALUE_CELL}${escapeHtml(entry.value)}${ROW_END}`,
  );
  return `${TABLE_START}${rows.join('')}</table>\n`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (value === null || value === undefined) return `\`${String(value)}\``;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'bigint') return `\`${String(value)}\` (${typeof value})`;
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function labelOf(optionName: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `${optionName}.${key}` : `${optionName}[${JSON.stringify(key)}]`;
}

/**
 * Validates the `context` option and returns its fields as one-line strings, names cut to 40
 * characters and values to 128, frozen. Throws a `TypeError` naming the field, e.g.
 * ``Expected `context.region` to be a string, a finite number or a boolean, got an object``, or a
 * `RangeError` for more than 20 fields. Values are never repeated in an error.
 * @default optionName 'context'
 */
export function resolveContext(option: unknown, optionName = 'context'): Readonly<Record<string, string>> {
  if (option === undefined) return Object.freeze({});
  if (!isPlainObject(option)) {
    throw new TypeError(
      `Expected \`${optionName}\` to be an object of field names to strings, numbers or booleans, got ${describe(option)}`,
    );
  }
  const keys = Object.keys(option);
  if (keys.length > MAX_FIELDS) {
    throw new RangeError(`Expected \`${optionName}\` to have at most ${MAX_FIELDS} fields, got ${keys.length}`);
  }
  const resolved: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of keys) {
    const label = labelOf(optionName, key);
    if (key.trim() === '' || UNSAFE_TEST.test(key)) {
      throw new TypeError(
        `Expected \`${optionName}\` to have field names of one line without control characters, got ${JSON.stringify(key)}`,
      );
    }
    const value = option[key];
    const valid =
      typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!valid) {
      throw new TypeError(`Expected \`${label}\` to be a string, a finite number or a boolean, got ${describe(value)}`);
    }
    const text = String(value);
    if (UNSAFE_TEST.test(text)) {
      throw new TypeError(`Expected \`${label}\` to be one line without control characters`);
    }
    resolved[cutCharacters(key.trim(), MAX_NAME_CHARS)] = cutCharacters(text, MAX_VALUE_CHARS);
  }
  return Object.freeze(resolved);
}
