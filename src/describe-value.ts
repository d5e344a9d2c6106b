/** A value as an error message shows it: `` `5` (number) ``, `` `"x"` (string) ``, `an object`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `\`${JSON.stringify(value)}\` (string)`;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return `\`${String(value)}\` (${typeof value})`;
    case 'symbol':
      return `\`${value.toString()}\` (symbol)`;
    case 'function':
      return 'a function';
    default:
      return value === null ? '`null`' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * Only the kind of a value, for one that may be a secret (a header value may be a relay's key):
 * `a string`, `an array`, `` `null` ``.
 */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return `\`${String(value)}\``;
  if (Array.isArray(value)) return 'an array';
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

/** ``Expected `name` to be expectation, got `value` (type)``. */
export function expected(name: string, expectation: string, value: unknown): string {
  return `Expected \`${name}\` to be ${expectation}, got ${describeValue(value)}`;
}
