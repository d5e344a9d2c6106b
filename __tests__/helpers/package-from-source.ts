// Preloaded with `node -r` (after ts-node) to run an example as written, `require('winston-buffered-mail')`
// included, against the source under test rather than whatever an earlier build left in dist/.
import Module from 'node:module';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCES: Readonly<Record<string, string>> = {
  'winston-buffered-mail': join(ROOT, 'src', 'index.ts'),
  'winston-buffered-mail/testing': join(ROOT, 'src', 'testing.ts'),
};

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolve = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request, ...rest) {
  return resolve.call(this, SOURCES[request] ?? request, ...rest);
};
