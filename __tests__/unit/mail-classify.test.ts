import type { ErrorCode } from 'nodemailer';
import {
  describeFailure,
  isAborted,
  isRefusal,
  isTooLarge,
  isTransientFailure,
  sanitizeError,
  type FailureKind,
  type SmtpError,
} from '../../src/mail';

/** An error shaped the way nodemailer hands them over (see e2e/mail-failures for the real ones). */
function nodemailerError(message: string, fields: Partial<SmtpError>): SmtpError {
  return Object.assign(new Error(message), fields);
}

function expectKind(error: unknown, kind: FailureKind): void {
  expect(describeFailure(error).kind).toBe(kind);
  expect(isTransientFailure(error)).toBe(kind === 'transient');
  expect(isRefusal(error)).toBe(kind === 'refusal');
  expect(isAborted(error)).toBe(kind === 'aborted');
}

// Typed over nodemailer's own list of codes: a code added by a later version does not compile
// until someone decides what it means.
const KIND_OF_CODE: Record<ErrorCode, FailureKind> = {
  ECONNECTION: 'transient',
  ETIMEDOUT: 'transient',
  ESOCKET: 'transient',
  EDNS: 'transient',
  EPROXY: 'transient',
  EPROTOCOL: 'transient',
  EMAXLIMIT: 'transient',
  EFETCH: 'transient',
  ESENDMAIL: 'transient',
  ESES: 'transient',
  ETLS: 'refusal',
  EREQUIRETLS: 'refusal',
  EAUTH: 'refusal',
  ENOAUTH: 'refusal',
  EOAUTH2: 'refusal',
  EENVELOPE: 'permanent',
  EMESSAGE: 'permanent',
  EOTP: 'permanent',
  ESTREAM: 'permanent',
  EMAXRECIPIENTS: 'permanent',
  ECONFIG: 'permanent',
  EFILEACCESS: 'permanent',
  EURLACCESS: 'permanent',
  EABORT: 'aborted',
};

describe('nodemailer codes without a server reply', () => {
  test.each(Object.entries(KIND_OF_CODE))('%s is %s', (code, kind) => {
    expectKind(nodemailerError('failed', { code, command: 'CONN' }), kind);
  });

  test("Node's permission model denying the socket is a setting, not an outage", () => {
    expectKind(nodemailerError('Access to this API has been restricted', { code: 'ERR_ACCESS_DENIED' }), 'permanent');
  });

  test('an error without a code, or with one nodemailer does not define, may go away', () => {
    expectKind(new Error('Something failed'), 'transient');
    expectKind(nodemailerError('failed', { code: 'ESOMETHINGNEW' }), 'transient');
    expectKind(nodemailerError('failed', { code: '__proto__' }), 'transient');
  });
});

