import type { ErrorCode } from 'nodemailer';
import { ABORTED_CODE, readFailure, type FailureFields } from './errors';

/**
 * What a failed send means for the next try:
 * - `aborted`: `abort()` or `close()` ended it on purpose; not a delivery failure.
 * - `transient`: may go away by itself (network errors, timeouts, dropped connections, 4xx replies).
 * - `refusal`: the server or the connection refused us, not the message (login, TLS policy,
 *   certificate, TLS mode mix-up); every later mail meets the same refusal until the settings change.
 * - `permanent`: the server refused this message (5xx) or nodemailer could not build it; retrying
 *   the same message gets the same answer.
 */
export type FailureKind = 'aborted' | 'transient' | 'refusal' | 'permanent';

/** What a failure means, and what the user can do about it. */
export interface FailureDescription {
  readonly kind: FailureKind;
  /** What to change, naming the `smtp` option where that is known; undefined when nothing is. */
  readonly hint: string | undefined;
}

// Every code nodemailer defines, so that a code added by a later version fails to compile here
// instead of being retried by default.
const KIND_OF_CODE: Readonly<Record<ErrorCode, FailureKind>> = {
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

function kindOfCode(code: string | undefined): FailureKind {
  // Node's permission model keeps its own code on a denied socket: a setting, not an outage.
  if (code === 'ERR_ACCESS_DENIED') return 'permanent';
  if (code === undefined || !Object.hasOwn(KIND_OF_CODE, code)) return 'transient';
  return KIND_OF_CODE[code as ErrorCode];
}

// Replies to these commands concern the connection or the client, not the message.
const SESSION_COMMANDS = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b)/;

const NOT_YET_VALID_OR_EXPIRED = /CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERROR_IN_CERT_NOT_(BEFORE|AFTER)_FIELD/;
const NAME_MISMATCH = /ALTNAME|HOSTNAME|CERT_COMMON_NAME_INVALID/;
const CERTIFICATE_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/;
const NO_COMMON_TLS_VERSION = new Set(['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL']);
// OpenSSL's answer to a plain-text reply where a TLS record was expected: the "220" greeting of a
// server that starts in plain text, reached with `secure: true`.
const PLAIN_TEXT_WHERE_TLS_EXPECTED = /WRONG_VERSION_NUMBER/;
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

const XOAUTH2_COMMAND = 'AUTH XOAUTH2';
// Replies to AUTH from a server that does not know the command, or not this mechanism.
const COMMAND_UNKNOWN = new Set([500, 502, 504]);
const REACH_HINT = 'check `smtp.host` and `smtp.port`, and that the server is reachable';
const HINT = {
  untrusted:
    'the server certificate is not trusted: trust its certificate authority with `smtp.tls.ca`, or check `smtp.host` / `smtp.tls.servername`',
  nameMismatch:
    'the server certificate is not issued for `smtp.host`: connect by a name the certificate lists, or set `smtp.tls.servername` to one',
  expired: 'the server certificate has expired or is not valid yet: renew it on the server, or check the clock here',
  tlsVersion:
    'the server and this client share no TLS version: the server offers only versions older than `smtp.tls.minVersion`',
  expectedStartTls:
    'the server starts in plain text: use `smtp.secure: false` (STARTTLS, usually port 587 or 25), or the port where it speaks TLS from the first byte (usually 465)',
  expectedImplicitTls:
    'the server accepted the connection but never greeted, as a server that expects TLS from the first byte does: use `smtp.secure: true` for implicit TLS (usually port 465), or `smtp.secure: false` on its STARTTLS port (usually 587)',
  startTls:
    'the connection could not be upgraded with STARTTLS, so nothing was sent (use `smtp.secure: true` for a server that speaks TLS from the start, usually on port 465)',
  login: 'the server refused the login: check `smtp.auth.user` and `smtp.auth.pass`',
  token:
    "the server refused the OAuth2 access token: check `smtp.auth.user` (the mailbox) and what the token grants (Microsoft 365: `SMTP.SendAsApp` and the app's permission on the mailbox; Google: the `https://mail.google.com/` scope)",
  noToken:
    'no OAuth2 access token could be obtained: check `smtp.auth.accessToken`, or the `clientId`, `clientSecret` and `refreshToken` (or `serviceClient` and `privateKey`) nodemailer uses',
  noLogin: 'the server asks for a login: set `smtp.auth`',
  loginNotOffered:
    "the server does not offer this kind of login: use the one it offers (a password, or `smtp.auth.type: 'OAuth2'`), or no `smtp.auth` if it takes mail without a login",
  tooLarge: 'the server refused the mail as too large: lower `maxMailBytes`',
  greeting: 'the server did not greet within `smtp.greetingTimeoutMs`',
  handshake: 'the TLS handshake did not finish within `smtp.greetingTimeoutMs`',
  silent: 'the server stopped answering for `smtp.socketTimeoutMs`',
} as const;

function certificateHint(originalCode: string): string {
  if (NOT_YET_VALID_OR_EXPIRED.test(originalCode)) return HINT.expired;
  if (NAME_MISMATCH.test(originalCode)) return HINT.nameMismatch;
  return HINT.untrusted;
}

function timeoutHint(timeoutType: string | undefined): string {
  switch (timeoutType) {
    case 'GREETING_TIMEOUT':
      return HINT.greeting;
    case 'UPGRADE_TIMEOUT':
      return HINT.handshake;
    case 'SOCKET_TIMEOUT':
      return HINT.silent;
    default:
      return REACH_HINT;
  }
}

