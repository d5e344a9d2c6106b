import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { digestThreadKey, messageDomain, ThreadBook, type ThreadBookOptions } from '../../src/mail/threads';

const T0 = Date.UTC(2026, 10, 24, 4, 32, 8, 123);
const HOUR_MS = 3_600_000;

/** Random bytes that tell their calls apart: the n-th call fills its buffer with 0x11 * n. */
function countingRandom(): (size: number) => Buffer {
  let call = 0;
  return (size) => Buffer.alloc(size, 0x11 * ++call);
}

function book(options: Partial<ThreadBookOptions> = {}): { book: ThreadBook; clock: { now: number } } {
  const clock = { now: T0 };
  return {
    book: new ThreadBook({
      from: 'App <app@example.com>',
      now: () => clock.now,
      randomBytes: countingRandom(),
      ...options,
    }),
    clock,
  };
}

describe('ThreadBook', () => {
  test('the first mail of a thread gets a Message-ID of our own and the root of a Thread-Index', () => {
    const { book: threads } = book();

    expect(threads.headersFor('fp-3f9a2c', 'Payment declined')).toEqual({
      messageId: `<wbm.fp-3f9a2c.${'22'.repeat(12)}@example.com>`,
      headers: { 'Thread-Index': 'Ad17zMPnEREREREREREREREREREREQ==', 'Thread-Topic': 'Payment declined' },
    });
  });

  test('a later mail replies to the confirmed root, with a response block in its Thread-Index', () => {
    const { book: threads, clock } = book();
    const first = threads.headersFor('fp-3f9a2c');
    threads.confirm('fp-3f9a2c', first.messageId);
    clock.now = T0 + HOUR_MS;

    expect(threads.headersFor('fp-3f9a2c')).toEqual({
      messageId: `<wbm.fp-3f9a2c.${'33'.repeat(12)}@example.com>`,
      inReplyTo: first.messageId,
      references: [first.messageId],
      headers: { 'Thread-Index': 'Ad17zMPnEREREREREREREREREREREQACGHFA' },
    });
  });

  test('after a year the response block keeps coarser bits of the time, with its flag set', () => {
    const { book: threads, clock } = book();
    threads.confirm('k', threads.headersFor('k').messageId);
    clock.now = T0 + 400 * 24 * HOUR_MS;

    expect(threads.headersFor('k').headers['Thread-Index']).toBe('Ad17zMPnEREREREREREREREREREREYJ0pIpA');
  });

  test('each mail replies to the latest one; References keep the root and the latest nine', () => {
    const { book: threads } = book();
    const sent: string[] = [];
    for (let index = 0; index < 12; index++) {
      const { messageId } = threads.headersFor('k');
      threads.confirm('k', messageId);
      sent.push(messageId);
    }

    const next = threads.headersFor('k');

    expect(next.inReplyTo).toBe(sent[11]);
    expect(next.references).toEqual([sent[0], ...sent.slice(3)]);
  });

  test('a mail never confirmed is never referred to; the next one becomes the root instead', () => {
    const { book: threads } = book();
    threads.headersFor('k');
    const second = threads.headersFor('k');

    expect(second.inReplyTo).toBeUndefined();
    expect(second.references).toBeUndefined();

    threads.confirm('k', second.messageId);
    expect(threads.headersFor('k').inReplyTo).toBe(second.messageId);
  });

  test('all mails of a thread share the Thread-Index root, whenever they were made', () => {
    const { book: threads, clock } = book();
    const first = threads.headersFor('k');
    threads.confirm('k', first.messageId);
    clock.now = T0 + 5 * HOUR_MS;

    const later = threads.headersFor('k');
    const rootBytes = Buffer.from(first.headers['Thread-Index'] ?? '', 'base64');
    const laterBytes = Buffer.from(later.headers['Thread-Index'] ?? '', 'base64');

    expect(rootBytes).toHaveLength(22);
    expect(laterBytes).toHaveLength(27);
    expect(laterBytes.subarray(0, 22)).toEqual(rootBytes);
  });

  test('threads are kept apart', () => {
    const { book: threads } = book();
    threads.confirm('a', threads.headersFor('a').messageId);

    const other = threads.headersFor('b');

    expect(other.inReplyTo).toBeUndefined();
    expect(other.messageId).toMatch(/^<wbm\.b\.[0-9a-f]{24}@example\.com>$/);
  });

  test('confirm takes the Message-ID the transporter reports, with or without brackets, and refuses what is not one', () => {
    const { book: threads } = book();
    threads.headersFor('k');

    expect(threads.confirm('k', 'not an id')).toBe(false);
    expect(threads.confirm('k', '<a\r\nb@x>')).toBe(false);
    expect(threads.confirm('k', '')).toBe(false);
    expect(threads.confirm('k', `${'a'.repeat(251)}@x`)).toBe(false);
    expect(threads.confirm('k', '0100018c-ses@email.amazonses.com')).toBe(true);
    expect(threads.headersFor('k').references).toEqual(['<0100018c-ses@email.amazonses.com>']);
  });

  test('confirming the same mail twice records it once', () => {
    const { book: threads } = book();
    const first = threads.headersFor('k').messageId;
    const second = threads.headersFor('k').messageId;
    threads.confirm('k', first);
    threads.confirm('k', second);
    threads.confirm('k', second);
    threads.confirm('k', first);

    expect(threads.headersFor('k').references).toEqual([first, second]);
  });

  test('remembers at most maxThreads threads, forgetting the least recently used', () => {
    const { book: threads } = book({ maxThreads: 2 });
    for (const key of ['a', 'b']) threads.confirm(key, threads.headersFor(key).messageId);
    threads.headersFor('a');
    threads.confirm('c', threads.headersFor('c').messageId);

    expect(threads.size).toBe(2);
    expect(threads.headersFor('a').inReplyTo).toBeDefined();
    expect(threads.headersFor('b').inReplyTo).toBeUndefined();
  });

  test('with the default random bytes, Message-IDs and Thread-Index GUIDs never repeat, across many threads', () => {
    const threads = new ThreadBook({ from: 'app@example.com', maxThreads: 5000 });
    const ids = new Set<string>();
    const guids = new Set<string>();
    for (let index = 0; index < 3000; index++) {
      const { messageId, headers } = threads.headersFor(`thread-${index % 1500}`);
      ids.add(messageId);
      const guid = Buffer.from(headers['Thread-Index'] ?? '', 'base64')
        .subarray(6, 22)
        .toString('hex');
      guids.add(`${index % 1500} ${guid}`);
      expect(messageId).toMatch(new RegExp(`^<wbm\\.thread-${index % 1500}\\.[0-9a-f]{24}@example\\.com>$`));
    }

    expect(ids.size).toBe(3000);
    // One GUID per thread, the same for each of its mails.
    expect(guids.size).toBe(1500);
    expect(new Set([...guids].map((entry) => entry.split(' ')[1])).size).toBe(1500);
  });

  test('refuses a maxThreads that is not a positive integer', () => {
    expect(() => new ThreadBook({ from: 'a@b.c', maxThreads: 0 })).toThrow(
      new RangeError('Expected `maxThreads` to be a positive integer, got `0`'),
    );
  });

  test('a thread key becomes letters, digits and dashes in the Message-ID; the topic one clean line', () => {
    const { book: threads } = book();

    const headers = threads.headersFor(`digest:2026-11-24 <x>@${'y'.repeat(60)}`, 'Daily digest\r\nBcc: x@y');

    expect(headers.messageId).toBe(`<wbm.digest-2026-11-24-x-${'y'.repeat(20)}.${'22'.repeat(12)}@example.com>`);
    expect(headers.headers['Thread-Topic']).toBe('Daily digest Bcc: x@y');
  });

  test('the fields plug into nodemailer, and a mail parser reads the thread back', async () => {
    const { book: threads } = book();
    const first = threads.headersFor('k', 'Disk full');
    threads.confirm('k', first.messageId);
    const second = threads.headersFor('k', 'Disk full');
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });

    const info = await transport.sendMail({
      from: 'App <app@example.com>',
      to: 'ops@example.com',
      subject: 'Disk full',
      text: 'x',
      messageId: second.messageId,
      inReplyTo: second.inReplyTo,
      references: [...(second.references ?? [])],
      headers: { ...second.headers },
    });
    const parsed = await simpleParser((info as unknown as { message: Buffer }).message);

    expect(parsed.messageId).toBe(second.messageId);
    expect(parsed.inReplyTo).toBe(first.messageId);
    expect(parsed.references).toBe(first.messageId);
    expect(parsed.headers.get('thread-index')).toBe(second.headers['Thread-Index']);
    expect(parsed.headers.get('thread-topic')).toBe('Disk full');
  });
});

