import { createMailer, isAborted } from '../../src/mail';
import type { MailMessage, MailTransporter } from '../../src/options';

const message: MailMessage = { from: 'app@example.com', to: ['ops@example.com'], subject: 'hello', text: 'hello' };

/** A user's transporter whose sends wait until the test settles them. */
function heldTransporter() {
  const sends: { message: MailMessage; resolve: (info: { messageId?: string }) => void }[] = [];
  const waiters: Array<() => void> = [];
  let closes = 0;
  const transporter: MailTransporter = {
    sendMail: (sent) =>
      new Promise((resolve) => {
        sends.push({ message: sent, resolve });
        waiters.splice(0).forEach((wake) => wake());
      }),
    close: () => {
      closes++;
    },
  };
  /** Resolves once `sendMail` has been called `count` times. */
  const called = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (sends.length >= count ? resolve() : waiters.push(check));
      check();
    });
  return { transporter, sends, called, closes: () => closes };
}

/** The rejection of `promise`; fails the test if it resolves. */
function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('Expected the send to reject');
    },
    (error: unknown) => error,
  );
}

describe("a user's transporter", () => {
  test('onWritten is called on the turn after the transporter took the message, before it answers; one that throws changes nothing', async () => {
    const { transporter, sends, called } = heldTransporter();
    const mailer = createMailer({ transporter });
    const events: string[] = [];

    const sending = mailer.send(message, undefined, () => {
      events.push(`written after ${sends.length} call`);
      throw new Error('hook failed');
    });
    await called(1);
    await new Promise((resolve) => setImmediate(resolve));
    events.push('answered');
    sends[0]?.resolve({ messageId: '<1@example.com>' });

    await expect(sending).resolves.toEqual({ messageId: '<1@example.com>' });
    expect(events).toEqual(['written after 1 call', 'answered']);
  });

  test('onWritten is not called for a send the transporter has already refused', async () => {
    const mailer = createMailer({
      transporter: { sendMail: () => Promise.reject(Object.assign(new Error('refused'), { responseCode: 550 })) },
    });
    let calls = 0;

    await expect(mailer.send(message, undefined, () => calls++)).rejects.toMatchObject({ responseCode: 550 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(calls).toBe(0);
  });

  test('abort() rejects the pending send at once with EABORT, and calls nothing on the transporter', async () => {
    const { transporter, sends, called, closes } = heldTransporter();
    const mailer = createMailer({ transporter });

    const sending = rejectionOf(mailer.send(message));
    await called(1);
    mailer.abort();

    const error = await sending;
    expect(error).toMatchObject({ code: 'EABORT', name: 'AbortError' });
    expect(error).toHaveProperty('message', expect.stringContaining('may still send it'));
    expect(isAborted(error)).toBe(true);
    expect(sends).toHaveLength(1);
    expect(closes()).toBe(0);
  });

  test('a send aborted before the transporter was called never reaches it', async () => {
    const { transporter, sends, called } = heldTransporter();
    const mailer = createMailer({ transporter });

    const sending = rejectionOf(mailer.send(message));
    mailer.abort();
    expect(isAborted(await sending)).toBe(true);

    // Sends reach the transporter in order: once the next one has, the aborted one never will.
    const next: MailMessage = { ...message, subject: 'next' };
    void mailer.send(next);
    await called(1);
    expect(sends.map((send) => send.message)).toEqual([next]);
  });

  test('what the transporter does after the abort is ignored, and the next send goes through', async () => {
    const { transporter, sends, called } = heldTransporter();
    const mailer = createMailer({ transporter });
    const aborted = rejectionOf(mailer.send(message));
    await called(1);
    mailer.abort();
    sends[0]!.resolve({ messageId: '<late@example.com>' });

    const next = mailer.send(message);
    await called(2);
    sends[1]!.resolve({ messageId: '<next@example.com>' });

    expect(isAborted(await aborted)).toBe(true);
    expect(await next).toEqual({ messageId: '<next@example.com>' });
    expect(sends).toHaveLength(2);
  });

  test('close() aborts what is pending and leaves the transporter to its owner', async () => {
    const { transporter, called, closes } = heldTransporter();
    const mailer = createMailer({ transporter });

    const sending = rejectionOf(mailer.send(message));
    await called(1);
    mailer.release();
    expect(closes()).toBe(0);
    mailer.close();

    expect(isAborted(await sending)).toBe(true);
    expect(closes()).toBe(0);
  });

  test('a transporter that throws, answers nonsense or fails to close does not break the mailer', async () => {
    const throwing = createMailer({
      transporter: {
        sendMail: () => {
          throw new Error('not configured');
        },
        close: () => {
          throw new Error('cannot close');
        },
      },
    });
    const nonsense = createMailer({ transporter: { sendMail: () => Promise.resolve(undefined as never) } });

    expect(await rejectionOf(throwing.send(message))).toEqual(new Error('not configured'));
    expect(() => throwing.close()).not.toThrow();
    expect(await nonsense.send(message)).toEqual({});
  });
});
