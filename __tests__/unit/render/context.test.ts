import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanContextValue,
  collectContext,
  ContextSource,
  describeUptime,
  readPackageIdentity,
  readProcessFacts,
  renderContextHtml,
  renderContextText,
  resolveContext,
  type ProcessFacts,
} from '../../../src/render/context';
import { TEST_PREFIX } from '../../helpers/temp-folder';

const MIB = 1024 * 1024;

function facts(overrides: Partial<ProcessFacts> = {}): ProcessFacts & { uptime: number } {
  const state: ProcessFacts & { uptime: number } = {
    uptime: 11_520,
    hostname: 'web-1',
    pid: 4242,
    nodeVersion: 'v20.11.1',
    env: { NODE_ENV: 'production' },
    cwd: '',
    uptimeSeconds: (): number => state.uptime,
    memoryBytes: () => ({ rss: 123 * MIB, heapUsed: 45.4 * MIB }),
    ...overrides,
  };
  return state;
}

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), `${TEST_PREFIX}context-`));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('collectContext', () => {
  test('shows the application, host, pid, Node.js, NODE_ENV, uptime and memory, in that order', () => {
    const block = collectContext({ appName: 'shop', appVersion: '1.4.2' }, facts());

    expect(block.fields).toEqual([
      { name: 'app', value: 'shop 1.4.2' },
      { name: 'host', value: 'web-1' },
      { name: 'pid', value: '4242' },
      { name: 'node', value: 'v20.11.1' },
      { name: 'env', value: 'production' },
      { name: 'uptime', value: '3 h 12 min' },
      { name: 'memory', value: 'rss 123 MiB, heap used 45 MiB' },
    ]);
  });

  test('takes the application from npm’s variables when the options do not name it', () => {
    const env = { npm_package_name: 'billing', npm_package_version: '2.0.0' };

    expect(collectContext({}, facts({ env })).fields[0]).toEqual({ name: 'app', value: 'billing 2.0.0' });
  });

  test('else from package.json in the working folder', () => {
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'from-file', version: '0.3.1', x: [1] }));

    expect(collectContext({}, facts({ env: {}, cwd: folder })).fields[0]).toEqual({
      name: 'app',
      value: 'from-file 0.3.1',
    });
  });

  test('an application named in the options never takes a version from elsewhere', () => {
    const env = { npm_package_name: 'other', npm_package_version: '9.9.9' };

    expect(collectContext({ appName: 'shop' }, facts({ env })).fields[0]).toEqual({ name: 'app', value: 'shop' });
  });

  test('leaves out what is unknown: no application, no NODE_ENV', () => {
    const names = collectContext({}, facts({ env: {}, cwd: folder })).fields.map((entry) => entry.name);

    expect(names).toEqual(['host', 'pid', 'node', 'uptime', 'memory']);
  });

  test('a process whose memory cannot be read still gets its block', () => {
    const failing = facts({
      memoryBytes: () => {
        throw new Error('EMFILE');
      },
    });

    expect(collectContext({}, failing).fields.map((entry) => entry.name)).toEqual([
      'host',
      'pid',
      'node',
      'env',
      'uptime',
    ]);
  });

  test('hostile values from the environment are cleaned to one line of at most 128 characters', () => {
    const env = {
      npm_package_name: 'evil\r\nBcc: victim@example.com\u202e\u0007',
      NODE_ENV: `prod${'x'.repeat(300)}`,
    };

    const block = collectContext({}, facts({ env, hostname: 'host\u0000name' }));

    expect(block.fields[0]).toEqual({ name: 'app', value: 'evil Bcc: victim@example.com' });
    expect(block.fields[1]).toEqual({ name: 'host', value: 'host name' });
    expect(block.fields[4]?.value).toBe(`prod${'x'.repeat(123)}…`);
  });

  test('the user’s fields come last; one with the name of a field shown replaces it', () => {
    const block = collectContext(
      { static: resolveContext({ region: 'eu-west-1', replica: 3, canary: false, host: 'pod-7' }) },
      facts({ env: {} }),
    );

    expect(block.fields).toEqual([
      { name: 'host', value: 'pod-7' },
      { name: 'pid', value: '4242' },
      { name: 'node', value: 'v20.11.1' },
      { name: 'uptime', value: '3 h 12 min' },
      { name: 'memory', value: 'rss 123 MiB, heap used 45 MiB' },
      { name: 'region', value: 'eu-west-1' },
      { name: 'replica', value: '3' },
      { name: 'canary', value: 'false' },
    ]);
  });
});

