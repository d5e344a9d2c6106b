import { renderBatch, type LogEntry, type RenderedMail } from '../../../src';
import { captureEntry, renderEntriesInSlices } from '../../../src/render';
import { MIN_MAIL_BYTES } from '../../../src/options';
import { mailWireBytes } from '../../helpers/wire-size';

const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');
const AT = '2026-11-24T04:32:08.123Z';
const MIN_MAX_MAIL_BYTES = MIN_MAIL_BYTES + 4 * 8192;

function entry(level: string, message: unknown, extra: Record<string, unknown> = {}, at = AT): LogEntry {
  return { level, [LEVEL]: level, message, timestamp: at, ...extra };
}

/** An entry as the transport's default format leaves it: with its rendered line. */
function formatted(index: number, message: string): LogEntry {
  return { ...entry('info', message, { index }), [MESSAGE]: `${AT} INFO  ${message} {"index":${index}}` };
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function linesOf(mails: readonly RenderedMail[]): string[] {
  return mails.flatMap((mail) => mail.text.trimEnd().split('\n'));
}

describe('text body', () => {
  test('one entry per line, as the format rendered it, in order, after the notices', () => {
    const entries = [
      { level: 'info', message: 'a', [MESSAGE]: 'line A' },
      { level: 'info', message: 'b', [MESSAGE]: 'line B' },
    ];
    expect(renderBatch(entries, { notices: ['[notice]'] })).toEqual([
      {
        count: 2,
        subject: '[INFO] 2 log entries from : a',
        text: '[notice]\nline A\nline B\n',
        transferEncodings: { text: '7bit' },
        level: 'info',
        threadKey: expect.stringMatching(/^digest:\d{4}-\d\d-\d\d$/) as unknown,
        threadTopic: 'Log digest',
      },
    ]);
  });

  test('each part names the encoding it was measured for, as nodemailer would choose it', () => {
    const [ascii] = renderBatch([{ level: 'info', message: 'a', [MESSAGE]: 'plain ascii' }], { html: true });
    expect(ascii?.transferEncodings).toEqual({ text: '7bit', html: 'quoted-printable' });
    const [cjk] = renderBatch([{ level: 'info', message: 'a', [MESSAGE]: '日本語のログ'.repeat(20) }]);
    expect(cjk?.transferEncodings).toEqual({ text: 'base64' });
    const [latin] = renderBatch([{ level: 'info', message: 'a', [MESSAGE]: 'Überprüfung für Straße'.repeat(10) }]);
    expect(latin?.transferEncodings).toEqual({ text: 'quoted-printable' });
  });

  test('an entry whose format produced no line gets the default line', () => {
    expect(renderBatch([{ level: 'warn', message: 'raw', timestamp: 'T' }])[0]?.text).toBe('T WARN  raw\n');
  });

  test('a line over maxLineBytes is cut at a character boundary and says its original size', () => {
    const [mail] = renderBatch([{ level: 'info', message: 'x', [MESSAGE]: 'é'.repeat(5000) }], { maxLineBytes: 1000 });
    const line = mail!.text.trimEnd();
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(1000);
    expect(line).toMatch(/^é+ … \[cut: 10000 bytes\]$/);
  });

  test('values that JSON cannot hold all render, and none stops the others of the batch', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const awkward = [
      entry('info', 'circular', { circular }),
      entry('info', 'big', { big: 2n ** 70n }),
      entry('info', Symbol('symbol message')),
      entry('info', undefined),
      entry('info', { not: 'a string' }),
      entry('info', 'buffer', { data: Buffer.from('secret bytes') }),
      entry('error', new Error('as message')),
      entry('info', 'lone \uDC00 surrogate'),
      entry('info', 'x'.repeat(100_000)),
    ];
    const [mail] = renderBatch(awkward, { html: true, attachJson: true });
    const lines = mail!.text.trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith(`${AT} `))).toHaveLength(awkward.length);
    expect(mail!.text).toContain('{"circular":{"self":"[Circular]"}}');
    expect(mail!.text).toContain('{"big":1180591620717411303424}');
    expect(mail!.text).toContain('Symbol(symbol message)');
    expect(mail!.text).toContain('{"data":"[Buffer: 12 bytes]"}');
    expect(mail!.text).toContain('ERROR Error: as message');
    expect(mail!.text).toContain('lone \uFFFD surrogate');
    expect(mail!.text).toContain('[cut: 100031 bytes]');
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(loneSurrogate.test(mail!.text)).toBe(false);
    expect(loneSurrogate.test(mail!.html!)).toBe(false);
    expect(loneSurrogate.test(mail!.attachments![0]!.content)).toBe(false);
  });
});

