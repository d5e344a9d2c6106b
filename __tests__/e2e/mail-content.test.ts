import { bodyLines, createLogger, optionsFor, recordingTransport, startServer } from '../helpers/smtp';
import { expectEveryEntryAccounted } from '../helpers/outbox';

describe('what arrives in the mailbox', () => {
  test('the HTML alternative is present, escaped, and says the same as the text', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { html: true }));
    const logger = createLogger(transport);
    logger.info('user signed in', { user: 'ada' });
    logger.error('<img src=x onerror=alert(1)>');
    await transport.flush();

    const [mail] = server.mails;
    expect(mail?.parsed.text).toBeDefined();
    const html = String(mail?.parsed.html);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    expect(html).toMatch(/ERROR 1<\/span> &middot; <span[^>]*>INFO 1/);
    expect(html).toContain('&quot;user&quot;: &quot;ada&quot;');
    expect(bodyLines(mail!)).toHaveLength(2);
    expectEveryEntryAccounted(transport);
  });

  test('the NDJSON attachment parses line by line, with all the meta', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { attachJson: true }));
    const logger = createLogger(transport);
    logger.info('order paid', { orderId: 1234, amount: { value: 9.5, currency: 'EUR' } });
    logger.warn('stock low', { sku: 'A-1', left: 2 });
    await transport.flush();

    const [attachment] = server.mails[0]?.parsed.attachments ?? [];
    expect(attachment?.contentType).toBe('application/x-ndjson');
    const records = attachment!.content
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map(({ timestamp, ...rest }) => [typeof timestamp, rest])).toEqual([
      ['string', { level: 'info', message: 'order paid', orderId: 1234, amount: { value: 9.5, currency: 'EUR' } }],
      ['string', { level: 'warn', message: 'stock low', sku: 'A-1', left: 2 }],
    ]);
    expectEveryEntryAccounted(transport);
  });

  test('a batch over maxMailBytes arrives as parts, in order, none over the limit', async () => {
    const server = await startServer();
    const limit = 64 * 1024;
    const { transport, sent } = recordingTransport(
      optionsFor(server, { capacity: 400, maxMailBytes: limit, subject: 'Digest', html: true }),
    );
    const logger = createLogger(transport);
    for (let index = 0; index < 400; index++) logger.info(`entry ${index} ${'z'.repeat(300)}`);
    await transport.flush();

    const parts = server.mails.length;
    // No fewer parts than the text alone needs, at most maxMailBytes a mail.
    const textBytes = server.mails.flatMap(bodyLines).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    expect(textBytes).toBeGreaterThan(2 * limit);
    expect(parts).toBeGreaterThanOrEqual(Math.ceil(textBytes / limit));
    expect(server.mails.map((mail) => mail.parsed.subject)).toEqual(
      Array.from({ length: parts }, (_, index) => `Digest (part ${index + 1}/${parts})`),
    );
    for (const mail of server.mails) expect(mail.raw.length).toBeLessThanOrEqual(limit);
    const order = server.mails.flatMap(bodyLines).map((line) => Number(/entry (\d+)/.exec(line)?.[1]));
    expect(order).toEqual(Array.from({ length: 400 }, (_, index) => index));
    expect(sent.reduce((sum, info) => sum + info.count, 0)).toBe(400);
    expectEveryEntryAccounted(transport);
  });

  test('log content cannot inject a header: a Bcc in the message adds no recipient', async () => {
    const server = await startServer();
    const { transport } = recordingTransport(optionsFor(server, { subject: 'Alert: {first}' }));
    const logger = createLogger(transport);
    logger.error('x\r\nBcc: someone@example.com\r\nSubject: pwned');
    await transport.flush();

    const [mail] = server.mails;
    expect(mail?.envelope.to).toEqual(['ops@example.com']);
    expect(mail?.parsed.headers.has('bcc')).toBe(false);
    expect(mail?.parsed.subject).toBe('Alert: x');
    const [headers] = mail!.raw.toString('latin1').split('\r\n\r\n');
    expect(headers).not.toMatch(/^(Bcc|Subject: pwned)/im);
    expectEveryEntryAccounted(transport);
  });

  test('hostile entries logged through winston all reach the mail, and so do their neighbours', async () => {
    const server = await startServer();
    const { transport, warnings } = recordingTransport(
      optionsFor(server, { html: true, attachJson: true, flushLevel: false }),
    );
    const logger = createLogger(transport);
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;

    logger.info('before');
    logger.info('circular', { circular });
    logger.info('bigint', { big: 10n ** 30n });
    logger.info('buffer', { payload: Buffer.alloc(100_000) });
    logger.error(new Error('thrown somewhere'));
    logger.info('surrogate \uD83D alone');
    logger.info('x'.repeat(50_000));
    logger.info('after');
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(1);
    const lines = bodyLines(server.mails[0]!);
    const entryLines = lines.filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));
    expect(entryLines).toHaveLength(8);
    expect(entryLines[0]).toMatch(/ INFO {2}before$/);
    expect(entryLines[7]).toMatch(/ INFO {2}after$/);
    expect(lines.join('\n')).toContain('"self":"[Circular]"');
    expect(lines.join('\n')).toContain('{"big":1000000000000000000000000000000}');
    expect(lines.join('\n')).toContain('{"payload":"[Buffer: 100000 bytes]"}');
    expect(lines.join('\n')).toContain('surrogate \uFFFD alone');
    expect(lines.join('\n')).toMatch(/x{100} … \[cut: 50031 bytes\]/);
    // logger.error(new Error(...)) keeps its message and stack, which winston's copy would drop.
    expect(entryLines[4]).toMatch(/ ERROR thrown somewhere$/);
    expect(lines[lines.indexOf(entryLines[4]!) + 1]).toBe('Error: thrown somewhere');
    const attachment = server.mails[0]?.parsed.attachments[0];
    expect(attachment?.content.toString('utf8').trimEnd().split('\n')).toHaveLength(8);
    expectEveryEntryAccounted(transport);
  });
});
