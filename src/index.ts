export { BufferedMailTransport } from './transport';
export type { DeliveryWarning, MailSentInfo, TransportStats } from './transport';
export { utcTimestamp } from './utc-timestamp';
export type { UtcTimestampOptions } from './utc-timestamp';
export { defaultLineFormat } from './render';
export { renderBatch } from './render';
export type { RenderedMail, RenderOptions } from './render';
export { withLogging } from './with-logging';
export type { LoggingScope, ScopedLogger } from './with-logging';
export { optionsFromEnv } from './env';
export type { Clock, TimerHandle } from './clock';
export type { SharedStore } from './store/store';
export type { SmtpError } from './mail/errors';
export { defaultFingerprint } from './render/fingerprint';
export type { Fingerprint, FingerprintInput } from './render/fingerprint';
export { DEFAULT_REDACTED_KEYS } from './capture/redact';
export type { RedactFunction, RedactOption, RedactRules } from './capture/redact';
export type { ContextOption } from './render/context';
export type {
  AccessTokenProvider,
  AccessTokenRequest,
  BufferedMailTransportOptions,
  LogEntry,
  MailAttachment,
  MailBatch,
  MailMessage,
  JournalOptions,
  MailTransporter,
  PartEncodings,
  RateLimitOptions,
  RenotifyOptions,
  RetryOptions,
  SmtpAuth,
  SmtpOAuth2Auth,
  SmtpOAuth2RefreshAuth,
  SmtpOAuth2ServiceAuth,
  SmtpOAuth2TokenAuth,
  SmtpOptions,
  SmtpPasswordAuth,
  SmtpTlsOptions,
  TransferEncoding,
} from './options';