describe('an entry that cannot be read costs only itself', () => {
  // The name of the case, the entry, the error its line names, and the subject of a batch of a
  // warning and of that entry: the level decides, when it can be read.
  const hostile: Array<[string, () => LogEntry, RegExp, string]> = [
    [
      'a message that is a revoked Proxy',
      () => entry('error', revokedProxy()),
      /TypeError: Cannot perform 'getPrototypeOf' on a proxy that has been revoked/,
      "[ERROR] 2 log entries from web-1: [entry could not be rendered: TypeError: Cannot perform 'getPrototypeOf' on a p…",
    ],
    [
      'an entry that is itself a revoked Proxy',
      () => revokedProxy() as LogEntry,
      /TypeError: Cannot perform 'get' on a proxy that has been revoked/,
      '[WARN] 2 log entries from web-1: disk almost full',
    ],
    [
      'a getter that throws',
      () =>
        Object.defineProperty(entry('warn', 'getter'), 'user', {
          enumerable: true,
          get() {
            throw new RangeError('no user here');
          },
        }),
      /RangeError: no user here/,
      '[WARN] 2 log entries from web-1: disk almost full',
    ],
    [
      'a message getter that throws',
      () =>
        Object.defineProperty({ level: 'warn', [LEVEL]: 'warn' } as unknown as LogEntry, 'message', {
          enumerable: true,
          get() {
            throw new Error('message gone');
          },
        }),
      /Error: message gone/,
      '[WARN] 2 log entries from web-1: disk almost full',
    ],
    [
      'an error message whose stack getter throws',
      () => {
        const error = new Error('bad stack');
        Object.defineProperty(error, 'stack', {
          get() {
            throw new TypeError('stack unavailable');
          },
        });
        return entry('error', error);
      },
      /TypeError: stack unavailable/,
      '[ERROR] 2 log entries from web-1: [entry could not be rendered: TypeError: stack unavailable]',
    ],
    [
      'keys that cannot be listed',
      () =>
        new Proxy(entry('info', 'keys'), {
          ownKeys() {
            throw new Error('no keys');
          },
        }),
      /Error: no keys/,
      '[WARN] 2 log entries from web-1: disk almost full',
    ],
  ];

  const neighbours = () => [entry('info', 'before', { n: 1 }), entry('info', 'after', { n: 2 })];

  test.each(hostile)('%s renders as a line naming the error, in text, HTML and NDJSON', (_name, make, error) => {
    const [before, after] = neighbours();
    const mails = renderBatch([before!, make(), after!], { html: true, attachJson: true, hostname: 'web-1' });
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    const lines = mail!.text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`${AT} INFO  before {"n":1}`);
    expect(lines[1]).toMatch(/^\[entry could not be rendered: .+\]$/);
    expect(lines[1]).toMatch(error);
    expect(lines[2]).toBe(`${AT} INFO  after {"n":2}`);

    const html = mail!.html!;
    expect(html.match(/<tr>/g)).toHaveLength(4);
    expect(html).toContain('[entry could not be rendered: ');
    expect(html).toContain('before');
    expect(html).toContain('after');

    const records = mail!
      .attachments![0]!.content.trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record.message)).toEqual(['before', lines[1], 'after']);
    expect(records[0]).toEqual({ timestamp: AT, level: 'info', message: 'before', n: 1 });
  });

  test.each(hostile)('%s still has a subject: its level counts when it can be read', (_name, make, _error, subject) => {
    const mails = renderBatch([entry('warn', 'disk almost full'), make()], { hostname: 'web-1' });
    expect(mails[0]?.subject).toBe(subject);
  });

  test('meta that cannot be serialised is named in its place; the message stays', () => {
    const throwsToJson = {
      toJSON() {
        throw new Error('no JSON for you');
      },
    };
    const [mail] = renderBatch(
      [entry('info', 'proxy meta', { session: revokedProxy() }), entry('info', 'toJSON meta', { bad: throwsToJson })],
      { html: true, attachJson: true },
    );
    expect(mail!.text).toMatch(/INFO {2}proxy meta "\[not serialisable: TypeError: Cannot perform .+ revoked\]"\n/);
    expect(mail!.text).toContain('INFO  toJSON meta "[not serialisable: Error: no JSON for you]"\n');
    expect(mail!.html).toContain('[not serialisable: Error: no JSON for you]');
    const records = mail!
      .attachments![0]!.content.trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[1]).toEqual({
      timestamp: AT,
      level: 'info',
      message: 'toJSON meta',
      meta: '[not serialisable: Error: no JSON for you]',
    });
  });

  test('a Symbol.toPrimitive that throws, in a message, a level or meta, is never called', () => {
    const trap = {
      [Symbol.toPrimitive]() {
        throw new Error('do not convert me');
      },
    };
    const entries = [
      entry('info', trap),
      { ...entry('info', 'level'), level: trap, [LEVEL]: trap } as unknown as LogEntry,
      entry('info', 'meta', { trap }),
    ];
    const [mail] = renderBatch(entries, { html: true, attachJson: true });
    expect(mail!.text.trimEnd().split('\n')).toEqual([
      `${AT} INFO  {}`,
      `${AT} {}    level`,
      `${AT} INFO  meta {"trap":{}}`,
    ]);
  });
});