describe('ContextSource', () => {
  test('reads package.json once, and the uptime at each snapshot', () => {
    const file = join(folder, 'package.json');
    writeFileSync(file, JSON.stringify({ name: 'first', version: '1.0.0' }));
    const running = facts({ env: {}, cwd: folder });
    const source = new ContextSource({}, running);
    writeFileSync(file, JSON.stringify({ name: 'second', version: '2.0.0' }));

    const before = source.snapshot();
    running.uptime = 90_000;
    const after = source.snapshot();

    expect(before.fields[0]).toEqual({ name: 'app', value: 'first 1.0.0' });
    expect(after.fields[0]).toEqual({ name: 'app', value: 'first 1.0.0' });
    expect(before.fields.find((entry) => entry.name === 'uptime')?.value).toBe('3 h 12 min');
    expect(after.fields.find((entry) => entry.name === 'uptime')?.value).toBe('1 d 1 h');
  });
});

describe('readPackageIdentity', () => {
  test('takes only the name and version strings', () => {
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 42, version: '1.0.0', scripts: {} }));

    expect(readPackageIdentity(folder)).toEqual({ version: '1.0.0' });
  });

  test.each<[string, (path: string) => void]>([
    ['missing', () => undefined],
    ['not JSON', (path) => writeFileSync(path, '{ name: ')],
    ['JSON but not an object', (path) => writeFileSync(path, '"name"')],
    [
      'larger than 64 KiB',
      (path) => writeFileSync(path, JSON.stringify({ name: 'big', version: '1.0.0', pad: 'x'.repeat(64 * 1024) })),
    ],
    ['a folder', (path) => mkdirSync(path)],
  ])('gives nothing, without throwing, for a package.json that is %s', (_kind, create) => {
    create(join(folder, 'package.json'));

    expect(readPackageIdentity(folder)).toEqual({});
  });

  const onPosix = process.platform === 'win32' ? test.skip : test;
  onPosix('does not wait on a FIFO planted as package.json', () => {
    execFileSync('mkfifo', [join(folder, 'package.json')]);

    expect(readPackageIdentity(folder)).toEqual({});
  });

  test('gives nothing for an unknown working folder', () => {
    expect(readPackageIdentity('')).toEqual({});
  });
});

describe('readProcessFacts', () => {
  test('describes this process', () => {
    const read = readProcessFacts();

    expect(read.pid).toBe(process.pid);
    expect(read.nodeVersion).toBe(process.version);
    expect(read.cwd).toBe(process.cwd());
    expect(read.memoryBytes().rss).toBeGreaterThan(0);
  });
});

describe('describeUptime', () => {
  test.each([
    [0, '0 s'],
    [59.9, '59 s'],
    [60, '1 min'],
    [3599, '59 min'],
    [3600, '1 h 0 min'],
    [11_520, '3 h 12 min'],
    [86_399, '23 h 59 min'],
    [86_400, '1 d 0 h'],
    [200_000, '2 d 7 h'],
    [-5, '0 s'],
    [Number.NaN, '0 s'],
  ])('%p seconds read %p', (seconds, text) => {
    expect(describeUptime(seconds)).toBe(text);
  });
});

