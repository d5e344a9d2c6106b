// DKIM signatures through nodemailer's own options, on a transporter of your own. With a
// `transporter`, its TLS settings are yours: keep STARTTLS required and certificates verified.
import nodemailer from 'nodemailer';
import { BufferedMailTransport } from 'winston-buffered-mail';

const transporter = nodemailer.createTransport({
  host: 'smtp.example.com',
  port: 587,
  requireTLS: true,
  tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2' },
  auth: { user: 'alerts@example.com', pass: process.env.SMTP_PASSWORD ?? '' },
  dkim: {
    domainName: 'example.com',
    keySelector: 'logs2026', // the TXT record logs2026._domainkey.example.com holds the public key
    privateKey: process.env.DKIM_PRIVATE_KEY ?? '',
  },
});

export const mail = new BufferedMailTransport({
  transporter,
  from: 'alerts@example.com',
  to: ['ops@example.com'],
});