describe('messageDomain', () => {
  test.each([
    ['App <app@Example.COM>', 'example.com'],
    ['app@mail.example.org', 'mail.example.org'],
    ['"Ops, Team" <ops@bücher.de>', 'xn--bcher-kva.de'],
  ])('the domain of %s is %s', (from, domain) => {
    expect(messageDomain(from, 'host')).toBe(domain);
  });

  test.each([
    ['app@[192.0.2.1]', 'Web_Server 01.local', 'web-server-01.local'],
    ['no address', 'build-7', 'build-7'],
    ['app@exa_mple.com', '..', 'localhost'],
    ['app@-bad-.com', '', 'localhost'],
  ])('without a usable domain in %s, the host name %p gives %s', (from, host, domain) => {
    expect(messageDomain(from, host)).toBe(domain);
  });
});

describe('digestThreadKey', () => {
  test('names the UTC day', () => {
    expect(digestThreadKey(T0)).toBe('digest:2026-11-24');
    expect(digestThreadKey(Date.UTC(2026, 10, 24, 23, 59, 59, 999))).toBe('digest:2026-11-24');
    expect(digestThreadKey(Date.UTC(2026, 10, 25))).toBe('digest:2026-11-25');
  });

  test('refuses a time that is not one', () => {
    expect(() => digestThreadKey(Number.NaN)).toThrow(new RangeError('Expected a time in milliseconds, got NaN'));
  });
});
