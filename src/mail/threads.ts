import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { setMostRecent } from '../recent-map';

/** The threading fields of one mail, for nodemailer's `messageId`, `inReplyTo`, `references` and `headers`. */
export interface ThreadHeaders {
  /** The mail's own Message-ID, `<wbm.{key}.{random}@{domain}>`. */
  readonly messageId: string;
  /** The Message-ID of the thread's latest accepted mail; absent for the first mail of a thread. */
  readonly inReplyTo?: string;
  /** The thread's root, then its latest accepted mails, oldest first, at most 10 in all; absent for the first mail. */
  readonly references?: readonly string[];
  /** `Thread-Index` (and `Thread-Topic` when a topic was given), with which Outlook groups a conversation. */
  readonly headers: Readonly<Record<string, string>>;
}

/** How a `ThreadBook` names its mails, and what it may remember. */
export interface ThreadBookOptions {
  /** The sender address (the `from` option); its domain ends each Message-ID. */
  from: string;
  /**
   * Threads remembered; the one used least recently is forgotten first, and its next mail starts a new thread.
   * @default 1000
   */
  maxThreads?: number;
  /**
   * The host name whose cleaned form ends each Message-ID when `from` has no usable domain.
   * @default os.hostname()
   */
  hostname?: string;
  /**
   * The time, in milliseconds since the epoch, written into `Thread-Index`.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Random bytes for Message-IDs and `Thread-Index`, replaced in tests.
   * @default `crypto.randomBytes`, asked for a few kilobytes at a time
   */
  randomBytes?: (size: number) => Buffer;
}

const DEFAULT_MAX_THREADS = 1000;
/** The root and the latest accepted mails after it, in `References`. */
const MAX_REFERENCES = 10;
const MAX_KEY_CHARS = 40;
const MAX_TOPIC_CHARS = 200;
const MAX_MESSAGE_ID_CHARS = 250;
const RANDOM_ID_BYTES = 12;
const GUID_BYTES = 16;
const RANDOM_POOL_BYTES = 4096;

let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

/** Random bytes cut from a few kilobytes asked of the system at once, as `crypto.randomUUID()` does. */
function pooledRandomBytes(size: number): Buffer {
  if (randomPoolOffset + size > randomPool.length) {
    randomPool = randomBytes(Math.max(RANDOM_POOL_BYTES, size));
    randomPoolOffset = 0;
  }
  const bytes = randomPool.subarray(randomPoolOffset, randomPoolOffset + size);
  randomPoolOffset += size;
  return bytes;
}

// Milliseconds between 1601-01-01, where a Windows FILETIME starts, and 1970-01-01.
const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;
// A FILETIME counts 100-nanosecond intervals.
const FILETIME_UNITS_PER_MS = 10_000n;

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
// A msg-id as RFC 5322 allows it, loosely: no spaces, brackets or control characters inside.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const MESSAGE_ID = /^<[^<>\s\u0000-\u001f\u007f]+>$/;

/** The thread key of the regular digests of a UTC day: `digest:2026-11-24`. */
export function digestThreadKey(timeMs: number): string {
  if (!Number.isFinite(timeMs)) throw new RangeError(`Expected a time in milliseconds, got ${timeMs}`);
  return `digest:${new Date(timeMs).toISOString().slice(0, 10)}`;
}

function asDomain(text: string): string | undefined {
  const ascii = domainToASCII(text.trim().toLowerCase().replace(/\.$/, ''));
  return DOMAIN.test(ascii) ? ascii : undefined;
}

/**
 * The domain that ends our Message-IDs: that of the `from` address (punycoded), else the host name
 * cleaned to a domain, else `localhost`.
 */
export function messageDomain(from: string, fallbackHostname: string = hostname()): string {
  try {
    const [mailbox] = addressparser(from, { flatten: true });
    const address = mailbox?.address ?? '';
    const at = address.lastIndexOf('@');
    const fromDomain = at === -1 ? undefined : asDomain(address.slice(at + 1));
    if (fromDomain !== undefined) return fromDomain;
  } catch {
    // An address nodemailer cannot parse leaves the host name.
  }
  const cleaned = fallbackHostname
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '');
  return asDomain(cleaned) ?? 'localhost';
}

/** A thread key as it may appear in a Message-ID: letters, digits and `-`, at most 40. */
function keyInId(threadKey: string): string {
  const safe = threadKey
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_KEY_CHARS)
    .replace(/-+$/, '');
  return safe === '' ? 'mail' : safe;
}

/** A Message-ID as given by a transporter, in angle brackets; undefined when it is not one. */
function normaliseMessageId(messageId: string): string | undefined {
  const trimmed = messageId.trim();
  const bracketed = trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
  return bracketed.length <= MAX_MESSAGE_ID_CHARS + 2 && MESSAGE_ID.test(bracketed) ? bracketed : undefined;
}

function filetime(timeMs: number): bigint {
  return (BigInt(Math.max(0, Math.floor(timeMs))) + FILETIME_EPOCH_OFFSET_MS) * FILETIME_UNITS_PER_MS;
}

interface Thread {
  /** The 22 bytes every `Thread-Index` of the thread starts with: a FILETIME cut to 6 bytes, and a GUID. */
  readonly indexHeader: Buffer;
  /** The FILETIME those 6 bytes stand for. */
  readonly indexTime: bigint;
  root: string | undefined;
  /** The accepted mails after the root, oldest first. */
  readonly recent: string[];
}

