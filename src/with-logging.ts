import { nextTurn } from './clock';

/** The part of a winston logger that `withLogging` changes. */
export interface ScopedLogger {
  level: string;
  levels?: Record<string, number>;
  add(transport: never): unknown;
  remove(transport: never): unknown;
}

/** What `withLogging` changes for the duration of its function. */
export interface LoggingScope<Transport> {
  /** The logger's level while the function runs. It is the logger's own, so it applies to concurrent work too. */
  level?: string;
  /** Transports added while the function runs, and removed afterwards. */
  transports?: readonly Transport[];
  /** Close the added transports at the end and wait for them, so that their mails have gone out. */
  close?: boolean;
}

async function closeTransport(transport: unknown): Promise<void> {
  const close = (transport as { close?: () => unknown }).close;
  if (typeof close === 'function') await close.call(transport);
}

/**
 * Runs `fn` with the logger's level and transports changed, then restores them, also when `fn`
 * throws or rejects; the logging counterpart of a context manager. With `close: true` the added
 * transports are closed, and so flushed, before the returned promise settles.
 *
 * @example one digest mail per job run
 * await withLogging(logger, { transports: [new BufferedMailTransport(options)], close: true }, runNightlyJob);
 */
export async function withLogging<Logger extends ScopedLogger, Result>(
  logger: Logger,
  scope: LoggingScope<Parameters<Logger['add']>[0]>,
  fn: () => Result | Promise<Result>,
): Promise<Result> {
  if (scope.level !== undefined && logger.levels && !(scope.level in logger.levels)) {
    throw new RangeError(
      `Expected \`level\` to be one of the logger's levels (${Object.keys(logger.levels).join(', ')}), got \`${JSON.stringify(scope.level)}\``,
    );
  }
  const previousLevel = logger.level;
  const added = [...(scope.transports ?? [])];
  if (scope.level !== undefined) logger.level = scope.level;
  const attached: typeof added = [];
  try {
    for (const transport of added) {
      logger.add(transport);
      attached.push(transport);
    }
    return await fn();
  } finally {
    await nextTurn();
    for (const transport of attached) logger.remove(transport);
    if (scope.level !== undefined) logger.level = previousLevel;
    if (scope.close) await Promise.all(attached.map(closeTransport));
  }
}