describe('server replies decide over the code', () => {
  test.each<[string, Partial<SmtpError>, FailureKind, boolean]>([
    [
      '421 closing',
      { code: 'ECONNECTION', command: 'CONN', responseCode: 421, response: '421 4.3.2 Service not available' },
      'transient',
      false,
    ],
    [
      '450 mailbox busy',
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450, response: '450 4.2.1 Mailbox busy' },
      'transient',
      false,
    ],
    [
      '451 local error',
      { code: 'EMESSAGE', command: 'DATA', responseCode: 451, response: '451 4.3.0 Local error in processing' },
      'transient',
      false,
    ],
    [
      '452 storage',
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 452, response: '452 4.3.1 Insufficient system storage' },
      'transient',
      false,
    ],
    [
      '454 login later',
      {
        code: 'EAUTH',
        command: 'AUTH PLAIN',
        responseCode: 454,
        response: '454 4.7.0 Temporary authentication failure',
      },
      'transient',
      false,
    ],
    [
      '454 TLS later',
      { code: 'ETLS', command: 'STARTTLS', responseCode: 454, response: '454 4.7.0 TLS not available' },
      'transient',
      false,
    ],
    [
      '500 syntax',
      { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 500, response: '500 5.5.2 Syntax error' },
      'permanent',
      false,
    ],
    [
      '502 no STARTTLS',
      { code: 'ETLS', command: 'STARTTLS', responseCode: 502, response: '502 5.5.1 Unrecognized command' },
      'refusal',
      false,
    ],
    [
      '503 sequence',
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 503, response: '503 5.5.1 Bad sequence of commands' },
      'transient',
      false,
    ],
    [
      '530 login first',
      { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530, response: '530 5.7.0 Authentication required' },
      'refusal',
      false,
    ],
    [
      '535 bad login',
      {
        code: 'EAUTH',
        command: 'AUTH PLAIN',
        responseCode: 535,
        response: '535 5.7.8 Authentication credentials invalid',
      },
      'refusal',
      false,
    ],
    [
      '550 no such user',
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: '550 5.1.1 User unknown' },
      'permanent',
      false,
    ],
    [
      '552 too large',
      {
        code: 'EMESSAGE',
        command: 'DATA',
        responseCode: 552,
        response: '552 Error: message exceeds fixed maximum message size 1000',
      },
      'permanent',
      true,
    ],
    [
      '552 5.3.4',
      { code: 'EMESSAGE', command: 'DATA', responseCode: 552, response: '552 5.3.4 Message size exceeds fixed limit' },
      'permanent',
      true,
    ],
    [
      '552 mailbox full',
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 552, response: '552 5.2.2 Mailbox full' },
      'permanent',
      false,
    ],
    [
      '554 5.3.4 too big',
      { code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 5.3.4 Message too big for system' },
      'permanent',
      true,
    ],
    [
      '554 spam',
      { code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 5.7.1 Message rejected as spam' },
      'permanent',
      false,
    ],
    [
      '554 greeting',
      { code: 'EPROTOCOL', command: 'CONN', responseCode: 554, response: '554 No SMTP service here' },
      'refusal',
      false,
    ],
  ])('%s', (_name, fields, kind, tooLarge) => {
    const error = nodemailerError(`Failed: ${fields.response ?? ''}`, fields);
    expectKind(error, kind);
    expect(isTooLarge(error)).toBe(tooLarge);
  });

  test("nodemailer's own check against the SIZE the server announced is a mail too large", () => {
    const error = nodemailerError('Message size larger than allowed 1000', { code: 'EMESSAGE', command: 'MAIL FROM' });
    expectKind(error, 'permanent');
    expect(isTooLarge(error)).toBe(true);
    expect(describeFailure(error).hint).toContain('maxMailBytes');
  });
});

describe('certificates and TLS versions', () => {
  test.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', '`smtp.tls.ca`'],
    ['SELF_SIGNED_CERT_IN_CHAIN', '`smtp.tls.ca`'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', '`smtp.tls.ca`'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', '`smtp.tls.ca`'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', '`smtp.tls.servername`'],
    ['CERT_HAS_EXPIRED', 'expired'],
    ['CERT_NOT_YET_VALID', 'expired'],
  ])('%s is a refusal whose hint names %s', (originalCode, named) => {
    const error = nodemailerError('certificate problem', { code: 'ESOCKET', originalCode, command: 'CONN' });
    expectKind(error, 'refusal');
    expect(describeFailure(error).hint).toContain(named);
  });

  test('no TLS version in common is a refusal that names `smtp.tls.minVersion`', () => {
    const error = nodemailerError('tlsv1 alert protocol version', {
      code: 'ESOCKET',
      originalCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      command: 'CONN',
    });
    expectKind(error, 'refusal');
    expect(describeFailure(error).hint).toContain('`smtp.tls.minVersion`');
  });
});

describe('TLS mode mix-ups', () => {
  // The shapes nodemailer 10 produces, as reproduced in e2e/mail-failures.
  const secureAgainstStartTls = () =>
    nodemailerError('800C485B8C7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number', {
      code: 'ESOCKET',
      originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER',
      command: 'CONN',
      tlsMode: 'implicit',
    });
  const plainAgainstImplicitTls = (tlsMode?: 'implicit' | 'starttls') =>
    nodemailerError('Greeting never received', {
      code: 'ETIMEDOUT',
      timeoutType: 'GREETING_TIMEOUT',
      command: 'CONN',
      ...(tlsMode && { tlsMode }),
    });

  test('`secure: true` against a STARTTLS port is a refusal whose hint says `smtp.secure: false`', () => {
    expectKind(secureAgainstStartTls(), 'refusal');
    expect(describeFailure(secureAgainstStartTls()).hint).toContain('`smtp.secure: false`');
  });

  test('a plain connection never greeted is a refusal whose hint says `smtp.secure: true`', () => {
    expectKind(plainAgainstImplicitTls('starttls'), 'refusal');
    expect(describeFailure(plainAgainstImplicitTls('starttls')).hint).toContain('`smtp.secure: true`');
  });

  test('a TLS connection never greeted, or one of unknown mode, is a slow server: transient', () => {
    expectKind(plainAgainstImplicitTls('implicit'), 'transient');
    expectKind(plainAgainstImplicitTls(), 'transient');
    expect(describeFailure(plainAgainstImplicitTls('implicit')).hint).toContain('`smtp.greetingTimeoutMs`');
  });
});