/**
 * Makes the mails of one thread (the mails of one fingerprint, or the digests of one UTC day, see
 * `digestThreadKey`) show as one conversation. The first mail of a thread gets a Message-ID of its
 * own and becomes the root once it is confirmed; each later mail gets its own Message-ID,
 * `In-Reply-To` the latest confirmed mail and `References` the root then the latest mails (at most
 * 10), which is what Thunderbird follows and what lets Gmail find the thread even after the root
 * was deleted. Outlook groups by `Thread-Index` instead, whose GUID every mail of the thread shares.
 *
 * Gmail groups a mail into a conversation only when, besides a shared reference, its subject is
 * the same as the thread's (apart from `Re:`-like prefixes), and it starts a new one after 100
 * mails: the subject of a threaded mail must stay stable, without counts or times in it.
 *
 * A mail counts only once the server accepted it (`confirm`): a mail that failed never becomes
 * the root that others point to. At most `maxThreads` threads are remembered, the least recently
 * used forgotten first.
 */
export class ThreadBook {
  /** The domain that ends the Message-IDs. */
  readonly domain: string;
  readonly #threads = new Map<string, Thread>();
  readonly #maxThreads: number;
  readonly #now: () => number;
  readonly #random: (size: number) => Buffer;

  constructor(options: ThreadBookOptions) {
    const maxThreads = options.maxThreads ?? DEFAULT_MAX_THREADS;
    if (!Number.isInteger(maxThreads) || maxThreads < 1) {
      throw new RangeError(`Expected \`maxThreads\` to be a positive integer, got \`${String(maxThreads)}\``);
    }
    this.domain = messageDomain(options.from, options.hostname);
    this.#maxThreads = maxThreads;
    this.#now = options.now ?? Date.now;
    this.#random = options.randomBytes ?? pooledRandomBytes;
  }

  /** The number of threads remembered. */
  get size(): number {
    return this.#threads.size;
  }

  /**
   * The threading fields of the next mail of `threadKey`: a fresh Message-ID, and the references
   * to the mails of the thread confirmed so far. Records nothing about this mail: call `confirm`
   * once the server accepted it.
   * @param topic - the thread's stable subject, sent as `Thread-Topic` for Outlook
   */
  headersFor(threadKey: string, topic?: string): ThreadHeaders {
    const thread = this.#touch(threadKey);
    const messageId = `<wbm.${keyInId(threadKey)}.${this.#random(RANDOM_ID_BYTES).toString('hex')}@${this.domain}>`;
    const headers: Record<string, string> = { 'Thread-Index': this.#threadIndex(thread) };
    const cleanTopic = topic?.replace(UNSAFE_IN_HEADER, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_TOPIC_CHARS);
    if (cleanTopic) headers['Thread-Topic'] = cleanTopic;
    if (thread.root === undefined) return { messageId, headers };
    const references = [thread.root, ...thread.recent];
    return { messageId, inReplyTo: references[references.length - 1], references, headers };
  }

  /**
   * Records a mail of `threadKey` that the server accepted, under the Message-ID it was sent with:
   * the one `headersFor` gave, or the one the transporter reports if it replaced it (Amazon SES
   * does). The first one confirmed becomes the root. Returns false, and records nothing, for a
   * Message-ID that is not one.
   */
  confirm(threadKey: string, messageId: string): boolean {
    const id = normaliseMessageId(messageId);
    if (id === undefined) return false;
    const thread = this.#touch(threadKey);
    if (thread.root === undefined) {
      thread.root = id;
    } else if (thread.root !== id && !thread.recent.includes(id)) {
      thread.recent.push(id);
      if (thread.recent.length > MAX_REFERENCES - 1) thread.recent.shift();
    }
    return true;
  }

  /** The thread of `threadKey`, made the most recently used; a new one when it is not remembered. */
  #touch(threadKey: string): Thread {
    const thread = this.#threads.get(threadKey) ?? this.#newThread();
    setMostRecent(this.#threads, threadKey, thread, this.#maxThreads);
    return thread;
  }

  // [MS-OXOMSG] PidTagConversationIndex: a header block of one byte and the five next most
  // significant bytes of the FILETIME (which together are its top six), then a GUID.
  #newThread(): Thread {
    const indexTime = (filetime(this.#now()) >> 16n) << 16n;
    const indexHeader = Buffer.alloc(6 + GUID_BYTES);
    indexHeader.writeUIntBE(Number(indexTime >> 16n), 0, 6);
    this.#random(GUID_BYTES).copy(indexHeader, 6, 0, GUID_BYTES);
    return { indexHeader, indexTime, root: undefined, recent: [] };
  }

  /**
   * The root's index alone for the first mail; for a later one, the root's and one response block
   * of five bytes: a flag and 31 bits of the time since the root, then a random nibble and a
   * sequence nibble. Every later mail answers the root, so that the index never grows.
   */
  #threadIndex(thread: Thread): string {
    if (thread.root === undefined) return thread.indexHeader.toString('base64');
    const elapsed = filetime(this.#now()) - thread.indexTime;
    const delta = elapsed > 0n ? elapsed : 0n;
    // Under 2^48 units (about 326 days) bits 18 to 48 are kept, beyond that bits 23 to 53.
    const short = delta < 1n << 48n;
    const bits = Number((short ? delta >> 18n : delta >> 23n) & 0x7fffffffn);
    const block = Buffer.alloc(5);
    block.writeUInt32BE(((short ? 0 : 0x80000000) | bits) >>> 0, 0);
    block[4] = (this.#random(1)[0] ?? 0) & 0xf0;
    return Buffer.concat([thread.indexHeader, block]).toString('base64');
  }
}
