// An internal relay that takes mail without a login: STARTTLS is still required and its
// certificate, issued by a private certificate authority, still verified.
import { readFileSync } from 'node:fs';
import { BufferedMailTransport } from 'winston-buffered-mail';

export const mail = new BufferedMailTransport({
  smtp: {
    host: 'relay.internal.example',
    port: 25,
    tls: { ca: readFileSync('/etc/ssl/certs/internal-ca.pem', 'utf8') },
  },
  from: 'billing@internal.example',
  to: ['ops@internal.example'],
});
