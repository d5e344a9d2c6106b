export { BufferedMailTransport } from './transport';
export type { DeliveryWarning, MailSentInfo } from './transport';
export { utcTimestamp } from './utc-timestamp';
export type { UtcTimestampOptions } from './utc-timestamp';
export { defaultLineFormat } from './line-format';
export { renderBatch } from './render';
export type { RenderedMail, RenderOptions } from './render';
export type { Clock, TimerHandle } from './clock';
export type {
  BufferedMailTransportOptions,
  LogEntry,
  MailAttachment,
  MailBatch,
  MailMessage,
  MailTransporter,
  SmtpAuth,
  SmtpOptions,
  SmtpTlsOptions,
} from './options';
export { withLogging } from './with-logging';
export type { LoggingScope, ScopedLogger } from './with-logging';
