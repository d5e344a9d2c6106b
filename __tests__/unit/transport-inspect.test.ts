import { inspect } from 'node:util';
import nodemailer from 'nodemailer';
import stringify from 'safe-stable-stringify';
import { BufferedMailTransport } from '../../src';
import { findReachableStrings } from '../helpers/reachable';

const PASS = 'Tr4nsporter-Pass-51';

describe("a user's transporter that keeps credentials is out of inspection's reach", () => {
  // A nodemailer transporter keeps its options, `auth.pass` included, in `transporter.options`;
  // creating it opens no connection.
  const transporter = nodemailer.createTransport({
    host: 'smtp.example.com',
    port: 587,
    auth: { user: 'sender', pass: PASS },
  });
  const transport = new BufferedMailTransport({ transporter, from: 'app@example.com', to: 'ops@example.com' });

  afterAll(async () => {
    await transport.close();
  });

  test('util.inspect, console.dir-style inspection and JSON of the transport', () => {
    expect(inspect(transport, { depth: Infinity, showHidden: true, getters: true })).not.toContain(PASS);
    expect(inspect(transport, { depth: Infinity, showHidden: true, customInspect: false })).not.toContain(PASS);
    expect(JSON.stringify(transport)).not.toContain(PASS);
    expect(stringify(transport)).not.toContain(PASS);
  });

  test('no own property of any object reachable from the transport holds it', () => {
    expect(findReachableStrings(transport, [PASS], 'transport')).toEqual([]);
  });

  test('the summary names the transporter as custom, with no server', () => {
    expect(transport.toJSON()).toEqual({
      name: 'BufferedMailTransport',
      transporter: 'custom',
      from: 'app@example.com',
      to: ['ops@example.com'],
      capacity: 100,
      mode: 'batch',
      stats: transport.stats(),
    });
    expect(inspect(transport, { breakLength: Infinity })).toMatch(
      /^BufferedMailTransport \{ transporter: 'custom', from: 'app@example\.com', to: \[ 'ops@example\.com' \], capacity: 100, mode: 'batch', stats: \{ entriesLogged: 0,/,
    );
  });
});
