import { format as fecha } from 'fecha';
import { format, type Format } from 'logform';

/** Options of `utcTimestamp()`. */
export interface UtcTimestampOptions {
  /**
   * A fecha pattern such as `'YYYY-MM-DD HH:mm:ss,SSS'`, rendered in UTC, or a function of the
   * log time.
   * @default ISO 8601 with milliseconds and `Z`, e.g. `2026-11-24T04:32:08.123Z`
   */
  format?: string | ((date: Date) => string);
  /** Also copy the timestamp to `info[alias]`. */
  alias?: string;
}

/**
 * A Date whose local-time getters answer in UTC, so that fecha's patterns, which read local
 * time, render UTC whatever the process's time zone.
 */
class UtcView extends Date {
  override getFullYear(): number {
    return this.getUTCFullYear();
  }
  override getMonth(): number {
    return this.getUTCMonth();
  }
  override getDate(): number {
    return this.getUTCDate();
  }
  override getDay(): number {
    return this.getUTCDay();
  }
  override getHours(): number {
    return this.getUTCHours();
  }
  override getMinutes(): number {
    return this.getUTCMinutes();
  }
  override getSeconds(): number {
    return this.getUTCSeconds();
  }
  override getMilliseconds(): number {
    return this.getUTCMilliseconds();
  }
  override getTimezoneOffset(): number {
    return 0;
  }
}

/** Renders `date` in UTC with a fecha pattern, or as ISO 8601 when no pattern is given. */
export function formatUtc(date: Date, pattern?: string): string {
  return pattern === undefined ? date.toISOString() : fecha(new UtcView(date.getTime()), pattern);
}

function resolvePattern(options: UtcTimestampOptions): (date: Date) => string {
  const pattern = options.format;
  if (typeof pattern === 'function') return pattern;
  if (pattern === undefined) return (date) => date.toISOString();
  if (typeof pattern !== 'string' || pattern === '') {
    throw new TypeError(
      `Expected \`format\` of utcTimestamp() to be a fecha pattern such as 'YYYY-MM-DD HH:mm:ss,SSS' or a function, got ${typeof pattern}`,
    );
  }
  return (date) => formatUtc(date, pattern);
}

interface ResolvedUtcTimestampOptions {
  alias?: string;
  render: (date: Date) => string;
}

const utcTimestampFormat = format((info, opts) => {
  const options = opts as ResolvedUtcTimestampOptions;
  const stamp = options.render(new Date());
  info.timestamp = stamp;
  if (options.alias) info[options.alias] = stamp;
  return info;
});

/**
 * A logform format that stamps `info.timestamp` with the time the entry is logged, in UTC
 * whatever the process's time zone (logform's own `timestamp({ format })` renders local time).
 */
export function utcTimestamp(options: UtcTimestampOptions = {}): Format {
  const resolved: ResolvedUtcTimestampOptions = { render: resolvePattern(options) };
  if (options.alias !== undefined) resolved.alias = options.alias;
  return utcTimestampFormat(resolved);
}
