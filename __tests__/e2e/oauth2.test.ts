import { inspect } from 'node:util';
import stringify from 'safe-stable-stringify';
import type { SMTPServerAuthentication } from 'smtp-server';
import type { AccessTokenProvider, AccessTokenRequest, BufferedMailTransportOptions, SmtpError } from '../../src';
import type { LocalSmtpServerOptions } from '../../src/local-smtp-server';
import { ManualClock } from '../helpers/manual-clock';
import { findReachableStrings } from '../helpers/reachable';
import { bodyLines, createLogger, recordingTransport, startServer, type LocalSmtpServer } from '../helpers/smtp';

const USER = 'demo';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.first-access-token';
const RENEWED = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.renewed-access-token';

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const xoauth2 = (token: string) => base64(`user=${USER}\u0001auth=Bearer ${token}\u0001\u0001`);

/** Every form in which `token` travels, computed here rather than taken from the code under test. */
function formsOf(token: string): string[] {
  return [token, base64(token).replace(/=+$/, ''), encodeURIComponent(token), xoauth2(token).replace(/=+$/, '')];
}

/** Every string an error exposes: message, stack, and each of its own properties. */
function everythingIn(error: SmtpError): string {
  return JSON.stringify({ ...error, message: error.message, stack: error.stack });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A server that takes only XOAUTH2 logins of `demo`, with the tokens listed. */
function tokenServer(acceptTokens: string[], options: LocalSmtpServerOptions = {}): Promise<LocalSmtpServer> {
  return startServer({ authMethods: ['XOAUTH2'], acceptTokens, ...options });
}

function optionsFor(
  server: LocalSmtpServer,
  accessToken: string | AccessTokenProvider,
  overrides: Partial<BufferedMailTransportOptions> = {},
): BufferedMailTransportOptions {
  return {
    smtp: {
      host: server.host,
      port: server.port,
      tls: { ca: server.ca },
      auth: { type: 'OAuth2', user: USER, accessToken },
    },
    from: 'app@example.com',
    to: ['ops@example.com'],
    capacity: 1,
    ...overrides,
  };
}

/** A token function that hands out `tokens` in turn and records what it was asked. */
function tokenFunction(...tokens: string[]) {
  const requests: AccessTokenRequest[] = [];
  const provide: AccessTokenProvider = (request) => {
    requests.push(request);
    return Promise.resolve(tokens[Math.min(requests.length, tokens.length) - 1] ?? '');
  };
  return { provide, requests };
}

describe('XOAUTH2 with a token string', () => {
  test('the mail is delivered over TLS, logged in as the mailbox with that token', async () => {
    const server = await tokenServer([TOKEN]);
    const { transport, warnings } = recordingTransport(optionsFor(server, TOKEN));
    const logger = createLogger(transport);
    logger.info('the report is ready', { reportId: 7 });
    const [mail] = await server.waitForMails(1);
    await transport.close();

    expect(warnings).toEqual([]);
    expect(mail).toMatchObject({ secure: true, user: USER });
    expect(mail?.parsed.subject).toMatch(/^\[INFO\] 1 log entry from .*: the report is ready$/);
    expect(bodyLines(mail!)).toEqual([expect.stringMatching(/Z INFO {2}the report is ready \{"reportId":7\}$/)]);
    expect(server.authAttempts).toEqual([{ username: USER, secure: true, accepted: true, accessToken: TOKEN }]);
  });
});

describe('XOAUTH2 with a token function', () => {
  test('the function is asked for { user, renew: false } first, and its token delivers the mail', async () => {
    const server = await tokenServer([TOKEN]);
    const { provide, requests } = tokenFunction(TOKEN);
    const { transport, warnings } = recordingTransport(optionsFor(server, provide));
    createLogger(transport).info('one');
    await server.waitForMails(1);
    await transport.close();

    expect(warnings).toEqual([]);
    expect(requests).toEqual([{ user: USER, renew: false }]);
    expect(server.mails[0]?.user).toBe(USER);
  });

  // Gmail answers a bad token with a 334 challenge, after which nodemailer asks for a renewed token
  // on the same connection; Microsoft 365 answers 535 at once, and the mailer tries once more.
  test.each(['challenge', 'reply'] as const)(
    'a server that refuses the first token (%s) gets exactly one more try, with renew: true, and the mail goes',
    async (tokenRefusal) => {
      const server = await tokenServer([RENEWED], { tokenRefusal });
      const { provide, requests } = tokenFunction(TOKEN, RENEWED);
      const { transport, warnings, sent } = recordingTransport(optionsFor(server, provide));
      createLogger(transport).info('after a renewal');
      await server.waitForMails(1);
      await transport.close();

      expect(requests).toEqual([
        { user: USER, renew: false },
        { user: USER, renew: true },
      ]);
      expect(server.authAttempts.map((attempt) => [attempt.accessToken, attempt.accepted])).toEqual([
        [TOKEN, false],
        [RENEWED, true],
      ]);
      expect(warnings).toEqual([]);
      expect(sent).toHaveLength(1);
      expect(bodyLines(server.mails[0]!)).toEqual([expect.stringMatching(/INFO {2}after a renewal$/)]);
    },
  );

  test.each(['challenge', 'reply'] as const)(
    'a server that refuses every token (%s): one EAUTH warning without a token, no third login, then the refusal pause',
    async (tokenRefusal) => {
      const server = await tokenServer([], { tokenRefusal });
      const { provide, requests } = tokenFunction(TOKEN, RENEWED);
      const clock = new ManualClock();
      const { transport, warnings, sent } = recordingTransport(optionsFor(server, provide, { clock }));
      const logger = createLogger(transport);
      logger.info('refused');
      logger.info('held back');
      // A refused login holds every later mail back for `retry.maxDelayMs`.
      await clock.whenTimerSet();

      expect(clock.pending).toEqual([60_000]);
      expect(server.authAttempts).toHaveLength(2);
      expect(requests.map((request) => request.renew)).toEqual([false, true]);
      expect(warnings.map((warning) => [warning.code, warning.responseCode, warning.count])).toEqual([
        ['EAUTH', 535, 1],
      ]);
      const text = everythingIn(warnings[0]!);
      expect([TOKEN, RENEWED].flatMap(formsOf).filter((form) => text.includes(form))).toEqual([]);
      expect(warnings[0]?.message).toContain('the server refused the OAuth2 access token: check `smtp.auth.user`');

      clock.advanceTo(60_000);
      await transport.flush();
      expect(server.authAttempts).toHaveLength(4);
      expect(requests.map((request) => request.renew)).toEqual([false, true, false, true]);
      expect(warnings).toHaveLength(2);
      expect(sent).toEqual([]);
      expect(transport.stats()).toMatchObject({ entriesGivenUp: 2, entriesMailed: 0 });
      await transport.close();
    },
  );

  test('tokens obtained from the function are removed from what the server says', async () => {
    // A server that quotes what it was given, token and SASL string, in its refusal.
    const onAuth = (auth: SMTPServerAuthentication, _session: unknown, callback: (error: Error) => void) => {
      const token = auth.accessToken ?? '';
      const quoted = `5.7.3 token ${token} in ${base64(`user=${auth.username}\u0001auth=Bearer ${token}\u0001\u0001`)} refused`;
      callback(Object.assign(new Error(quoted), { responseCode: 535 }));
    };
    const server = await tokenServer([], { serverOptions: { onAuth } });
    const { provide } = tokenFunction(TOKEN, RENEWED);
    const { transport, warnings } = recordingTransport(optionsFor(server, provide, { retry: false }));
    createLogger(transport).info('quoted');
    await settle();
    await transport.flush();
    await transport.close();

    expect(warnings).toHaveLength(1);
    const text = everythingIn(warnings[0]!);
    expect([TOKEN, RENEWED].flatMap(formsOf).filter((form) => text.includes(form))).toEqual([]);
    expect(warnings[0]?.message).toContain('5.7.3 token [redacted] in [redacted] refused');
  });

  test('a function that rejects: a warning that names `smtp.auth.accessToken`, and no login is tried', async () => {
    const server = await tokenServer([TOKEN]);
    let calls = 0;
    const provide: AccessTokenProvider = () => {
      calls++;
      return Promise.reject(new Error('the vault is sealed'));
    };
    // Often a token service that is briefly out of reach: retried like any transient failure.
    const retry = { attempts: 2, minDelayMs: 1, maxDelayMs: 1 };
    const { transport, warnings } = recordingTransport(optionsFor(server, provide, { retry }));
    createLogger(transport).info('no token');
    await settle();
    await transport.flush();
    await transport.close();

    expect(server.authAttempts).toEqual([]);
    expect(calls).toBe(2);
    expect(warnings.map((warning) => [warning.code, warning.originalCode])).toEqual([['EAUTH', 'EOAUTH2']]);
    expect(warnings[0]?.message).toMatch(
      /^Could not mail 1 log entry after 2 tries: `smtp\.auth\.accessToken` failed: the vault is sealed; no OAuth2 access token could be obtained: check `smtp\.auth\.accessToken`/,
    );
  });
});

describe('verify() with OAuth2', () => {
  test('resolves when the token is taken, and sends nothing', async () => {
    const server = await tokenServer([TOKEN]);
    const { transport } = recordingTransport(optionsFor(server, TOKEN));
    await expect(transport.verify()).resolves.toBeUndefined();
    await transport.close();
    expect(server.authAttempts).toEqual([{ username: USER, secure: true, accepted: true, accessToken: TOKEN }]);
    expect(server.mails).toEqual([]);
  });

  test('a function token is renewed once when refused, as for a mail', async () => {
    const server = await tokenServer([RENEWED], { tokenRefusal: 'reply' });
    const { provide, requests } = tokenFunction(TOKEN, RENEWED);
    const { transport } = recordingTransport(optionsFor(server, provide));
    await expect(transport.verify()).resolves.toBeUndefined();
    await transport.close();
    expect(requests.map((request) => request.renew)).toEqual([false, true]);
    expect(server.mails).toEqual([]);
  });

  test('rejects with EAUTH and the hint when the token is refused, without the token', async () => {
    const server = await tokenServer([RENEWED]);
    const { transport } = recordingTransport(optionsFor(server, TOKEN));
    const error = await transport.verify().then(
      () => {
        throw new Error('Expected verify() to reject');
      },
      (rejection: SmtpError) => rejection,
    );
    await transport.close();
    expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535, command: 'AUTH XOAUTH2' });
    expect(error.message).toMatch(
      new RegExp(
        `^Could not verify 127\\.0\\.0\\.1:${server.port}: Invalid login: 535 .*; the server refused the OAuth2 access token`,
      ),
    );
    expect(formsOf(TOKEN).filter((form) => everythingIn(error).includes(form))).toEqual([]);
  });
});

