import type { BufferedMailTransportOptions, MailTransporter, SmtpError, SmtpOptions } from '../../src';
import { BufferedMailTransport } from '../../src';
import { deadPort } from '../helpers/ports';
import { createLogger, optionsFor, recordingTransport, startServer, type LocalSmtpServer } from '../helpers/smtp';

const PASS = 'S3cret-Pass-9f';
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '');
const PASS_FORMS = [PASS, base64(PASS), base64(`\u0000demo\u0000${PASS}`), base64(`demo\u0000demo\u0000${PASS}`)];

const transports: BufferedMailTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

function transportWith(options: BufferedMailTransportOptions): BufferedMailTransport {
  const transport = new BufferedMailTransport(options);
  transports.push(transport);
  return transport;
}

function smtpFor(server: LocalSmtpServer, overrides: Partial<SmtpOptions> = {}): BufferedMailTransportOptions {
  return optionsFor(server, { smtp: { ...optionsFor(server).smtp!, ...overrides } });
}

/** What verify() rejects with; fails the test if it resolves. */
function rejectionOf(transport: BufferedMailTransport): Promise<SmtpError> {
  return transport.verify().then(
    () => {
      throw new Error('Expected verify() to reject');
    },
    (error: SmtpError) => error,
  );
}

/** Every string an error exposes: message, stack, and each of its own properties. */
function everythingIn(error: SmtpError): string {
  return JSON.stringify({ ...error, message: error.message, stack: error.stack });
}

describe('verify() checks the way to the server without sending mail', () => {
  let server: LocalSmtpServer;
  beforeAll(async () => {
    server = await startServer({ credentials: { user: 'demo', pass: PASS } });
  });

  test('a healthy server: it resolves after a login over TLS, and no mail is sent', async () => {
    const before = { attempts: server.authAttempts.length, mails: server.mails.length };
    const transport = transportWith(optionsFor(server));
    await expect(transport.verify()).resolves.toBeUndefined();
    expect(server.authAttempts.slice(before.attempts)).toEqual([{ username: 'demo', secure: true, accepted: true }]);
    expect(server.mails.length).toBe(before.mails);
    expect(transport.stats()).toMatchObject({ mailsSent: 0, entriesLogged: 0 });
  });

  test('the transport delivers as usual afterwards', async () => {
    const { transport, sent } = recordingTransport({ ...optionsFor(server), capacity: 1 });
    transports.push(transport);
    await transport.verify();
    createLogger(transport).info('after the check');
    await server.waitForMails(1);
    await transport.flush();
    expect(sent).toHaveLength(1);
  });

  test('a wrong password: EAUTH with the hint that names the option, and no form of the password', async () => {
    const transport = transportWith(smtpFor(server, { auth: { user: 'demo', pass: `${PASS}-wrong` } }));
    const error = await rejectionOf(transport);
    expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    expect(error.message).toMatch(
      new RegExp(
        `^Could not verify 127\\.0\\.0\\.1:${server.port}: Invalid login: 535 .*; the server refused the login: check \`smtp\\.auth\\.user\` and \`smtp\\.auth\\.pass\`$`,
      ),
    );
    expect(PASS_FORMS.filter((form) => everythingIn(error).includes(form))).toEqual([]);
  });

  test('an untrusted certificate: the certificate hint', async () => {
    const transport = transportWith(smtpFor(server, { tls: {} }));
    const error = await rejectionOf(transport);
    expect(error.originalCode).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(error.message).toContain(
      'the server certificate is not trusted: trust its certificate authority with `smtp.tls.ca`',
    );
  });

  test('`secure: true` against a STARTTLS port names `smtp.secure`', async () => {
    const transport = transportWith(smtpFor(server, { secure: true }));
    const error = await rejectionOf(transport);
    expect(error.tlsMode).toBe('implicit');
    expect(error.message).toContain('the server starts in plain text: use `smtp.secure: false`');
  });

  test('a refused port names ECONNREFUSED and host:port', async () => {
    const port = await deadPort();
    const transport = transportWith({
      smtp: { host: '127.0.0.1', port, auth: { user: 'demo', pass: PASS } },
      from: 'app@example.com',
      to: 'ops@example.com',
    });
    const error = await rejectionOf(transport);
    expect(error.originalCode).toBe('ECONNREFUSED');
    expect(error.message).toMatch(
      new RegExp(
        `^Could not verify 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; check \`smtp\\.host\` and \`smtp\\.port\``,
      ),
    );
  });
});

test('a server that offers no login while `smtp.auth` is set fails the check, where delivery would skip the login', async () => {
  const server = await startServer({ serverOptions: { disabledCommands: ['AUTH'] } });
  const transport = transportWith(optionsFor(server));
  const error = await rejectionOf(transport);
  expect(error.code).toBe('EAUTH');
  expect(error.message).toMatch(
    /^Could not verify 127\.0\.0\.1:\d+: Invalid login: 500 .*; the server does not offer this kind of login: /,
  );
  expect(server.authAttempts).toEqual([]);
});

describe("verify() with a user's transporter", () => {
  const message = { from: 'app@example.com', to: 'ops@example.com' };

  test('calls its verify()', async () => {
    let checks = 0;
    const transporter: MailTransporter = {
      sendMail: () => Promise.resolve({}),
      verify: () => {
        checks++;
        return Promise.resolve(true);
      },
    };
    await expect(transportWith({ ...message, transporter }).verify()).resolves.toBeUndefined();
    expect(checks).toBe(1);
  });

  test('resolves when it has none', async () => {
    const transporter: MailTransporter = { sendMail: () => Promise.resolve({}) };
    await expect(transportWith({ ...message, transporter }).verify()).resolves.toBeUndefined();
  });

  test('rejects with its error, keeping its code, without SMTP hints', async () => {
    const transporter: MailTransporter = {
      sendMail: () => Promise.resolve({}),
      verify: () => Promise.reject(Object.assign(new Error('Missing region'), { code: 'ESES' })),
    };
    const error = await rejectionOf(transportWith({ ...message, transporter }));
    expect(error).toMatchObject({ code: 'ESES', message: 'The transporter failed its check: Missing region' });
  });
});