describe('maxMailBytes', () => {
  const KINDS: Record<string, (index: number) => string> = {
    ASCII: (index) => `GET /api/orders/${index} served in ${index % 97} ms by worker ${index % 8}`,
    'Latin-1-heavy': (index) => `${index} Größe überschritten, Straße gesperrt, Käse à la française`,
    CJK: (index) => `${index} 注文のサイズが上限を超えました。在庫を確認してください`,
    emoji: (index) => `${index} 😀🚀✓ deploy finished 🎉🎉`,
    mixed: (index) => `${index} user=alice Größe 注文 😀 done`,
  };
  const LAYOUTS: Array<[string, { html?: boolean; attachJson?: boolean }]> = [
    ['text only', {}],
    ['html + attachJson', { html: true, attachJson: true }],
  ];
  const cases = Object.keys(KINDS).flatMap((kind) =>
    LAYOUTS.flatMap(([layout, options]) =>
      [MIN_MAX_MAIL_BYTES, 2 * 1024 * 1024].map((maxMailBytes) => [kind, layout, maxMailBytes, options] as const),
    ),
  );
  test.each(cases)(
    '%s, %s, at %i bytes: every mail as nodemailer sends it stays within the limit, and is well filled',
    async (kind, _layout, maxMailBytes, options) => {
      const count = maxMailBytes === MIN_MAX_MAIL_BYTES ? 600 : options.html ? 4_000 : 12_000;
      const entries = Array.from({ length: count }, (_, index) => formatted(index, KINDS[kind]!(index).repeat(3)));
      const mails = renderBatch(entries, { ...options, maxMailBytes, hostname: 'web-1', subject: '{first}' });
      expect(mails.length).toBeGreaterThan(1);
      expect(mails.every((mail) => mail.count > 0)).toBe(true);
      expect(linesOf(mails).map((line) => /"index":(\d+)/.exec(line)?.[1])).toEqual(
        entries.map((_, index) => String(index)),
      );
      const sizes: number[] = [];
      for (const mail of mails) sizes.push(await mailWireBytes(mail));
      expect(sizes.filter((bytes) => bytes > maxMailBytes)).toEqual([]);
      // All but the last mail are full: no batch is split for nothing.
      expect(sizes.slice(0, -1).filter((bytes) => bytes <= 0.8 * maxMailBytes)).toEqual([]);
    },
    60_000,
  );

  test('parts are numbered in the subject and share the subject of the whole batch', () => {
    const entries = Array.from({ length: 300 }, (_, index) => formatted(index, `entry ${index} ${'y'.repeat(900)}`));
    const mails = renderBatch(entries, { maxMailBytes: 100_000, subject: 'Digest {count}' });
    expect(mails.length).toBeGreaterThan(2);
    expect(mails.map((mail) => mail.subject)).toEqual(
      mails.map((mail, index) => `Digest ${mail.count} (part ${index + 1}/${mails.length})`),
    );
    expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(300);
  });

  test('notices go on top of the first mail only', () => {
    const entries = Array.from({ length: 300 }, (_, index) => formatted(index, `entry ${index} ${'y'.repeat(900)}`));
    const mails = renderBatch(entries, { maxMailBytes: 100_000, notices: ['[dropped 3]'], html: true });
    expect(mails[0]?.text.startsWith('[dropped 3]\nentry') || mails[0]?.text.startsWith(`[dropped 3]\n${AT}`)).toBe(
      true,
    );
    expect(mails[0]?.html).toContain('[dropped 3]');
    expect(mails.slice(1).some((mail) => mail.text.includes('[dropped 3]') || mail.html!.includes('[dropped 3]'))).toBe(
      false,
    );
  });

  test('an entry too big for a mail even alone is shrunk, never sent in a mail over the limit nor dropped', async () => {
    const huge = (index: number) =>
      entry('error', `${index} ${'= 注文 '.repeat(4000)}`, { blob: 'ü"<'.repeat(20_000), index });
    const entries = [huge(0), formatted(1, 'small'), huge(2)];
    const mails = renderBatch(entries, { html: true, attachJson: true, maxMailBytes: MIN_MAX_MAIL_BYTES });
    expect(mails.map((mail) => mail.count)).toEqual([2, 1]);
    for (const mail of mails) expect(await mailWireBytes(mail)).toBeLessThanOrEqual(MIN_MAX_MAIL_BYTES);
    const [shrunk, small] = mails[0]!.text.trimEnd().split('\n');
    expect(shrunk).toMatch(/^\S+ ERROR 0 = 注文 .* … \[cut: 136055 bytes\]$/);
    expect(Buffer.byteLength(shrunk!)).toBeLessThanOrEqual(8192 / 2);
    expect(small).toBe(`${AT} INFO  small {"index":1}`);
    const [stub, smallRecord] = mails[0]!.attachments![0]!.content.trimEnd().split('\n');
    const parsedStub = JSON.parse(stub!) as Record<string, unknown>;
    expect(parsedStub).toMatchObject({ level: 'error', truncated: true });
    expect(parsedStub.message).toMatch(/^0 = 注文/);
    expect(JSON.parse(smallRecord!)).toMatchObject({ message: 'small', index: 1 });
  });

  test('headerBytes keeps room for long address lists', () => {
    const entries = Array.from({ length: 2000 }, (_, index) => formatted(index, `entry ${index} ${'y'.repeat(100)}`));
    const roomy = renderBatch(entries, { maxMailBytes: 100_000 });
    const crowded = renderBatch(entries, { maxMailBytes: 100_000, headerBytes: 40_000 });
    expect(crowded.length).toBeGreaterThan(roomy.length);
  });
});

