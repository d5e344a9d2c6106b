import type { InspectOptions, inspect as nodeInspect } from 'node:util';
import type { ResolvedOptions } from './options';
import type { TransportStats } from './outbox/ledger';

const NAME = 'BufferedMailTransport';

/** What `util.inspect` and `JSON.stringify` show of a transport: nothing secret. */
export interface TransportSummary {
  readonly name: typeof NAME;
  /** `host:port` of the SMTP server; absent with a `transporter`. */
  readonly smtp?: string;
  /** `'OAuth2'` for an XOAUTH2 login; absent for a password or no login. */
  readonly auth?: 'OAuth2';
  /** The SMTP AUTH user name, when there is one. */
  readonly user?: string;
  /** `'custom'` when mail goes through the user's own transporter. */
  readonly transporter?: 'custom';
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly bcc?: readonly string[];
  readonly capacity: number;
  readonly mode: 'batch' | 'context';
  readonly stats: TransportStats;
}

/** The summary of a transport's settings and counters; it never holds a password, a token or their forms. */
export function summarizeTransport(settings: ResolvedOptions, stats: TransportStats): TransportSummary {
  const { smtp, from, to, cc, bcc, capacity, mode } = settings;
  return {
    name: NAME,
    ...(smtp === undefined
      ? { transporter: 'custom' as const }
      : {
          smtp: `${smtp.host}:${smtp.port}`,
          ...(smtp.auth?.type === 'OAuth2' && { auth: 'OAuth2' as const }),
          ...(smtp.auth && { user: smtp.auth.user }),
        }),
    from,
    to: [...to],
    ...(cc.length > 0 && { cc: [...cc] }),
    ...(bcc.length > 0 && { bcc: [...bcc] }),
    capacity,
    mode,
    stats,
  };
}

/**
 * `BufferedMailTransport { smtp: '…', … }` for `util.inspect`, honouring its depth and styling;
 * the arguments are those Node.js hands to a `[util.inspect.custom]` method.
 */
export function inspectSummary(
  summary: TransportSummary,
  depth: number,
  options: InspectOptions & { stylize(text: string, styleType: string): string },
  inspect: typeof nodeInspect,
): string {
  if (depth < 0) return options.stylize(`[${summary.name}]`, 'special');
  const { name, ...shown } = summary;
  // `depth` is what remains below this object (null for no limit), not the caller's whole depth.
  return `${name} ${inspect(shown, { ...options, depth })}`;
}
