// Gmail and Google Workspace: an app password (with 2-Step Verification), or OAuth2, where
// nodemailer obtains the tokens, from a service account with domain-wide delegation or from a
// refresh token.
import { BufferedMailTransport, type SmtpOptions } from 'winston-buffered-mail';

const gmail = { host: 'smtp.gmail.com', port: 587 };

// An app password: 16 letters from the Google account's security page.
const withAppPassword: SmtpOptions = {
  ...gmail,
  auth: { user: 'alerts@example.com', pass: process.env.GMAIL_APP_PASSWORD ?? '' },
};

// A Workspace service account allowed the scope https://mail.google.com/ for the domain.
const withServiceAccount: SmtpOptions = {
  ...gmail,
  auth: {
    type: 'OAuth2',
    user: 'alerts@example.com', // the mailbox the service account acts for
    serviceClient: process.env.GOOGLE_CLIENT_ID ?? '', // `client_id` of the key file
    privateKey: process.env.GOOGLE_PRIVATE_KEY ?? '', // `private_key` of the key file
  },
};

// An OAuth2 client and a refresh token that a person granted once.
const withRefreshToken: SmtpOptions = {
  ...gmail,
  auth: {
    type: 'OAuth2',
    user: 'alerts@example.com',
    clientId: process.env.GOOGLE_CLIENT_ID ?? '',
    clientSecret: process.env.GOOGLE_CLIENT_SECRET ?? '',
    refreshToken: process.env.GOOGLE_REFRESH_TOKEN ?? '',
  },
};

const choice = process.env.GMAIL_LOGIN;
export const mail = new BufferedMailTransport({
  smtp:
    choice === 'service-account' ? withServiceAccount : choice === 'refresh-token' ? withRefreshToken : withAppPassword,
  from: 'alerts@example.com',
  to: ['ops@example.com'],
});
