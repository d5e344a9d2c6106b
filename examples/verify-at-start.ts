// Checks the way to the mail server when the service starts: a refused login or an untrusted
// certificate shows now, with the option to fix, instead of at the first incident.
import { BufferedMailTransport, optionsFromEnv, type SmtpError } from 'winston-buffered-mail';

const mail = new BufferedMailTransport(optionsFromEnv());

mail.verify().then(
  () => console.log('log mail: ready'),
  (error: SmtpError) => console.error(`log mail: ${error.code ?? 'error'}: ${error.message}`),
);
