import type * as MailParser from 'mailparser';
import type * as SelfSigned from 'selfsigned';
import type * as SmtpServer from 'smtp-server';

/** The optional peer dependencies that `winston-buffered-mail/testing` needs. */
export const TESTING_PEERS = ['smtp-server', 'mailparser', 'selfsigned'] as const;

/** The modules of the testing entry's optional peer dependencies. */
export interface TestingPeers {
  smtpServer: typeof SmtpServer;
  mailparser: typeof MailParser;
  selfsigned: typeof SelfSigned;
}

function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  // Only the peer itself: a module missing inside an installed peer is another problem, and its
  // own error says which.
  return code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`);
}

/**
 * Loads one of the testing entry's optional peers on first use, so that importing the entry does
 * nothing, and a peer that is not installed is reported by name with the command that installs all
 * of them, rather than as a bare `Cannot find module`.
 */
export function requireTestingPeer(name: string, load: (id: string) => unknown = require): unknown {
  try {
    return load(name);
  } catch (error) {
    if (!isNotFound(error, name)) throw error;
    throw Object.assign(
      new Error(
        `winston-buffered-mail/testing needs the optional packages ${TESTING_PEERS.join(', ')}, and \`${name}\` is not installed: ` +
          `npm install --save-dev ${TESTING_PEERS.join(' ')}`,
        { cause: error },
      ),
      { code: 'MODULE_NOT_FOUND' },
    );
  }
}

/** The three optional peers, loaded on first use; see `requireTestingPeer`. */
export function loadTestingPeers(): TestingPeers {
  return {
    smtpServer: requireTestingPeer('smtp-server') as TestingPeers['smtpServer'],
    mailparser: requireTestingPeer('mailparser') as TestingPeers['mailparser'],
    selfsigned: requireTestingPeer('selfsigned') as TestingPeers['selfsigned'],
  };
}
