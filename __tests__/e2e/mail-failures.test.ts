import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  createMailer,
  describeFailure,
  isRefusal,
  isTooLarge,
  isTransientFailure,
  sanitizeError,
  secretForms,
  type Mailer,
  type SmtpError,
} from '../../src/mail';
import { generateCertificate } from '../../src/local-smtp-server';
import { resolveOptions, type MailMessage, type SmtpOptions } from '../../src/options';
import { deadPort } from '../helpers/ports';
import { startServer, type LocalSmtpServer } from '../helpers/smtp';

const mailers: Mailer[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const mailer of mailers.splice(0)) mailer.close();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function settingsFor(smtp: SmtpOptions) {
  return resolveOptions({ smtp, from: 'app@example.com', to: 'ops@example.com' });
}

/** Sends one small message with these settings and returns how it failed. */
async function failureOf(smtp: SmtpOptions, text = 'hello'): Promise<SmtpError> {
  const mailer = createMailer(settingsFor(smtp));
  mailers.push(mailer);
  const message: MailMessage = { from: 'app@example.com', to: ['ops@example.com'], subject: 'failure', text };
  return mailer.send(message).then(
    () => {
      throw new Error('Expected the send to fail');
    },
    (error: SmtpError) => error,
  );
}

/** The warning a user would read, with every form of the password removed. */
function warningFor(error: unknown, smtp: SmtpOptions): SmtpError {
  return sanitizeError(error, secretForms(settingsFor(smtp).smtp), 'Could not mail 1 log entry');
}

function smtpFor(server: LocalSmtpServer, overrides: Partial<SmtpOptions> = {}): SmtpOptions {
  return { host: server.host, port: server.port, auth: server.credentials, tls: { ca: server.ca }, ...overrides };
}

describe('TLS mode mix-ups are refusals whose warning names the fix', () => {
  test('`secure: true` against a STARTTLS server: OpenSSL reads the plain greeting as a bad TLS record', async () => {
    const server = await startServer();
    const smtp = smtpFor(server, { secure: true });

    const error = await failureOf(smtp);

    expect(error).toMatchObject({ code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', command: 'CONN' });
    expect(error.message).toMatch(/wrong version number/);
    expect(isTransientFailure(error)).toBe(false);
    expect(isRefusal(error)).toBe(true);
    expect(warningFor(error, smtp).message).toContain('use `smtp.secure: false` (STARTTLS, usually port 587 or 25)');
    expect(server.authAttempts).toEqual([]);
  });

  test('a server that speaks TLS from the first byte, reached without `secure`: the greeting never comes', async () => {
    const certificate = await generateCertificate();
    const tlsServer = createTlsServer({ key: certificate.key, cert: certificate.cert });
    tlsServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => tlsServer.close(() => resolve())));
    const smtp: SmtpOptions = {
      host: '127.0.0.1',
      port: (tlsServer.address() as AddressInfo).port,
      auth: { user: 'app', pass: 'secret' },
      tls: { ca: certificate.cert },
      greetingTimeoutMs: 300,
    };

    const error = await failureOf(smtp);

    expect(error).toMatchObject({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', tlsMode: 'starttls' });
    expect(isTransientFailure(error)).toBe(false);
    expect(isRefusal(error)).toBe(true);
    expect(warningFor(error, smtp).message).toContain('use `smtp.secure: true` for implicit TLS (usually port 465)');
  });
});

describe('an unreachable server is named', () => {
  test('a refused connection keeps ECONNREFUSED and host:port through the warning, and may go away', async () => {
    const port = await deadPort();
    const smtp: SmtpOptions = { host: '127.0.0.1', port, auth: { user: 'app', pass: 'S3cret-pass' } };

    const error = await failureOf(smtp);
    const warning = warningFor(error, smtp);

    expect(error).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
    expect(isTransientFailure(error)).toBe(true);
    expect(warning.message).toBe(
      `Could not mail 1 log entry: connect ECONNREFUSED 127.0.0.1:${port}; check \`smtp.host\` and \`smtp.port\`, and that the server is reachable`,
    );
    expect(warning).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
  });
});

describe('what real servers answer is classified', () => {
  test('552 from a server with a size limit: permanent, and recognisable as too large', async () => {
    const server = await startServer({ serverOptions: { size: 1024, rejectOversized: true } });
    const smtp = smtpFor(server);

    const error = await failureOf(smtp, 'x'.repeat(4096));

    expect(error.responseCode).toBe(552);
    expect(isTooLarge(error)).toBe(true);
    expect(describeFailure(error).kind).toBe('permanent');
    expect(warningFor(error, smtp).message).toContain('`maxMailBytes`');
  });

  test('a refused login: a refusal, not too large', async () => {
    const server = await startServer();
    const smtp = smtpFor(server, { auth: { user: server.credentials.user, pass: 'wrong-Pass' } });

    const error = await failureOf(smtp);

    expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    expect(isRefusal(error)).toBe(true);
    expect(isTooLarge(error)).toBe(false);
  });

  test.each<[string, (server: LocalSmtpServer) => SmtpOptions['tls'], string, string]>([
    ['an untrusted certificate', () => ({}), 'DEPTH_ZERO_SELF_SIGNED_CERT', '`smtp.tls.ca`'],
    [
      'a certificate for another name',
      (server) => ({ ca: server.ca, servername: 'example.org' }),
      'ERR_TLS_CERT_ALTNAME_INVALID',
      '`smtp.tls.servername`',
    ],
  ])('%s: a refusal whose warning names the option', async (_name, tlsFor, originalCode, named) => {
    const server = await startServer();
    const smtp = smtpFor(server, { tls: tlsFor(server) });

    const error = await failureOf(smtp);

    expect(error.originalCode).toBe(originalCode);
    expect(isRefusal(error)).toBe(true);
    expect(warningFor(error, smtp).message).toContain(named);
    expect(server.authAttempts).toEqual([]);
  });
});
