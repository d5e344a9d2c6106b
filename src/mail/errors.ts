/** An Error as nodemailer and smtp-server report them: a stable `code`, plus the SMTP reply. */
export interface SmtpError extends Error {
  /** nodemailer's code: `ECONNECTION`, `ETIMEDOUT`, `ESOCKET`, `ETLS`, `EAUTH`, `EENVELOPE`, `EABORT`... */
  code?: string;
  /** The underlying socket or TLS code, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ECONNREFUSED`. */
  originalCode?: string;
  /** The server's reply code, e.g. `535` or `552`. */
  responseCode?: number;
  /** The SMTP command the reply answered, e.g. `AUTH PLAIN`, or `CONN` for the connection itself. */
  command?: string;
  /** The server's reply. */
  response?: string;
  /** For an `ETIMEDOUT`, the wait that ran out: `CONNECT_TIMEOUT`, `GREETING_TIMEOUT`, `UPGRADE_TIMEOUT`, `SOCKET_TIMEOUT`. */
  timeoutType?: string;
  /**
   * How the failed connection was to be secured: `implicit` (`smtp.secure: true`) or `starttls`.
   * Set by the mailer, so that a mix-up of the two can be told from a slow server.
   */
  tlsMode?: TlsMode;
}

/** How a connection is secured: TLS from the first byte, or a plain start upgraded with STARTTLS. */
export type TlsMode = 'implicit' | 'starttls';

/** The fields of a failure, read once without trusting the object they came from. */
export interface FailureFields {
  message: string;
  code: string | undefined;
  originalCode: string | undefined;
  responseCode: number | undefined;
  command: string | undefined;
  response: string | undefined;
  timeoutType: string | undefined;
  tlsMode: TlsMode | undefined;
}

/** The code of the error a send rejects with when `abort()` or `close()` ended it, as nodemailer names it. */
export const ABORTED_CODE = 'EABORT';

// A property read that cannot throw: a rejection may be anything, including an object with
// throwing getters or a revoked Proxy handed over by a user's transporter.
function readProperty(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function readString(value: object, key: string): string | undefined {
  const field = readProperty(value, key);
  return typeof field === 'string' ? field : undefined;
}

function describeValue(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'Unknown error';
  }
}

/** Reads what a failure says about itself; never throws, whatever was thrown. */
export function readFailure(error: unknown): FailureFields {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) {
    return {
      message: describeValue(error),
      code: undefined,
      originalCode: undefined,
      responseCode: undefined,
      command: undefined,
      response: undefined,
      timeoutType: undefined,
      tlsMode: undefined,
    };
  }
  const responseCode = readProperty(error, 'responseCode');
  const tlsMode = readProperty(error, 'tlsMode');
  return {
    message: readString(error, 'message') ?? describeValue(error),
    code: readString(error, 'code'),
    originalCode: readString(error, 'originalCode'),
    responseCode: typeof responseCode === 'number' && Number.isInteger(responseCode) ? responseCode : undefined,
    command: readString(error, 'command'),
    response: readString(error, 'response'),
    timeoutType: readString(error, 'timeoutType'),
    tlsMode: tlsMode === 'implicit' || tlsMode === 'starttls' ? tlsMode : undefined,
  };
}

/** The error a send rejects with when the mailer ended it: code `EABORT`, name `AbortError`. */
export function createAbortError(message: string): SmtpError {
  const error: SmtpError = new Error(message);
  error.name = 'AbortError';
  error.code = ABORTED_CODE;
  return error;
}
