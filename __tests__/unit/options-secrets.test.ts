import { resolveOptions, type BufferedMailTransportOptions } from '../../src/options';

const PASS = 'S3cret-Pass-9f';
const addresses = { from: 'app@example.com', to: 'ops@example.com' };

function resolutionError(options: unknown): Error {
  try {
    resolveOptions(options as BufferedMailTransportOptions);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the options were accepted');
}

describe('a password given where another option belongs is not repeated by the error', () => {
  test.each<[string, unknown, string]>([
    [
      'a connection URL as `smtp`',
      { ...addresses, smtp: `smtps://demo:${PASS}@smtp.example.com:465` },
      'Expected `smtp` to be an object with at least `host`, got a string (not shown: it may hold a password)',
    ],
    [
      '`user:password` as `smtp.auth`',
      { ...addresses, smtp: { host: 'smtp.example.com', auth: `demo:${PASS}` } },
      'Expected `smtp.auth` to be an object with `user` and `pass`, got a string (not shown: it may hold a password)',
    ],
    [
      'a connection URL as `smtp.host`',
      { ...addresses, smtp: { host: `smtp://demo:${PASS}@smtp.example.com` } },
      'Expected `smtp.host` to be a host name or an IP address, not a URL, got a string (not shown: it may hold a password)',
    ],
    [
      'a number as `smtp.auth.pass`',
      { ...addresses, smtp: { host: 'smtp.example.com', auth: { user: 'demo', pass: 907_311_455 } } },
      'Expected `smtp.auth.pass` to be a non-empty string',
    ],
    [
      'the password in an array',
      { ...addresses, smtp: { host: 'smtp.example.com', auth: { user: 'demo', pass: [PASS] } } },
      'Expected `smtp.auth.pass` to be a non-empty string',
    ],
  ])('%s', (_what, options, message) => {
    const error = resolutionError(options);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });

  test('host names and IP addresses, IPv6 included, are still accepted', () => {
    for (const host of ['::1', 'smtp-relay.example.com', '192.0.2.7']) {
      expect(resolveOptions({ ...addresses, smtp: { host } }).smtp?.host).toBe(host);
    }
  });
});