describe('no token can be reached by inspecting the transport or its logger', () => {
  test.each([
    ['a token string', TOKEN],
    ['a token function', tokenFunction(TOKEN).provide],
  ])('%s, after a mail went', async (_what, accessToken) => {
    const server = await tokenServer([TOKEN]);
    const { transport } = recordingTransport(optionsFor(server, accessToken));
    const logger = createLogger(transport);
    logger.info('warm-up');
    await server.waitForMails(1);
    await transport.flush();

    const forms = formsOf(TOKEN);
    const found = (text: string) => forms.filter((form) => text.includes(form));
    expect(found(inspect(transport, { depth: Infinity, showHidden: true, getters: true }))).toEqual([]);
    expect(found(inspect(logger, { depth: Infinity, showHidden: true, customInspect: false }))).toEqual([]);
    expect(found(JSON.stringify(transport))).toEqual([]);
    expect(found(stringify(logger) ?? '')).toEqual([]);
    expect(findReachableStrings(logger, forms, 'logger')).toEqual([]);
    expect(transport.toJSON()).toEqual({
      name: 'BufferedMailTransport',
      smtp: `127.0.0.1:${server.port}`,
      auth: 'OAuth2',
      user: USER,
      from: 'app@example.com',
      to: ['ops@example.com'],
      capacity: 1,
      mode: 'batch',
      stats: transport.stats(),
    });
    expect(inspect(transport, { breakLength: Infinity })).toMatch(
      /^BufferedMailTransport \{ smtp: '127\.0\.0\.1:\d+', auth: 'OAuth2', user: 'demo', from: 'app@example\.com'/,
    );
    await transport.close();
  });
});
