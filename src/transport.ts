import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { inspect, type InspectOptionsStylized } from 'node:util';
// winston-transport is `export =`: a default import would put one in the declarations we publish,
// which then would not compile for users without `esModuleInterop`.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the one form that compiles in every setup
import TransportStream = require('winston-transport');
import { nextTurn, systemClock, type Clock } from './clock';
import { unwatchExit, watchExit, type ExitAware } from './exit-hook';
import type { RedactionError } from './capture/redact';
import { FORMATTED, redactedFormat } from './capture/redacted-format';
import type { CapturedEntry } from './entry';
import { defaultLineFormat } from './render';
import { prepareForListeners, readLevel, takeCapturedEntry, unreadableEntryLine } from './render/line';
import { ContextSource } from './render/context';
import { resolveFingerprint } from './render/fingerprint';
import { rankLevel } from './render/severity';
import { createMailer, describeFailure, isTooLarge, RedactionForms, sanitizeError, type Mailer } from './mail';
// From its own module, not the index: the declarations we publish must not reach nodemailer's,
// which do not compile without `esModuleInterop`.
import type { SmtpError } from './mail/errors';
import {
  resolveOptions,
  type BufferedMailTransportOptions,
  type LogEntry,
  type MailMessage,
  type ResolvedOptions,
} from './options';
import { Ledger, type TransportStats } from './outbox/ledger';
import { Fleet } from './outbox/fleet';
import { Outbox } from './outbox/outbox';
import { Renotify } from './outbox/renotify';
import type { FailureKind, OutboxSpool, Problem, RenderedPart } from './outbox/ports';
import {
  captureEntry,
  estimateEntryMailBytes,
  NPM_LEVELS,
  renderEntries,
  renderEntriesInSlices,
  type RenderOptions,
} from './render';
import { formatRecoveryNotice, Journal, recoverJournals } from './journal';
import { mailHeaders } from './mail/headers';
import { ThreadBook } from './mail/threads';
import { Spool } from './spool';
import { FallbackStore } from './store/fallback';
import { groupFromRecipients, MemoryStore, ReopeningGroup, type MailStore } from './store/store';
import { inspectSummary, summarizeTransport, type TransportSummary } from './transport-summary';

export type { TransportStats } from './outbox/ledger';

/** Sent with the `'mail'` event once the server accepted a mail. */
export interface MailSentInfo {
  /** The number of log entries in the mail. */
  count: number;
  /** The Message-ID the mail was sent with, when the transporter reports one. */
  messageId: string | undefined;
}

/**
 * Sent with the `'warn'` event when mail could not be delivered, or entries had to be dropped.
 * Keeps nodemailer's `code` (`ETLS`, `EAUTH`, `ECONNECTION`, `ETIMEDOUT`...) and the server's
 * reply, or one of ours (`EOVERFLOW`, `ECLOSETIMEOUT`, `EEXIT`, `ESPOOL`); never contains the password.
 */
export interface DeliveryWarning extends SmtpError {
  /** The number of log entries concerned. */
  count: number;
}

const LEVEL = Symbol.for('level');

function isError(value: LogEntry): value is Error & LogEntry {
  // What winston makes of a logger.info() call is a plain object: it is told apart by its
  // prototype alone, before any check that reads a property it lacks. The tag check, for errors
  // of another realm, runs only for what has a stack: it is not free.
  return (
    Object.getPrototypeOf(value) !== Object.prototype &&
    (value instanceof Error ||
      (typeof value.stack === 'string' && Object.prototype.toString.call(value) === '[object Error]'))
  );
}

function errorAsEntry(error: Error & LogEntry): LogEntry {
  return { ...error, message: error.message, stack: error.stack };
}

/**
 * What the base class is given to format: an Error as an entry that keeps its message and stack;
 * never throws, even for an Error whose `stack` getter throws (a failing `prepareStackTrace`).
 */
function entryOf(info: LogEntry): LogEntry {
  try {
    return isError(info) ? errorAsEntry(info) : info;
  } catch (error) {
    const level = readLevel(info) || 'error';
    return { level, message: unreadableEntryLine(error), [LEVEL]: level };
  }
}

/** What the mail layer's errors mean for the outbox. */
function classifyFailure(error: unknown): FailureKind {
  const { kind } = describeFailure(error);
  return kind !== 'aborted' && isTooLarge(error) ? 'too-large' : kind;
}