describe('large batches', () => {
  test('200,000 tiny entries render without a stack overflow, in order', () => {
    const entries = Array.from({ length: 200_000 }, (_, index) => ({
      level: 'info',
      message: `${index}`,
      [MESSAGE]: `${index}`,
    }));
    const mails = renderBatch(entries, { maxMailBytes: 512 * 1024 });
    expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(200_000);
    expect(mails.every((mail) => mail.count > 0)).toBe(true);
    const lines = linesOf(mails);
    expect(lines[0]).toBe('0');
    expect(lines[199_999]).toBe('199999');
    expect(lines).toHaveLength(200_000);
  });

  test('200,000 tiny entries with HTML, all at distinct levels, render too', () => {
    const entries = Array.from({ length: 200_000 }, (_, index) => entry(`level${index}`, `${index}`));
    const mails = renderBatch(entries, { html: true });
    expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(200_000);
  });
});

describe('renderEntriesInSlices()', () => {
  const infos = Array.from({ length: 500 }, (_, index) => formatted(index, `entry ${index} ${'ü'.repeat(200)}`));
  const entries = infos.map(captureEntry);
  const options = {
    html: true,
    attachJson: true,
    maxMailBytes: MIN_MAX_MAIL_BYTES,
    hostname: 'web-1',
    notices: ['[n]'],
  };

  test('renders exactly what renderBatch renders', async () => {
    const sliced = await renderEntriesInSlices(entries, options, { sliceMs: 0 });
    expect(sliced.length).toBeGreaterThan(1);
    expect(sliced).toEqual(renderBatch(infos, options));
  });

  test('gives the event loop a turn between slices', async () => {
    let turns = 0;
    let rendering = true;
    const count = () => {
      turns++;
      if (rendering) setImmediate(count);
    };
    setImmediate(count);
    await renderEntriesInSlices(entries, options, { sliceMs: 0 });
    rendering = false;
    // One checkpoint per entry and per mail, each a turn at sliceMs 0.
    expect(turns).toBeGreaterThanOrEqual(entries.length);
  });

  test('still finishes when a test has installed fake timers', async () => {
    jest.useFakeTimers();
    try {
      const mails = await renderEntriesInSlices(entries, options, { sliceMs: 0 });
      expect(mails.reduce((sum, mail) => sum + mail.count, 0)).toBe(entries.length);
    } finally {
      jest.useRealTimers();
    }
  });

  test('never rejects, whatever the entries hold', async () => {
    const hostile = [revokedProxy() as LogEntry, entry('info', revokedProxy()), formatted(1, 'fine')];
    const mails = await renderEntriesInSlices(hostile.map(captureEntry), { html: true, attachJson: true });
    expect(mails[0]?.count).toBe(3);
  });
});
