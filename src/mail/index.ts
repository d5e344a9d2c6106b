export { createMailer, smtpTransportOptions } from './mailer';
export type { Mailer, SentInfo, TokenWatcher } from './mailer';
export { describeFailure, isAborted, isRefusal, isTooLarge, isTransientFailure } from './classify';
export type { FailureDescription, FailureKind } from './classify';
export { accessTokenForms, RedactionForms, sanitizeError, secretForms } from './sanitize';
export { ABORTED_CODE } from './errors';
export type { SmtpError, TlsMode } from './errors';