const WARNING_TYPE = 'WinstonBufferedMailWarning';
// Message-ID, In-Reply-To, References (up to ten ids), Thread-Index, Thread-Topic, priority and
// automated-mail headers, as sent.
const THREAD_HEADER_BYTES = 1536;
const RENDER_SLICE_MS = 2;
const STORE_CLOSE_WAIT_MS = 500;

/**
 * A winston transport that keeps log entries and mails them in batches, over an SMTP connection
 * that is always encrypted, or through any nodemailer transporter.
 */
export class BufferedMailTransport extends TransportStream {
  /** The name of this kind of transport, as winston's transports have one. */
  readonly name: string = 'buffered-mail';
  // Private fields, not TypeScript's `private`: util.inspect, JSON and Object.keys cannot reach
  // them, and the settings, the mailer and the redaction forms hold the secrets.
  readonly #settings: ResolvedOptions;
  private readonly ledger = new Ledger();
  private readonly outbox: Outbox;
  readonly #mailer: Mailer;
  readonly #journal: Journal | undefined;
  /** The state shared with the transports of the same group, when the `store` option is set. */
  readonly #fleet: Fleet | undefined;
  readonly #secrets: RedactionForms;
  // What the exit handling calls; closures, so that they are no methods a user could call.
  readonly #exitHooks: ExitAware = {
    flushBeforeExit: () => this.#flushBeforeExit(),
    onExit: () => this.#onExit(),
  };
  private readonly hostname = hostname();
  private watchingExit = false;
  private exiting = false;
  private exitFlush: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Settles once the journals of earlier runs are handed to delivery. */
  private recovery: Promise<void> | undefined;
  /** Codes already shown through `process.emitWarning` in this episode (until a mail goes out). */
  private readonly shownCodes = new Set<string>();
  private flushLevelsFor: Readonly<Record<string, number>> | undefined;
  private readonly reachesFlushLevelByLevel = new Map<string, boolean>();
  /** The problem an entry belongs to: the `fingerprint` option, or the default. */
  private readonly fingerprint: (entry: CapturedEntry) => string;
  /** Told when the `fingerprint` option fails; says so once. */
  private readonly fingerprintFailed: (error: Error) => void;
  /** Where the mails come from, as their foot says. */
  private readonly context: ContextSource;
  /** The conversations mails belong to, so that a mail client shows each as one thread. */
  private readonly threads: ThreadBook;
  /** The conversation of each message being sent, confirmed once the server accepts it. */
  private readonly sendingThreads = new WeakMap<MailMessage, string>();

  constructor(options: BufferedMailTransportOptions) {
    const settings = resolveOptions(options);
    // Told once the transport exists: a redaction failure is reported like a delivery problem.
    const redactionProblems: { report?: (error: RedactionError) => void } = {};
    super({
      format: redactedFormat(
        settings.redaction,
        options.format ?? defaultLineFormat(),
        (error) => redactionProblems.report?.(error),
        { remakesLine: options.format === undefined },
      ),
      ...(options.level !== undefined && { level: options.level }),
      ...(options.silent !== undefined && { silent: options.silent }),
      ...(options.handleExceptions !== undefined && { handleExceptions: options.handleExceptions }),
      ...(options.handleRejections !== undefined && { handleRejections: options.handleRejections }),
    });
    this.#settings = settings;
    this.#secrets = new RedactionForms(settings.smtp);
    let redactionReported = false;
    redactionProblems.report = (error) => {
      if (redactionReported) return;
      redactionReported = true;
      this.warn({ context: 'Redaction failed for a value, which was replaced', error, code: 'EREDACT', count: 0 });
    };
    let fingerprintReported = false;
    this.fingerprintFailed = (error) => {
      if (fingerprintReported) return;
      fingerprintReported = true;
      this.warn({
        context: 'The `fingerprint` option failed; the default fingerprint is used',
        error,
        code: 'EFINGERPRINT',
        count: 0,
      });
    };
    this.fingerprint = resolveFingerprint(settings.fingerprint, this.fingerprintFailed);
    this.threads = new ThreadBook({ from: settings.from, hostname: this.hostname });
    this.context = new ContextSource({ static: settings.context });
    const mailer = createMailer(settings, this.#secrets);
    this.#mailer = mailer;
    const spool = settings.spoolDir === undefined ? undefined : this.openSpool(settings.spoolDir);
    const journal = settings.journal && settings.spoolDir ? this.openJournal(settings.spoolDir) : undefined;
    this.#journal = journal;
    const clock = settings.clock ?? systemClock;
    const store = this.openStore(settings, clock);
    const fleet =
      store &&
      new Fleet({
        store,
        clock,
        fingerprint: this.fingerprint,
        renotify: settings.mode === 'batch' ? settings.renotify : undefined,
        isProblem: (entry) => !entry.crash && this.reachesFlushLevel(entry.level),
      });
    this.#fleet = fleet;
    this.outbox = new Outbox({
      journal: journal && {
        append: (entry, urgent) => void journal.append(entry, urgent),
        markSending: (entries) => journal.markSending(entries),
        retire: (entry) => journal.retire(entry),
        retireAll: (entries) => journal.retireAll(entries),
        close: () => void journal.close(),
      },
      clock,
      mailer: {
        send: (message, encodings, onWritten) =>
          mailer.send(message, encodings, onWritten).then((info) => {
            const threadKey = this.sendingThreads.get(message);
            const messageId = info.messageId ?? message.messageId;
            if (threadKey !== undefined && messageId !== undefined) this.threads.confirm(threadKey, messageId);
            return info;
          }),
        abort: () => mailer.abort(),
        release: () => mailer.release(),
      },
      spool,
      ledger: this.ledger,
      reporter: {
        warn: (problem) => this.warn(problem),
        mailSent: (count, messageId) => {
          this.shownCodes.clear();
          this.emitSafely('mail', { count, messageId } satisfies MailSentInfo);
        },
      },
      // Short slices: a scavenge may land in one, and the two together must stay brief.
      render: (entries, notices) =>
        renderEntriesInSlices(entries, this.renderOptions(entries.length, notices), { sliceMs: RENDER_SLICE_MS }),
      renderNow: (entries, notices) => renderEntries(entries, this.renderOptions(entries.length, notices)),
      toMessage: (part) => this.toMessage(part),
      classify: classifyFailure,
      capacity: settings.capacity,
      mode: settings.mode,
      flushIntervalMs: settings.flushIntervalMs,
      isTrigger: (entry) => entry.crash || this.reachesFlushLevel(entry.level),
      renotify: settings.renotify && {
        policy: new Renotify(settings.renotify),
        fingerprint: this.fingerprint,
      },
      fleet,
      retry: settings.retry,
      rateLimit: settings.rateLimit,
      maxBufferedBytes: settings.maxBufferedBytes,
      maxBufferedEntries: settings.maxBufferedEntries,
      maxMailBytes: settings.maxMailBytes,
      estimateMailBytes: (entry) => estimateEntryMailBytes(entry, settings),
    });
    if (spool || settings.flushOnExit) this.startWatchingExit();
    if (settings.flushLevel !== undefined || options.level !== undefined) {
      this.once('pipe', () => this.checkLevels());
    }
  }

  override on(event: 'mail', listener: (info: MailSentInfo) => void): this;
  override on(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  override on(event: 'logged', listener: (info: LogEntry) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  override once(event: 'mail', listener: (info: MailSentInfo) => void): this;
  override once(event: 'warn', listener: (warning: DeliveryWarning) => void): this;
  override once(event: 'logged', listener: (info: LogEntry) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  // `logger.error(new Error('x'))` hands winston the Error itself; its message and stack are not
  // enumerable, so the copy the base class makes before the format would lose them.
  override _write(info: LogEntry, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    super._write(entryOf(info), encoding, callback);
  }

  override _writev(
    chunks: Array<{ chunk: LogEntry; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const entries = chunks.map((write) => ({ ...write, chunk: entryOf(write.chunk) }));
    super._writev?.(entries, callback);
  }

  override log(info: LogEntry, next: () => void): void {
    this.outbox.accept(takeCapturedEntry(info) ?? this.captureOther(info));
    // Entries may arrive after close(), or after the transport was removed and added again.
    if (!this.watchingExit) this.startWatchingExit();
    if (this.listenerCount('logged') > 0) this.emit('logged', prepareForListeners(info));
    next();
  }

  private captureOther(info: LogEntry): CapturedEntry {
    // winston's `exceptionHandlers` hand entries to log() directly, without the transport's format
    // (and its redaction), though with the logger's line.
    const entry = info[FORMATTED] === true || !this.format ? info : this.applyFormat(info);
    return takeCapturedEntry(entry) ?? captureEntry(entry);
  }

  /**
   * Hands what is buffered to delivery and resolves once every mail handed over so far has been
   * accepted by the server, spooled or given up on. Never rejects: failures are reported as `'warn'`.
   * In `'context'` mode, entries without a `flushLevel` entry after them stay in the ring.
   */
  flush(): Promise<void> {
    return this.recovery ? this.recovery.then(() => this.outbox.flush()) : this.outbox.flush();
  }

  /**
   * Delivers what is buffered within `closeTimeoutMs`, then ends the connection: what is still
   * undelivered then is spooled or given up, and reported. winston calls it when the transport is
   * removed from a logger and on `logger.close()`. Calls while it runs return the same promise;
   * entries logged afterwards are still accepted and delivered by the next `close()`, `flush()`
   * or the exit handling.
   */
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- winston ignores the promise; callers who await it get the flush
  override close(): Promise<void> {
    this.closing ??= (this.recovery ?? Promise.resolve())
      .then(() => this.outbox.close(this.#settings.closeTimeoutMs))
      .then(() => {
        this.closing = undefined;
        // Entries logged while it ran are still waiting: the exit handling must still see them.
        if (this.outbox.idle) {
          this.stopWatchingExit();
          // Everything is delivered: the journal is removed; entries logged later are not journaled.
          this.#journal?.close();
        }
        this.#mailer.close();
        return this.#closeStore();
      });
    return this.closing;
  }

  /**
   * Checks the way to the server before the first incident: connects, upgrades with STARTTLS (or
   * starts in TLS with `smtp.secure`), verifies the certificate and logs in, OAuth2 included,
   * without sending mail. With a `transporter`, calls its `verify()` when it has one. Rejects with
   * the error a delivery `'warn'` would carry (`code`, `originalCode`, `responseCode`, `command`,
   * and what to change, naming the option); never with a secret.
   */
  async verify(): Promise<void> {
    try {
      await this.#mailer.verify();
    } catch (error) {
      const { smtp } = this.#settings;
      const context =
        smtp === undefined ? 'The transporter failed its check' : `Could not verify ${smtp.host}:${smtp.port}`;
      throw sanitizeError(error, this.#secrets.forms, context, smtp !== undefined);
    }
  }

  /** Counters since the transport was created; see `TransportStats`. */
  stats(): TransportStats {
    const notJournaled = this.#journal?.stats().entriesNotJournaled ?? 0;
    return this.ledger.snapshot(this.outbox.pendingEntries, this.outbox.pendingBytes, notJournaled);
  }

  /** What `JSON.stringify` shows: the server, the user, the addresses, the capacity and `stats()`; never a secret. */
  toJSON(): TransportSummary {
    return summarizeTransport(this.#settings, this.stats());
  }

  /** What `util.inspect` and `console.log` show: the same summary as `toJSON()`. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, inspectValue: typeof inspect): string {
    return inspectSummary(this.toJSON(), depth, options, inspectValue);
  }

  override _final(callback: (error?: Error | null) => void): void {
    (this.recovery ?? Promise.resolve())
      .then(() => this.outbox.close(this.#settings.closeTimeoutMs))
      .then(() => {
        // The logger has ended: with everything delivered, the journal has nothing left to keep.
        if (this.outbox.idle) this.#journal?.close();
        callback();
      }, callback);
  }

  /** The process is about to end on its own. */
  #flushBeforeExit(): void {
    if (this.exitFlush || !this.#settings.flushOnExit || this.outbox.idle) return;
    this.exitFlush = this.outbox.close(this.#settings.closeTimeoutMs).finally(() => {
      this.exitFlush = undefined;
    });
  }

  /** The process is exiting: keep in the spool, or at least count, what is left. */
  #onExit(): void {
    this.exiting = true;
    this.outbox.exit();
  }

  private openJournal(dir: string): Journal {
    const { journal: journalOptions, clock } = this.#settings;
    const warn = (error: Error & { code?: string }) => {
      const problem = { context: error.message, code: error.code ?? 'EJOURNAL', count: 0 };
      if (this.exiting) this.warn(problem);
      else queueMicrotask(() => this.warn(problem));
    };
    const journal = new Journal(dir, { warn, ...journalOptions, ...(clock && { clock }) });
    // Journals of runs that ended without shutting down go first, once listeners are attached.
    this.recovery = nextTurn()
      .then(() => recoverJournals(dir, { warn, maxJournalBytes: journalOptions?.maxJournalBytes }))
      .then((recovered) => {
        for (const run of recovered) {
          this.ledger.entriesRecoveredInFlight += run.inFlight;
          this.outbox.acceptRecovered([...journal.adopt(run)], formatRecoveryNotice(run));
        }
      })
      .catch((error: unknown) =>
        warn(Object.assign(new Error(`Could not recover journals: ${String(error)}`), { code: 'EJOURNAL' })),
      );
    return journal;
  }

  /**
   * Adds what was counted to the group's counts, then lets go of the connection; a later use
   * opens it again. Waited for at most `STORE_CLOSE_WAIT_MS`: a store that does not answer goes
   * on closing on its own, and keeps no process alive after that.
   */
  #closeStore(): Promise<void> {
    if (this.#fleet === undefined) return Promise.resolve();
    const closed = this.#fleet.close();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      closed,
      new Promise<void>((resolve) => {
        // Kept alive on purpose, as the wait of close() is: what awaits close() must still run.
        timer = setTimeout(resolve, STORE_CLOSE_WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** The group's shared state, answered from this process's own while the store cannot answer. */
  private openStore(settings: ResolvedOptions, clock: Clock): MailStore | undefined {
    const { store } = settings;
    if (store === undefined) return undefined;
    const group = new ReopeningGroup(store, groupFromRecipients(settings.to));
    return new FallbackStore(group, new MemoryStore(), {
      clock,
      onFallback: (error) =>
        this.warn({
          context:
            'The shared `store` did not answer; this transport keeps its own `rateLimit` and `renotify` windows until it does',
          error,
          code: 'ESTORE',
          count: 0,
        }),
    });
  }

  private openSpool(dir: string): OutboxSpool {
    return new Spool(dir, {
      // Told after the write or claim that caused it is counted, so that stats() read in the
      // listener adds up; at the exit there is no later.
      warn: (error) => {
        const problem = { context: error.message, code: error.code ?? 'ESPOOL', count: 0 };
        if (this.exiting) this.warn(problem);
        else queueMicrotask(() => this.warn(problem));
      },
      // A spooled mail holds at most one mail of `maxMailBytes`; anything much bigger is not ours.
      maxFileBytes: 4 * this.#settings.maxMailBytes + 1024 * 1024,
    });
  }

  private startWatchingExit(): void {
    this.watchingExit = true;
    watchExit(this.#exitHooks);
  }

  private stopWatchingExit(): void {
    this.watchingExit = false;
    unwatchExit(this.#exitHooks);
  }

  private get levelTable(): Readonly<Record<string, number>> {
    const levels = (this as { levels?: Record<string, number> }).levels;
    return levels ?? NPM_LEVELS;
  }

  private reachesFlushLevel(level: string): boolean {
    const { flushLevel } = this.#settings;
    if (flushLevel === undefined) return false;
    const levels = this.levelTable;
    // Asked for every entry: the answer for each level is kept, as long as the levels are the same.
    if (this.flushLevelsFor !== levels) {
      this.flushLevelsFor = levels;
      this.reachesFlushLevelByLevel.clear();
    }
    let reaches = this.reachesFlushLevelByLevel.get(level);
    if (reaches === undefined) {
      const threshold = rankLevel(flushLevel, levels);
      reaches = threshold !== Number.POSITIVE_INFINITY && rankLevel(level, levels) <= threshold;
      // A logger has a handful of levels; anything beyond is not worth remembering.
      if (this.reachesFlushLevelByLevel.size < 64) this.reachesFlushLevelByLevel.set(level, reaches);
    }
    return reaches;
  }

  // An unknown `level` would make winston-transport drop every entry without a word.
  private checkLevels(): void {
    const levels = this.levelTable;
    const { flushLevel, flushLevelIsDefault } = this.#settings;
    const named: Array<[option: string, level: string | undefined]> = [
      ['level', this.level],
      // The default names a level of winston's usual sets; with other levels it means no trigger.
      ['flushLevel', flushLevelIsDefault ? undefined : flushLevel],
    ];
    for (const [option, level] of named) {
      if (level !== undefined && !Object.hasOwn(levels, level)) {
        throw new RangeError(
          `Expected \`${option}\` to be one of the logger's levels (${Object.keys(levels).join(', ')}), got \`${JSON.stringify(level)}\``,
        );
      }
    }
  }

  private applyFormat(info: LogEntry): LogEntry {
    const format = this.format;
    if (!format) return info;
    try {
      const transformed = format.transform({ ...info }, format.options);
      return typeof transformed === 'object' ? transformed : info;
    } catch {
      return info;
    }
  }

  private toMessage(part: RenderedPart): MailMessage {
    const { from, to, cc, bcc } = this.#settings;
    const thread = part.threadKey === undefined ? undefined : this.threads.headersFor(part.threadKey, part.threadTopic);
    const { headers, priority } = mailHeaders(
      part.level ?? '',
      this.levelTable,
      this.#settings.headers,
      thread?.headers,
    );
    const message: MailMessage = {
      headers,
      priority,
      ...(thread !== undefined && {
        messageId: thread.messageId,
        ...(thread.inReplyTo !== undefined && { inReplyTo: thread.inReplyTo }),
        ...(thread.references !== undefined && { references: [...thread.references] }),
      }),
      from,
      to: [...to],
      ...(cc.length > 0 && { cc: [...cc] }),
      ...(bcc.length > 0 && { bcc: [...bcc] }),
      subject: part.subject,
      text: part.text,
      ...(part.html !== undefined && { html: part.html }),
      ...(part.attachments !== undefined && { attachments: [...part.attachments] }),
    };
    if (part.threadKey !== undefined) this.sendingThreads.set(message, part.threadKey);
    return message;
  }

  private renderOptions(count: number, notices: readonly string[]): RenderOptions {
    const { subject, html, attachJson, maxLineBytes, maxMailBytes, from, to, cc } = this.#settings;
    return {
      ...(subject !== undefined && { subject }),
      hostname: this.hostname,
      levels: this.levelTable,
      html,
      attachJson,
      maxLineBytes,
      maxMailBytes,
      notices,
      // The address headers as sent; Bcc is not among them.
      headerBytes:
        [from, ...to, ...cc].reduce((sum, address) => sum + Buffer.byteLength(address) + 8, 1024) +
        THREAD_HEADER_BYTES +
        Object.entries(this.#settings.headers).reduce(
          (sum, [name, value]) => sum + name.length + 4 + 3 * value.length,
          0,
        ),
      onSubjectError: (error) => this.warn({ context: 'Used the default subject', error, count }),
      ...(this.#settings.fingerprint !== undefined && { fingerprint: this.#settings.fingerprint }),
      onFingerprintError: this.fingerprintFailed,
      context: this.context.snapshot(),
    };
  }

  // Delivery problems are 'warn', never 'error': winston re-emits a transport's 'error' on the
  // logger, and an 'error' event nobody listens to terminates the application.
  private warn(problem: Problem): void {
    const { context, error, code, count } = problem;
    const warning = (
      error === undefined
        ? Object.assign(new Error(context), { stack: `Error: ${context}` })
        : sanitizeError(error, this.#secrets.forms, context, this.#settings.smtp !== undefined)
    ) as DeliveryWarning;
    if (code !== undefined) warning.code = code;
    warning.count = count;
    if (!this.someoneListens()) this.showWithoutListener(warning);
    this.emitSafely('warn', warning);
  }

  // A listener that throws must not leave delivery half done: the outcome is already recorded,
  // and the exception surfaces on its own, as it would from any event emitter.
  private emitSafely(event: 'mail' | 'warn', payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (listenerError) {
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }

  /** Whether anyone but winston's own forwarding listens to `'warn'`, here or on the logger. */
  private someoneListens(): boolean {
    const forwarder = (this as unknown as Record<string, unknown>).__winstonwarn;
    const own = this.listeners('warn').filter((listener) => listener !== forwarder).length;
    const parent = (this as unknown as { parent?: { listenerCount?: (event: string) => number } }).parent;
    return own + (parent?.listenerCount?.('warn') ?? 0) > 0;
  }

  // Nobody listens: like Node's own warnings, shown once per code until a mail goes out again.
  private showWithoutListener(warning: DeliveryWarning): void {
    const code = warning.code ?? 'EDELIVERY';
    if (this.shownCodes.has(code)) return;
    this.shownCodes.add(code);
    if (this.exiting) {
      // process.emitWarning prints on a later tick, which never comes while the process exits.
      try {
        writeSync(2, `(node:${process.pid}) [${code}] ${WARNING_TYPE}: ${warning.message}\n`);
      } catch {
        // stderr is gone: nothing more can be done.
      }
      return;
    }
    process.emitWarning(warning.message, { type: WARNING_TYPE, code });
  }
}
