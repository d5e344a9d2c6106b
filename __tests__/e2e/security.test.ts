import { generateCertificate } from '../../src/local-smtp-server';
import type { DeliveryWarning } from '../../src';
import { expectEveryEntryAccounted } from '../helpers/outbox';
import { createLogger, optionsFor, recordingTransport, startServer } from '../helpers/smtp';

/** Every string a warning exposes: message, stack, and each of its own properties. */
function everythingIn(warning: DeliveryWarning): string {
  return JSON.stringify({ ...warning, message: warning.message, stack: warning.stack });
}

function secretFormsOf(user: string, pass: string): string[] {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return [pass, base64(pass), base64(`\u0000${user}\u0000${pass}`)];
}

describe('security defaults', () => {
  test('a server that does not offer STARTTLS receives no AUTH and no mail, and the failure is reported as ETLS', async () => {
    const server = await startServer({
      // The trap: STARTTLS unavailable, and AUTH would be accepted in clear text.
      serverOptions: { hideSTARTTLS: true, disabledCommands: ['STARTTLS'], allowInsecureAuth: true },
    });
    const { transport, warnings, sent } = recordingTransport(optionsFor(server));
    const logger = createLogger(transport);

    logger.info('must never travel in clear text');
    await transport.flush();

    expect(server.authAttempts).toEqual([]);
    expect(server.mails).toEqual([]);
    expect(sent).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('ETLS');
    expect(warnings[0]?.count).toBe(1);
    for (const form of secretFormsOf(server.credentials.user, server.credentials.pass)) {
      expect(everythingIn(warnings[0]!)).not.toContain(form);
    }
    expectEveryEntryAccounted(transport);
  });

  test('a server whose certificate is not trusted receives no AUTH and no mail', async () => {
    const server = await startServer();
    const stranger = await generateCertificate();
    const { transport, warnings } = recordingTransport(
      optionsFor(server, {
        smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { ca: stranger.cert } },
      }),
    );
    createLogger(transport).info('secret business');
    await transport.flush();

    expect(server.authAttempts).toEqual([]);
    expect(server.mails).toEqual([]);
    expect(warnings).toHaveLength(1);
    // nodemailer reports the failed handshake as a socket error, keeping OpenSSL's reason.
    expect([warnings[0]?.code, warnings[0]?.originalCode]).toEqual(['ESOCKET', 'DEPTH_ZERO_SELF_SIGNED_CERT']);
    expect(warnings[0]?.message).toMatch(/certificate/i);
    expect(warnings[0]?.message).toContain('smtp.tls.ca');
    expectEveryEntryAccounted(transport);
  });

  test('without tls.ca, the self-signed certificate of the server is refused by default', async () => {
    const server = await startServer();
    const { transport, warnings } = recordingTransport(
      optionsFor(server, { smtp: { host: server.host, port: server.port, auth: server.credentials } }),
    );
    createLogger(transport).info('secret business');
    await transport.flush();

    expect(server.authAttempts).toEqual([]);
    expect(server.mails).toEqual([]);
    expect(warnings.map((warning) => [warning.code, warning.originalCode])).toEqual([
      ['ESOCKET', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ]);
    expectEveryEntryAccounted(transport);
  });

  test('rejectUnauthorized: false lets that transport accept a certificate it cannot verify', async () => {
    const server = await startServer();
    const { transport, warnings } = recordingTransport(
      optionsFor(server, {
        smtp: { host: server.host, port: server.port, auth: server.credentials, tls: { rejectUnauthorized: false } },
      }),
    );
    createLogger(transport).info('accepted on purpose');
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(1);
    expect(server.mails[0]?.secure).toBe(true);
    expectEveryEntryAccounted(transport);
  });

  test('a refused login is reported as EAUTH once, without the password in any form', async () => {
    const server = await startServer();
    const user = server.credentials.user;
    const pass = 'Wr0ng-but-still-Secret!';
    const { transport, warnings } = recordingTransport(
      optionsFor(server, {
        smtp: { host: server.host, port: server.port, auth: { user, pass }, tls: { ca: server.ca } },
      }),
    );
    createLogger(transport).info('hello');
    await transport.flush();

    expect(server.authAttempts).toEqual([{ username: user, secure: true, accepted: false }]);
    expect(server.mails).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'EAUTH', responseCode: 535, count: 1 });
    for (const form of secretFormsOf(user, pass)) expect(everythingIn(warnings[0]!)).not.toContain(form);
    expectEveryEntryAccounted(transport);
  });

  test('implicit TLS (secure: true) delivers over an encrypted session from the first byte', async () => {
    const server = await startServer({ serverOptions: { secure: true } });
    const { transport, warnings } = recordingTransport(
      optionsFor(server, {
        smtp: { host: server.host, port: server.port, secure: true, auth: server.credentials, tls: { ca: server.ca } },
      }),
    );
    createLogger(transport).info('over implicit TLS');
    await transport.flush();

    expect(warnings).toEqual([]);
    expect(server.mails).toHaveLength(1);
    expect(server.mails[0]?.secure).toBe(true);
    expect(server.authAttempts).toEqual([{ username: server.credentials.user, secure: true, accepted: true }]);
    expectEveryEntryAccounted(transport);
  });
});