describe('cleanContextValue', () => {
  test('removes control characters and reordering marks, collapses spaces, and cuts', () => {
    expect(cleanContextValue('  a\tb\u2066c\u2069  d\u0085 ')).toBe('a b c d');
    expect(cleanContextValue('abcdef', 4)).toBe('abc…');
  });
});

describe('rendering', () => {
  const block = {
    fields: [
      { name: 'app', value: 'shop 1.4.2' },
      { name: 'uptime', value: '3 h 12 min' },
      { name: 'note', value: '<b>&"\'' },
    ],
  };

  test('text: aligned `name: value` lines', () => {
    expect(renderContextText(block)).toBe('app:    shop 1.4.2\nuptime: 3 h 12 min\nnote:   <b>&"\'');
  });

  test('HTML: a small table with every name and value escaped', () => {
    expect(renderContextHtml(block)).toBe(
      '<table style="border-collapse:collapse;margin:16px 0 0;font-family:Menlo,Consolas,monospace;font-size:12px;color:#555;">\n' +
        '<tr><th style="text-align:left;font-weight:normal;color:#777;padding:1px 12px 1px 0;">app</th><td style="padding:1px 0;">shop 1.4.2</td></tr>\n' +
        '<tr><th style="text-align:left;font-weight:normal;color:#777;padding:1px 12px 1px 0;">uptime</th><td style="padding:1px 0;">3 h 12 min</td></tr>\n' +
        '<tr><th style="text-align:left;font-weight:normal;color:#777;padding:1px 12px 1px 0;">note</th><td style="padding:1px 0;">&lt;b&gt;&amp;&quot;&#39;</td></tr>\n' +
        '</table>\n',
    );
  });

  test('an empty block renders as nothing', () => {
    expect(renderContextText({ fields: [] })).toBe('');
    expect(renderContextHtml({ fields: [] })).toBe('');
  });
});

describe('resolveContext', () => {
  test('returns the fields as strings, frozen, names cut to 40 characters and values to 128', () => {
    const resolved = resolveContext({
      region: 'eu',
      replica: 3,
      canary: true,
      [`n${'a'.repeat(50)}`]: 'v'.repeat(200),
    });

    expect({ ...resolved }).toEqual({
      region: 'eu',
      replica: '3',
      canary: 'true',
      [`n${'a'.repeat(38)}…`]: `${'v'.repeat(127)}…`,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  test('nothing given is no fields', () => {
    expect(resolveContext(undefined)).toEqual({});
  });

  test.each<[unknown, string, ErrorConstructor]>([
    [
      'eu-west-1',
      'Expected `context` to be an object of field names to strings, numbers or booleans, got a string',
      TypeError,
    ],
    [
      ['a'],
      'Expected `context` to be an object of field names to strings, numbers or booleans, got an array',
      TypeError,
    ],
    [
      { region: { name: 'eu' } },
      'Expected `context.region` to be a string, a finite number or a boolean, got an object',
      TypeError,
    ],
    [
      { 'data center': null },
      'Expected `context["data center"]` to be a string, a finite number or a boolean, got `null`',
      TypeError,
    ],
    [
      { replica: Number.NaN },
      'Expected `context.replica` to be a string, a finite number or a boolean, got `NaN` (number)',
      TypeError,
    ],
    [{ note: 'a\r\nBcc: x' }, 'Expected `context.note` to be one line without control characters', TypeError],
    [
      { 'a\nb': 'x' },
      'Expected `context` to have field names of one line without control characters, got "a\\nb"',
      TypeError,
    ],
    [{ ' ': 'x' }, 'Expected `context` to have field names of one line without control characters, got " "', TypeError],
    [
      Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`f${index}`, index])),
      'Expected `context` to have at most 20 fields, got 21',
      RangeError,
    ],
  ])('%p is refused', (option, message, type) => {
    expect(() => resolveContext(option)).toThrow(type);
    expect(() => resolveContext(option)).toThrow(message);
  });
});
