import type { SMTPPoolOptions } from 'nodemailer';
import {
  accessTokenForms,
  describeFailure,
  RedactionForms,
  sanitizeError,
  secretForms,
  smtpTransportOptions,
} from '../../src/mail';
import { resolveOptions, type AccessTokenProvider, type SmtpAuth } from '../../src/options';

const USER = 'logs@contoso.com';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-7f3a';
const REFRESH = '1//refresh+token/9c2e';
const CLIENT_SECRET = 'client~secret=b81d';
const KEY_LINE = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_LINE}\n-----END PRIVATE KEY-----\n`;

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
/** The XOAUTH2 initial response, computed here rather than taken from the code under test. */
const xoauth2 = (user: string, token: string) => base64(`user=${user}\u0001auth=Bearer ${token}\u0001\u0001`);

function smtpWith(auth: SmtpAuth) {
  const { smtp } = resolveOptions({ smtp: { host: 'smtp.office365.com', auth }, from: 'a@b.c', to: 'd@e.f' });
  if (!smtp) throw new Error('Expected smtp settings');
  return smtp;
}

type Provision = NonNullable<Extract<SMTPPoolOptions['auth'], object>['provisionCallback']>;

function provisionOf(options: SMTPPoolOptions): Provision {
  const provision = options.auth?.provisionCallback;
  if (typeof provision !== 'function') throw new Error('Expected a provisionCallback');
  return provision;
}

/** Calls nodemailer's hook the way nodemailer does, and resolves to what it called back with. */
function provisionToken(provision: Provision, user: string, renew: boolean) {
  return new Promise<{ error: (Error & { code?: string }) | null; token: string | undefined }>((resolve) => {
    provision(user, renew, (error, token) => resolve({ error, token }));
  });
}

describe('smtpTransportOptions hands the OAuth2 forms to nodemailer', () => {
  test('a token string, as nodemailer takes it', () => {
    const options = smtpTransportOptions(smtpWith({ type: 'OAuth2', user: USER, accessToken: TOKEN }));
    expect(options.auth).toEqual({ type: 'OAuth2', user: USER, accessToken: TOKEN });
    expect(options).toMatchObject({ requireTLS: true, secure: false, tls: { rejectUnauthorized: true } });
  });

  test('the refresh-token form, every field passed through for nodemailer to obtain the tokens', () => {
    const auth = {
      type: 'OAuth2' as const,
      user: USER,
      clientId: 'client-id',
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH,
      accessToken: TOKEN,
      expires: 1_900_000_000_000,
      accessUrl: 'https://oauth2.googleapis.com/token',
    };
    expect(smtpTransportOptions(smtpWith(auth)).auth).toEqual(auth);
  });

  test('the service-account form', () => {
    const auth = { type: 'OAuth2' as const, user: USER, serviceClient: '1234567890', privateKey: PRIVATE_KEY };
    expect(smtpTransportOptions(smtpWith(auth)).auth).toEqual({ ...auth, accessToken: undefined });
  });

  test('a function becomes the provisionCallback, and no token is kept in the options', () => {
    const accessToken: AccessTokenProvider = () => Promise.resolve(TOKEN);
    const own: Provision = (_user, _renew, callback) => callback(null, TOKEN);
    const options = smtpTransportOptions(smtpWith({ type: 'OAuth2', user: USER, accessToken }), own);
    expect(options.auth).toEqual({ type: 'OAuth2', user: USER, provisionCallback: own });
  });

  test('a password login keeps its user and pass', () => {
    expect(smtpTransportOptions(smtpWith({ user: 'app', pass: 'Hunter2' })).auth).toEqual({
      user: 'app',
      pass: 'Hunter2',
    });
  });
});

describe("the provisionCallback made from a function speaks nodemailer's callback protocol", () => {
  function provisionFor(accessToken: AccessTokenProvider): Provision {
    return provisionOf(smtpTransportOptions(smtpWith({ type: 'OAuth2', user: USER, accessToken })));
  }

  test('it passes { user, renew } and calls back with the token', async () => {
    const requests: unknown[] = [];
    const provision = provisionFor((request) => {
      requests.push(request);
      return Promise.resolve(`${TOKEN}-${requests.length}`);
    });
    expect(await provisionToken(provision, USER, false)).toEqual({ error: null, token: `${TOKEN}-1` });
    expect(await provisionToken(provision, USER, true)).toEqual({ error: null, token: `${TOKEN}-2` });
    expect(requests).toEqual([
      { user: USER, renew: false },
      { user: USER, renew: true },
    ]);
  });

  test.each<[string, AccessTokenProvider, string]>([
    [
      'a rejection',
      () => Promise.reject(new Error('the vault is sealed')),
      '`smtp.auth.accessToken` failed: the vault is sealed',
    ],
    [
      'a throw',
      () => {
        throw new Error('no credentials');
      },
      '`smtp.auth.accessToken` failed: no credentials',
    ],
    [
      'a token of the wrong type',
      () => Promise.resolve(42 as unknown as string),
      '`smtp.auth.accessToken` returned a value of type number, not an access token',
    ],
    [
      'an empty token',
      () => Promise.resolve(''),
      '`smtp.auth.accessToken` returned an empty string, not an access token',
    ],
    [
      'a token with a control character',
      () => Promise.resolve(`${TOKEN}\u0001auth=Bearer other`),
      '`smtp.auth.accessToken` returned a string with control characters, not an access token',
    ],
  ])('%s is an EOAUTH2 error that names the option', async (_what, accessToken, message) => {
    const { error, token } = await provisionToken(provisionFor(accessToken), USER, false);
    expect(token).toBeUndefined();
    expect(error?.message).toBe(message);
    expect(error?.code).toBe('EOAUTH2');
  });
});

describe('the forms of OAuth2 secrets are redacted', () => {
  test('a token string: raw, base64, URL-encoded, and inside the XOAUTH2 string', () => {
    const forms = secretForms(smtpWith({ type: 'OAuth2', user: USER, accessToken: TOKEN }));
    expect(forms).toEqual(
      expect.arrayContaining([TOKEN, base64(TOKEN), encodeURIComponent(TOKEN), xoauth2(USER, TOKEN)]),
    );
    expect(forms).toEqual(accessTokenForms(USER, TOKEN));
  });

  test('the client secret and the refresh token, raw and as a token request body encodes them', () => {
    const forms = secretForms(
      smtpWith({ type: 'OAuth2', user: USER, clientId: 'id', clientSecret: CLIENT_SECRET, refreshToken: REFRESH }),
    );
    expect(forms).toEqual(
      expect.arrayContaining([CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), REFRESH, encodeURIComponent(REFRESH)]),
    );
  });

  test('the private key, whole and line by line', () => {
    const forms = secretForms(smtpWith({ type: 'OAuth2', user: USER, serviceClient: '1', privateKey: PRIVATE_KEY }));
    expect(forms).toEqual(expect.arrayContaining([PRIVATE_KEY, KEY_LINE]));
  });

  test('tokens obtained while running are added, the last four kept, and sanitizeError removes them', () => {
    const redaction = new RedactionForms(
      smtpWith({ type: 'OAuth2', user: USER, accessToken: () => Promise.resolve('') }),
    );
    expect(redaction.forms).toEqual([]);
    for (let index = 1; index <= 5; index++) redaction.addAccessToken(USER, `${TOKEN}-${index}`);
    expect(redaction.forms).not.toContain(`${TOKEN}-1`);
    expect(redaction.forms).toEqual(expect.arrayContaining([`${TOKEN}-5`, xoauth2(USER, `${TOKEN}-5`)]));

    const reply = `535 5.7.3 token ${TOKEN}-5 refused (AUTH XOAUTH2 ${xoauth2(USER, `${TOKEN}-5`)})`;
    const error = Object.assign(new Error(`Invalid login: ${reply}`), {
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: reply,
    });
    const clean = sanitizeError(error, redaction.forms, 'Could not mail 1 log entry');
    const everything = JSON.stringify({ ...clean, message: clean.message, stack: clean.stack });
    expect(everything).not.toContain(`${TOKEN}-5`);
    expect(everything).not.toContain(xoauth2(USER, `${TOKEN}-5`).replace(/=+$/, ''));
    expect(clean.message).toContain('token [redacted] refused (AUTH XOAUTH2 [redacted])');
  });
});

describe('OAuth2 failures say what to fix', () => {
  test('a token the server refuses (535) is a refusal that points at the token and the mailbox', () => {
    const error = Object.assign(new Error('Invalid login: 535 5.7.3 Authentication unsuccessful'), {
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
    });
    const { kind, hint } = describeFailure(error);
    expect(kind).toBe('refusal');
    expect(hint).toContain('the server refused the OAuth2 access token: check `smtp.auth.user`');
    expect(hint).toContain('`SMTP.SendAsApp`');
  });

  test('a token that could not be had is transient and names `smtp.auth.accessToken`, not the SMTP server', () => {
    const error = Object.assign(new Error('`smtp.auth.accessToken` failed: connect ECONNREFUSED 10.0.0.1:443'), {
      code: 'EAUTH',
      originalCode: 'ECONNREFUSED',
      command: 'AUTH XOAUTH2',
    });
    const { kind, hint } = describeFailure(error);
    expect(kind).toBe('transient');
    expect(hint).toMatch(/^no OAuth2 access token could be obtained: check `smtp\.auth\.accessToken`/);
  });

  test('a login the server does not offer (504) says so', () => {
    const error = Object.assign(new Error('Invalid login: 504 Error: Unrecognized authentication type'), {
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 504,
    });
    expect(describeFailure(error)).toEqual({
      kind: 'refusal',
      hint: expect.stringMatching(/^the server does not offer this kind of login/) as unknown,
    });
  });
});
