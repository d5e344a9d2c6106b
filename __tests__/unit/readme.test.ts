import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeBlocks, readmeSection, ROOT } from '../helpers/readme';

const example = (name: string) => readFileSync(join(ROOT, 'examples', name), 'utf8');
const withoutFirstLines = (code: string, count: number) => code.split('\n').slice(count).join('\n');

describe("the README's quick start is the example that the tests type-check and run", () => {
  const blocks = codeBlocks(readmeSection('Quick start'));

  test('its TypeScript block is examples/quick-start.ts, whole', () => {
    const [typescript] = blocks.filter((block) => block.lang === 'ts');
    expect(typescript?.code).toBe(example('quick-start.ts'));
  });

  test('its require() lines open examples/quick-start.cjs, which goes on as the TypeScript one', () => {
    const [commonjs] = blocks.filter((block) => block.lang === 'js');
    const requireLines = commonjs?.code ?? '';
    expect(requireLines.split('\n').filter((line) => line !== '')).toHaveLength(2);
    expect(example('quick-start.cjs')).toBe(requireLines + withoutFirstLines(example('quick-start.ts'), 2));
  });

  test('the CommonJS block replaces the import lines of the TypeScript one, and only those', () => {
    const importLines = example('quick-start.ts').split('\n').slice(0, 2);
    expect(importLines.every((line) => line.startsWith('import '))).toBe(true);
    expect(withoutFirstLines(example('quick-start.ts'), 2)).not.toMatch(/^import /m);
  });
});

test("the README's jest example for testing your own logging is a test of this suite", () => {
  const [block] = codeBlocks(readmeSection('Testing your own logging')).filter((code) => code.lang === 'ts');
  expect(block?.code).toBe(readFileSync(join(ROOT, '__tests__', 'e2e', 'readme-testing-your-logging.test.ts'), 'utf8'));
});
