import { locateJsonSyntaxError } from '../../src/json-syntax';

const PASS = 'S3cret-Pass-9f';

describe('locateJsonSyntaxError', () => {
  test('valid JSON has no error', () => {
    expect(locateJsonSyntaxError('{"smtp": {"host": "h"}}\n')).toBeUndefined();
    expect(locateJsonSyntaxError('  12  ')).toBeUndefined();
  });

  test.each([
    // [what, text, line, column, reason]
    [
      'an unquoted password',
      `{\n  "smtp": {\n    "auth": { "user": "demo", "pass": ${PASS} }\n  }\n}`,
      3,
      39,
      undefined,
    ],
    [
      'a trailing comma after the password',
      `{\n  "auth": {\n    "pass": "${PASS}",\n  }\n}`,
      4,
      3,
      'Expected double-quoted property name',
    ],
    [
      'a missing comma after the password',
      `{\n  "pass": "${PASS}"\n  "user": "demo"\n}`,
      3,
      3,
      "Expected ',' or '}' after property value",
    ],
    ['a single-quoted password', `{\n  "pass": '${PASS}'\n}`, 2, 11, undefined],
    [
      'a password with a line break in it',
      `{"pass": "S3cret\n-Pass-9f"}`,
      1,
      17,
      'Bad control character in string literal',
    ],
    ['a bad escape in the password', `{"pass": "S3cret\\x-Pass-9f"}`, 1, 18, 'Bad escaped character'],
    ['text after the object', `{"pass": "x"}\n${PASS}`, 2, 1, 'Unexpected non-whitespace character after JSON'],
    ['Windows line ends', `{\r\n  "pass": ${PASS}\r\n}`, 2, 11, undefined],
    ['characters outside the BMP before the error', `{"note": "😀😀", "pass": ${PASS}}`, 1, 24, undefined],
  ])('%s', (_what, text, line, column, reason) => {
    const error = locateJsonSyntaxError(text);
    expect(error).toMatchObject({ line, column, reason });
    expect(JSON.stringify(error)).not.toContain('S3cret');
  });

  test.each([
    ['a file cut after the password', `{\n  "pass": "${PASS}"`, "Expected ',' or '}' after property value"],
    ['a file cut inside the password', `{\n  "pass": "${PASS}`, 'Unterminated string'],
    ['a file cut after a colon', `{\n  "pass":\n`, undefined],
    ['an empty file', '', undefined],
  ])('%s: the error is at the end of the text', (_what, text, reason) => {
    expect(locateJsonSyntaxError(text)).toMatchObject({ offset: text.length, reason });
  });

  test('the offset is the character the parser refused, wherever it is in a long text', () => {
    const head = `{"entries": [${Array.from({ length: 2000 }, (_, index) => `{"n": ${index}}`).join(', ')}], "pass": `;
    const error = locateJsonSyntaxError(`${head}${PASS}}`);
    expect(error).toMatchObject({ offset: head.length, line: 1, column: head.length + 1, reason: undefined });
  });
});
