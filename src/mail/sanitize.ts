import type { ResolvedSmtpOptions, SmtpOAuth2Auth } from '../options';
import { describeFailure } from './classify';
import { readFailure, type SmtpError } from './errors';

/** The longest text taken over from a server reply or an error, in characters; the rest is cut. */
const MAX_EXTERNAL_CHARS = 2000;

function base64Forms(text: string): string[] {
  const padded = Buffer.from(text, 'utf8').toString('base64');
  return [padded, padded.replace(/=+$/, '')];
}

function unique(forms: readonly string[]): string[] {
  return forms.filter((form, index, all) => form.length > 0 && all.indexOf(form) === index);
}

/**
 * Forms in which an OAuth2 access token travels: raw, base64, URL-encoded, and the XOAUTH2 SASL
 * string that carries it with the user, each base64 with and without its `=` padding.
 */
export function accessTokenForms(user: string, token: string): string[] {
  return unique([
    token,
    ...base64Forms(token),
    encodeURIComponent(token),
    ...base64Forms(`user=${user}\u0001auth=Bearer ${token}\u0001\u0001`),
  ]);
}

// A PEM key could surface a line at a time; its lines are as secret as the whole.
function privateKeyForms(pem: string): string[] {
  const lines = pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
  return [pem, pem.trim(), ...lines];
}

function oauth2Forms(auth: SmtpOAuth2Auth): string[] {
  const forms = typeof auth.accessToken === 'string' ? accessTokenForms(auth.user, auth.accessToken) : [];
  if ('refreshToken' in auth) {
    for (const secret of [auth.clientSecret, auth.refreshToken]) {
      forms.push(secret, encodeURIComponent(secret), ...base64Forms(secret));
    }
  }
  if ('privateKey' in auth) forms.push(...privateKeyForms(auth.privateKey));
  return forms;
}

/**
 * Forms in which a secret of the settings could appear in a server reply or an error. A password:
 * raw, base64 (AUTH LOGIN), SASL PLAIN in both layouts, each with and without its `=` padding, and
 * URL-encoded. OAuth2: the access token given (see `accessTokenForms`), the client secret and the
 * refresh token (raw, URL-encoded, base64), the private key and each of its lines. Tokens obtained
 * while the transport runs are added by `RedactionForms`.
 */
export function secretForms(smtp: ResolvedSmtpOptions | undefined): string[] {
  const auth = smtp?.auth;
  if (!auth) return [];
  if (auth.type === 'OAuth2') return unique(oauth2Forms(auth));
  return unique([
    auth.pass,
    ...base64Forms(auth.pass),
    ...base64Forms(`\u0000${auth.user}\u0000${auth.pass}`),
    ...base64Forms(`${auth.user}\u0000${auth.user}\u0000${auth.pass}`),
    encodeURIComponent(auth.pass),
  ]);
}

/** Access tokens whose forms are kept for redaction; an older one is no longer in use. */
const KEPT_TOKENS = 4;

/**
 * The forms to remove from what one transport shows: those of its settings, and those of the last
 * access tokens obtained while it runs (from an `accessToken` function, or by nodemailer).
 */
export class RedactionForms {
  readonly #settings: readonly string[];
  #tokens: ReadonlyArray<{ token: string; forms: readonly string[] }> = [];
  #all: readonly string[];

  constructor(smtp: ResolvedSmtpOptions | undefined) {
    this.#settings = secretForms(smtp);
    this.#all = this.#settings;
  }

  /** Every form, for `sanitizeError`. */
  get forms(): readonly string[] {
    return this.#all;
  }

  /** Adds the forms of an access token obtained for `user`, before it is used. */
  addAccessToken(user: string, token: string): void {
    if (token === '' || this.#tokens.some((kept) => kept.token === token)) return;
    this.#tokens = [...this.#tokens, { token, forms: accessTokenForms(user, token) }].slice(-KEPT_TOKENS);
    this.#all = unique([...this.#settings, ...this.#tokens.flatMap((kept) => kept.forms)]);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// One pass over the text with the longest forms first: a form replaced earlier cannot be matched
// again inside the marker, and a form inside a longer one goes with it.
function createRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = secrets.filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (text) => text;
  const pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, '[redacted]');
}

// Control characters from a server could rewrite a terminal that prints the warning.
function neutralize(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '?');
}

function cut(text: string): string {
  return text.length <= MAX_EXTERNAL_CHARS ? text : `${text.slice(0, MAX_EXTERNAL_CHARS)}… [cut]`;
}

/**
 * A copy of a delivery error, safe to show: its message reads `<context>: <error's message>[; hint]`,
 * and it keeps `code`, `originalCode`, `responseCode`, `command`, `response`, `timeoutType` and
 * `tlsMode`. Every form of the password (see `secretForms`) is removed from the text that came
 * from the error (message, reply, command, codes), however short the password; `context` and the
 * hint are ours and are never rewritten. Never throws, whatever was thrown.
 * @param secrets - the forms to remove, from `secretForms`
 * @param context - what we were doing, e.g. `Could not mail 3 log entries`; '' for none
 * @param withSmtpHints - add what to change in the `smtp` options, where that is known
 * @default withSmtpHints true
 */
export function sanitizeError(
  error: unknown,
  secrets: readonly string[],
  context: string,
  withSmtpHints = true,
): SmtpError {
  const fields = readFailure(error);
  const redact = createRedactor(secrets);
  const external = (text: string) => neutralize(cut(redact(text)));
  const hint = withSmtpHints ? describeFailure(error).hint : undefined;
  const detail = external(fields.message);
  const clean: SmtpError = new Error(
    `${context === '' ? detail : `${context}: ${detail}`}${hint === undefined ? '' : `; ${hint}`}`,
  );
  if (fields.code !== undefined) clean.code = external(fields.code);
  if (fields.originalCode !== undefined) clean.originalCode = external(fields.originalCode);
  if (fields.responseCode !== undefined) clean.responseCode = fields.responseCode;
  if (fields.command !== undefined) clean.command = external(fields.command);
  if (fields.response !== undefined) clean.response = external(fields.response);
  if (fields.timeoutType !== undefined) clean.timeoutType = external(fields.timeoutType);
  if (fields.tlsMode !== undefined) clean.tlsMode = fields.tlsMode;
  // The original stack points into nodemailer's socket handling, which helps nobody here.
  clean.stack = `${clean.name}: ${clean.message}`;
  return clean;
}