describe('hints', () => {
  test.each<[string, string, Partial<SmtpError>]>([
    ['refused connection', '`smtp.port`', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }],
    ['unknown host', '`smtp.host`', { code: 'EDNS', originalCode: 'ENOTFOUND', command: 'CONN' }],
    ['connect timeout', '`smtp.host`', { code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' }],
    [
      'slow handshake',
      '`smtp.greetingTimeoutMs`',
      { code: 'ETIMEDOUT', timeoutType: 'UPGRADE_TIMEOUT', command: 'CONN' },
    ],
    ['silent server', '`smtp.socketTimeoutMs`', { code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' }],
    [
      'refused login',
      '`smtp.auth.pass`',
      { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 5.7.8 Bad credentials' },
    ],
    [
      'login required',
      '`smtp.auth`',
      { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530, response: '530 5.7.0 Authentication required' },
    ],
    ['no STARTTLS', 'STARTTLS', { code: 'ETLS', command: 'STARTTLS', responseCode: 502, response: '502 no' }],
  ])('%s: the hint names %s', (_name, named, fields) => {
    expect(describeFailure(nodemailerError('failed', fields)).hint).toContain(named);
  });

  test('an aborted send and a rejected message have no hint', () => {
    expect(describeFailure(nodemailerError('Message sending aborted', { code: 'EABORT' })).hint).toBeUndefined();
    const spam = nodemailerError('Message failed', {
      code: 'EMESSAGE',
      command: 'DATA',
      responseCode: 554,
      response: '554 spam',
    });
    expect(describeFailure(spam).hint).toBeUndefined();
  });
});

describe('hostile values', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const throwing = Object.defineProperties(new Error('x'), {
    code: {
      get() {
        throw new Error('getter');
      },
    },
    message: {
      get() {
        throw new Error('getter');
      },
    },
  });

  test.each<[string, unknown, FailureKind]>([
    ['null', null, 'transient'],
    ['undefined', undefined, 'transient'],
    ['a string', 'ECONNREFUSED', 'transient'],
    ['a number', 421, 'transient'],
    ['a symbol', Symbol('x'), 'transient'],
    ['a revoked Proxy', revoked.proxy, 'transient'],
    ['throwing getters', throwing, 'transient'],
    // A reply code that is not a number is no reply: the code alone decides.
    ['a string responseCode', { responseCode: '421', code: 'EENVELOPE' }, 'permanent'],
  ])('%s is described without throwing', (_name, value, kind) => {
    expect(() => describeFailure(value)).not.toThrow();
    expectKind(value, kind);
    expect(isTooLarge(value)).toBe(false);
  });
});

describe('a sanitized copy is classified as the original', () => {
  test.each<[string, SmtpError]>([
    ['abort', nodemailerError('Message sending aborted', { code: 'EABORT' })],
    [
      'refused login',
      nodemailerError('Invalid login', { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 no' }),
    ],
    [
      'too large',
      nodemailerError('Message failed', {
        code: 'EMESSAGE',
        command: 'DATA',
        responseCode: 552,
        response: '552 too big',
      }),
    ],
    [
      'certificate',
      nodemailerError('self-signed', { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' }),
    ],
    [
      'implicit TLS expected',
      nodemailerError('Greeting never received', {
        code: 'ETIMEDOUT',
        timeoutType: 'GREETING_TIMEOUT',
        tlsMode: 'starttls',
      }),
    ],
    [
      'refused connection',
      nodemailerError('connect ECONNREFUSED 127.0.0.1:2525', { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }),
    ],
  ])('%s', (_name, error) => {
    const copy = sanitizeError(error, ['secret'], 'Could not mail 1 log entry');
    expect(describeFailure(copy)).toEqual(describeFailure(error));
    expect(isTooLarge(copy)).toBe(isTooLarge(error));
  });
});
