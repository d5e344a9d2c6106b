import type { RetryOptions } from '../options';

/**
 * The wait before retry number `retry` (1 for the first retry): `minDelayMs` doubling at each
 * retry up to `maxDelayMs`, of which a random half is taken off so that many processes hit by
 * the same outage do not come back at the same instant.
 */
export function retryDelayMs(
  retry: number,
  options: Required<RetryOptions>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
