import { requireTestingPeer } from '../../src/testing-peers';

const INSTALL = 'npm install --save-dev smtp-server mailparser selfsigned';

/** The error Node's `require` throws for a package that is not installed. */
function notInstalled(name: string): Error {
  return Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /app/node_modules/x/index.js`), {
    code: 'MODULE_NOT_FOUND',
  });
}

describe('requireTestingPeer', () => {
  test('a package that is not installed is named, with the command that installs the peers', () => {
    const name = 'winston-buffered-mail-absent-peer';
    expect(() => requireTestingPeer(name)).toThrow(
      `winston-buffered-mail/testing needs the optional packages smtp-server, mailparser, selfsigned, and \`${name}\` is not installed: ${INSTALL}`,
    );
  });

  test('the error keeps the code and the original error as its cause', () => {
    const original = notInstalled('mailparser');
    let thrown: unknown;
    try {
      requireTestingPeer('mailparser', () => {
        throw original;
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'MODULE_NOT_FOUND', cause: original });
  });

  test('a module missing inside an installed peer, or any other failure, is passed on as it is', () => {
    const inside = notInstalled('punycode.js');
    expect(() =>
      requireTestingPeer('smtp-server', () => {
        throw inside;
      }),
    ).toThrow(inside);
    const syntax = new SyntaxError('Unexpected token');
    expect(() =>
      requireTestingPeer('smtp-server', () => {
        throw syntax;
      }),
    ).toThrow(syntax);
  });

  test('an installed peer is returned', () => {
    expect(requireTestingPeer('selfsigned')).toHaveProperty('generate');
  });
});

describe('winston-buffered-mail/testing without its optional peers', () => {
  const missing: string[] = [];

  afterEach(() => {
    for (const name of missing.splice(0)) jest.dontMock(name);
    jest.resetModules();
  });

  function testingEntryWithout(name: string): typeof import('../../src/testing') {
    missing.push(name);
    jest.doMock(name, () => {
      throw notInstalled(name);
    });
    let entry: typeof import('../../src/testing') | undefined;
    jest.isolateModules(() => {
      entry = jest.requireActual<typeof import('../../src/testing')>('../../src/testing');
    });
    if (entry === undefined) throw new Error('the testing entry did not load');
    return entry;
  }

  test('importing the entry loads none of them', () => {
    for (const name of ['smtp-server', 'mailparser', 'selfsigned']) {
      expect(() => testingEntryWithout(name)).not.toThrow();
    }
  });

  test('starting the server says which package to install', async () => {
    const { startLocalSmtpServer } = testingEntryWithout('smtp-server');
    await expect(startLocalSmtpServer()).rejects.toThrow(
      `winston-buffered-mail/testing needs the optional packages smtp-server, mailparser, selfsigned, and \`smtp-server\` is not installed: ${INSTALL}`,
    );
  });

  test('making a certificate says which package to install', async () => {
    const { generateCertificate } = testingEntryWithout('selfsigned');
    await expect(generateCertificate()).rejects.toThrow(`\`selfsigned\` is not installed: ${INSTALL}`);
  });
});
