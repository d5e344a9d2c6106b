// Azure Communication Services Email over SMTP: a user name and a password like any server,
// made of an Entra app that has access to the Communication Services resource.
import { BufferedMailTransport } from 'winston-buffered-mail';

export const mail = new BufferedMailTransport({
  smtp: {
    host: 'smtp.azurecomm.net',
    port: 587,
    auth: {
      // The SMTP Username made for the Entra app on the resource (or, in the older form,
      // `<resource name>.<app (client) ID>.<tenant ID>`).
      user: process.env.ACS_SMTP_USERNAME ?? '',
      pass: process.env.ACS_SMTP_PASSWORD ?? '', // the Entra app's client secret
    },
  },
  from: 'DoNotReply@contoso.azurecomm.net', // an address of a domain linked to the resource
  to: ['ops@contoso.com'],
});