function hintOfCode(fields: FailureFields): string | undefined {
  switch (fields.code) {
    case 'ETLS':
      return HINT.startTls;
    case 'EAUTH':
      return fields.command === XOAUTH2_COMMAND ? HINT.token : HINT.login;
    case 'ENOAUTH':
      return HINT.noLogin;
    case 'ETIMEDOUT':
      return timeoutHint(fields.timeoutType);
    case 'ECONNECTION':
    case 'EDNS':
      return REACH_HINT;
    default:
      return undefined;
  }
}

function describeReply(fields: FailureFields, responseCode: number): FailureDescription {
  const hint = isTooLargeReply(responseCode, fields.response)
    ? HINT.tooLarge
    : responseCode === 530
      ? HINT.noLogin
      : COMMAND_UNKNOWN.has(responseCode) && fields.command?.startsWith('AUTH')
        ? HINT.loginNotOffered
        : hintOfCode(fields);
  // nodemailer's reading of RFC 5321: 503 (bad sequence of commands) is about the session's state,
  // so the same message may go through over a new connection.
  if (responseCode < 500 || responseCode === 503) return { kind: 'transient', hint };
  // 530: the server wants a login before it takes any mail, whatever the message.
  const refused =
    responseCode === 530 ||
    kindOfCode(fields.code) === 'refusal' ||
    (fields.command !== undefined && SESSION_COMMANDS.test(fields.command));
  return { kind: refused ? 'refusal' : 'permanent', hint };
}

/**
 * What a failed send means and what the user can do about it: the one place where nodemailer's
 * codes, the server's replies and the socket's codes are read. Never throws, whatever was thrown.
 */
export function describeFailure(error: unknown): FailureDescription {
  const fields = readFailure(error);
  const { code, originalCode, responseCode, timeoutType, tlsMode } = fields;
  if (code === ABORTED_CODE) return { kind: 'aborted', hint: undefined };
  // No reply: the token itself could not be had, from the user's function or a token endpoint,
  // whose socket and certificate codes say nothing about the SMTP server. Often an outage.
  if (code === 'EAUTH' && fields.command === XOAUTH2_COMMAND && responseCode === undefined) {
    return { kind: 'transient', hint: HINT.noToken };
  }
  if (originalCode !== undefined) {
    if (CERTIFICATE_PROBLEM.test(originalCode)) return { kind: 'refusal', hint: certificateHint(originalCode) };
    if (NO_COMMON_TLS_VERSION.has(originalCode)) return { kind: 'refusal', hint: HINT.tlsVersion };
    if (PLAIN_TEXT_WHERE_TLS_EXPECTED.test(originalCode)) {
      return { kind: 'refusal', hint: tlsMode === 'starttls' ? HINT.startTls : HINT.expectedStartTls };
    }
  }
  // A server that expects TLS from the first byte waits for a handshake the plain client never
  // starts, while the client waits for a greeting: nothing but this timeout tells them apart
  // from a server too busy to greet, and retrying only repeats the wait.
  if (code === 'ETIMEDOUT' && timeoutType === 'GREETING_TIMEOUT' && tlsMode === 'starttls') {
    return { kind: 'refusal', hint: HINT.expectedImplicitTls };
  }
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 600) {
    return describeReply(fields, responseCode);
  }
  const unreachable = originalCode !== undefined && UNREACHABLE.has(originalCode);
  const hint = unreachable ? REACH_HINT : failsSizeCheck(fields) ? HINT.tooLarge : hintOfCode(fields);
  return { kind: kindOfCode(code), hint };
}

/**
 * Whether a failure may go away by itself: network errors, timeouts, dropped connections and
 * 4xx replies. 5xx replies, refused logins, TLS policy, certificate failures, TLS mode mix-ups and
 * aborted sends will not.
 */
export function isTransientFailure(error: unknown): boolean {
  return describeFailure(error).kind === 'transient';
}

/**
 * Whether the server or the connection refused us, rather than the message: a refused login, a
 * STARTTLS, certificate or TLS mode failure. Every later mail would meet the same refusal.
 */
export function isRefusal(error: unknown): boolean {
  return describeFailure(error).kind === 'refusal';
}

/** Whether the send was ended by the mailer's `abort()` or `close()`, not by a failure. */
export function isAborted(error: unknown): boolean {
  return describeFailure(error).kind === 'aborted';
}

// RFC 3463: X.2.3 "message length exceeds administrative limit", X.3.4 "message too big for system";
// X.2.2 is a full mailbox, which 552 also reports.
const ENHANCED_STATUS = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/;

function isTooLargeReply(responseCode: number, response: string | undefined): boolean {
  const enhanced = response === undefined ? undefined : ENHANCED_STATUS.exec(response)?.[1];
  if (responseCode >= 500 && responseCode < 600 && (enhanced === '5.2.3' || enhanced === '5.3.4')) return true;
  return responseCode === 552 && enhanced !== '5.2.2';
}

// nodemailer refuses, before sending, a message larger than the SIZE the server announced.
function failsSizeCheck({ code, message }: FailureFields): boolean {
  return code === 'EMESSAGE' && message.startsWith('Message size larger than allowed');
}

/**
 * Whether the server refused the message for its size: a 552 reply (other than a full mailbox),
 * a 5.2.3 or 5.3.4 enhanced status, or nodemailer's own check against the server's SIZE.
 */
export function isTooLarge(error: unknown): boolean {
  const fields = readFailure(error);
  if (fields.responseCode !== undefined) return isTooLargeReply(fields.responseCode, fields.response);
  return failsSizeCheck(fields);
}
