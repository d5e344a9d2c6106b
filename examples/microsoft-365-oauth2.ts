// Microsoft 365 with app-only OAuth2: a token from Microsoft Entra ID for the app registration
// (client credentials, permission SMTP.SendAsApp), XOAUTH2 on smtp.office365.com:587. Checked at
// start with verify(), so that a wrong setting shows before the first incident does.
import { ConfidentialClientApplication } from '@azure/msal-node';
import winston from 'winston';
import { BufferedMailTransport } from 'winston-buffered-mail';

const entra = new ConfidentialClientApplication({
  auth: {
    clientId: process.env.AZURE_CLIENT_ID ?? '',
    authority: `https://login.microsoftonline.com/${process.env.AZURE_TENANT_ID ?? ''}`,
    clientSecret: process.env.AZURE_CLIENT_SECRET ?? '',
  },
});

const mail = new BufferedMailTransport({
  smtp: {
    host: 'smtp.office365.com',
    port: 587,
    auth: {
      type: 'OAuth2',
      user: 'alerts@contoso.com', // the mailbox the app sends as
      // Called for each connection; msal caches the token until it nears its end. `renew` is true
      // after the server refused a token: then skip the cache.
      accessToken: async ({ renew }) => {
        const result = await entra.acquireTokenByClientCredential({
          scopes: ['https://outlook.office365.com/.default'],
          skipCache: renew,
        });
        if (!result) throw new Error('Microsoft Entra ID returned no token');
        return result.accessToken;
      },
    },
  },
  from: 'Billing alerts <alerts@contoso.com>',
  to: ['ops@contoso.com'],
  flushLevel: 'error',
});

async function main(): Promise<void> {
  await mail.verify(); // rejects with the reason and the option to fix, e.g. EAUTH for the token
  const logger = winston.createLogger({ transports: [new winston.transports.Console(), mail] });
  logger.info('billing started');
}

main().catch((error: unknown) => {
  console.error(`log mail is not set up: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
