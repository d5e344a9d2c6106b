// An SMTP server in your own process, with STARTTLS and AUTH required and a certificate made at
// start: to test that your logging sends the mails you expect. It needs the packages smtp-server,
// mailparser and selfsigned, which are optional peer dependencies of this one; they are loaded on
// first use, and one that is missing is reported with the command that installs them.
export { generateCertificate, startLocalSmtpServer } from './local-smtp-server';
export type { AuthAttempt, LocalSmtpServer, LocalSmtpServerOptions, ReceivedMail } from './local-smtp-server';
