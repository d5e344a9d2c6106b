// Amazon SES through its HTTPS API: nodemailer's SES transport with the AWS SDK v3, given as
// `transporter`. Credentials and region come from the usual AWS sources (role, environment...).
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { BufferedMailTransport } from 'winston-buffered-mail';

const sesClient = new SESv2Client({ region: 'eu-west-1' });

export const mail = new BufferedMailTransport({
  transporter: nodemailer.createTransport({ SES: { sesClient, SendEmailCommand } }),
  from: 'alerts@example.com', // an identity verified in SES
  to: ['ops@example.com'],
});
