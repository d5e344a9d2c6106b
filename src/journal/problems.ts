/** A problem with the journal or its folder, as the owner's `warn` receives it. */
export function journalWarning(message: string, cause?: unknown): Error & { code: string } {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'EJOURNAL' });
}

/** `value`, or `fallback` when undefined; throws a RangeError naming the option when it is not an integer from `min`. */
export function checkInteger(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer of at least ${min}, got \`${String(value)}\` (${typeof value})`,
    );
  }
  return value;
}
