import { resolveOptions, type BufferedMailTransportOptions } from '../../src/options';

const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-7f3a';
const REFRESH = '1//refresh-token-9c2e';
const CLIENT_SECRET = 'client-secret-b81d';
const PRIVATE_KEY =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
const PASS = 'Hunter2-secret';
const SECRETS = [TOKEN, REFRESH, CLIENT_SECRET, PRIVATE_KEY.split('\n')[1]!, PASS];

const addresses = { from: 'app@example.com', to: 'ops@example.com' };

function withAuth(auth: unknown): BufferedMailTransportOptions {
  return { ...addresses, smtp: { host: 'smtp.office365.com', auth } } as BufferedMailTransportOptions;
}

function constructionError(options: BufferedMailTransportOptions): Error {
  try {
    resolveOptions(options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the options to be refused');
}

const provide = () => Promise.resolve(TOKEN);

describe('smtp.auth with type OAuth2 is accepted in its three forms', () => {
  test('a token string', () => {
    const { smtp } = resolveOptions(withAuth({ type: 'OAuth2', user: 'logs@contoso.com', accessToken: TOKEN }));
    expect(smtp?.auth).toEqual({ type: 'OAuth2', user: 'logs@contoso.com', accessToken: TOKEN });
    expect(Object.isFrozen(smtp?.auth)).toBe(true);
  });

  test('a function of { user, renew }, kept as given', () => {
    const { smtp } = resolveOptions(withAuth({ type: 'OAuth2', user: 'logs@contoso.com', accessToken: provide }));
    expect(smtp?.auth).toEqual({ type: 'OAuth2', user: 'logs@contoso.com', accessToken: provide });
  });

  test("nodemailer's refresh-token form, with the optional current token, its expiry and the endpoint", () => {
    const auth = {
      type: 'OAuth2',
      user: 'logs@example.com',
      clientId: 'client-id',
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH,
      accessToken: TOKEN,
      expires: 1_900_000_000_000,
      accessUrl: 'https://oauth2.googleapis.com/token',
    };
    expect(resolveOptions(withAuth(auth)).smtp?.auth).toEqual(auth);
  });

  test("nodemailer's service-account form", () => {
    const auth = { type: 'OAuth2', user: 'logs@example.com', serviceClient: '1234567890', privateKey: PRIVATE_KEY };
    expect(resolveOptions(withAuth(auth)).smtp?.auth).toEqual(auth);
  });

  test('a field of no form is an unknown option, named without its value', () => {
    expect(() => resolveOptions(withAuth({ type: 'OAuth2', user: 'a@b.c', accessToken: TOKEN, scope: 'x' }))).toThrow(
      /^Unknown option `smtp\.auth\.scope`/,
    );
  });
});

describe('a wrong OAuth2 setting is refused at construction, naming the option, never a secret', () => {
  test.each<[string, unknown, RegExp | string]>([
    [
      'a number as the token',
      { type: 'OAuth2', user: 'a@b.c', accessToken: 42 },
      'Expected `smtp.auth.accessToken` to be a non-empty string or a function `({ user, renew }) => Promise<string>`, got a number',
    ],
    [
      'an empty token',
      { type: 'OAuth2', user: 'a@b.c', accessToken: '' },
      'Expected `smtp.auth.accessToken` to be a non-empty string or a function `({ user, renew }) => Promise<string>`, got an empty string',
    ],
    [
      'a token with a line break',
      { type: 'OAuth2', user: 'a@b.c', accessToken: `${TOKEN}\r\nQUIT` },
      'Expected `smtp.auth.accessToken` to be a non-empty string or a function `({ user, renew }) => Promise<string>`, got a string with control characters',
    ],
    [
      'no token at all',
      { type: 'OAuth2', user: 'a@b.c' },
      /^Expected `smtp\.auth\.accessToken` .*`serviceClient` with `privateKey`\), got `undefined`$/,
    ],
    [
      'no user',
      { type: 'OAuth2', accessToken: TOKEN },
      'Expected `smtp.auth.user` to be a non-empty string, got `undefined` (undefined)',
    ],
    [
      'a user with a control character, which would split the XOAUTH2 string',
      { type: 'OAuth2', user: 'a@b.c\u0001auth=Bearer x', accessToken: TOKEN },
      'Expected `smtp.auth.user` to be a mailbox without line breaks or control characters',
    ],
    [
      'an unknown type',
      { type: 'oauth', user: 'a@b.c', accessToken: TOKEN },
      'Expected `smtp.auth.type` to be `\'OAuth2\'`, or absent for a login with `user` and `pass`, got `"oauth"` (string)',
    ],
    [
      'a password with type OAuth2',
      { type: 'OAuth2', user: 'a@b.c', pass: PASS, accessToken: TOKEN },
      "Expected no `smtp.auth.pass` with `smtp.auth.type: 'OAuth2'`, which logs in with `accessToken` instead",
    ],
    [
      'a token without the type',
      { user: 'a@b.c', accessToken: TOKEN },
      "Expected `smtp.auth.type: 'OAuth2'` with `smtp.auth.accessToken`",
    ],
    [
      'a password and a token, without the type',
      { user: 'a@b.c', pass: PASS, accessToken: TOKEN },
      "Expected either `smtp.auth.pass` or `smtp.auth.accessToken` with `smtp.auth.type: 'OAuth2'`, got both",
    ],
    [
      'a refresh token without the client secret',
      { type: 'OAuth2', user: 'a@b.c', clientId: 'id', refreshToken: REFRESH },
      'Expected `smtp.auth.clientSecret` to be a non-empty string, got `undefined`',
    ],
    [
      'a refresh token of the wrong type',
      { type: 'OAuth2', user: 'a@b.c', clientId: 'id', clientSecret: CLIENT_SECRET, refreshToken: [REFRESH] },
      'Expected `smtp.auth.refreshToken` to be a non-empty string, got an array',
    ],
    [
      'a service account without its key',
      { type: 'OAuth2', user: 'a@b.c', serviceClient: '123' },
      'Expected `smtp.auth.privateKey` to be a PEM private key, got `undefined`',
    ],
    [
      'both a refresh token and a service account',
      {
        type: 'OAuth2',
        user: 'a@b.c',
        clientId: 'id',
        clientSecret: CLIENT_SECRET,
        refreshToken: REFRESH,
        serviceClient: '1',
        privateKey: PRIVATE_KEY,
      },
      'Expected either `smtp.auth.refreshToken` (with `clientId` and `clientSecret`) or `smtp.auth.serviceClient` (with `privateKey`), got both',
    ],
    [
      'a function and a refresh token',
      {
        type: 'OAuth2',
        user: 'a@b.c',
        accessToken: provide,
        clientId: 'id',
        clientSecret: CLIENT_SECRET,
        refreshToken: REFRESH,
      },
      /^Expected no `smtp\.auth\.refreshToken`.* with a function as `smtp\.auth\.accessToken`, which obtains the tokens itself$/,
    ],
    [
      'a token endpoint over plain HTTP, which would carry the client secret in clear text',
      {
        type: 'OAuth2',
        user: 'a@b.c',
        clientId: 'id',
        clientSecret: CLIENT_SECRET,
        refreshToken: REFRESH,
        accessUrl: `http://${CLIENT_SECRET}@token.example/`,
      },
      'Expected `smtp.auth.accessUrl` to be an https:// URL, got a string (not shown: it may hold a password)',
    ],
  ])('%s', (_what, auth, message) => {
    const error = constructionError(withAuth(auth));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
    expect(SECRETS.filter((secret) => error.message.includes(secret))).toEqual([]);
  });
});

test('a password login is unchanged', () => {
  expect(resolveOptions(withAuth({ user: 'app', pass: PASS })).smtp?.auth).toEqual({ user: 'app', pass: PASS });
});
