/** Something that has work to finish before the process ends on its own. */
export interface ExitFlushable {
  /** Starts the remaining work; the process stays alive while it runs. */
  flushBeforeExit(): void;
}

const watched = new Set<ExitFlushable>();

// 'beforeExit' fires when the event loop runs dry, which is how a program that simply returns
// ends; it fires again after the work started here, until nothing more is started.
function onBeforeExit(): void {
  for (const target of watched) target.flushBeforeExit();
}

export function watchExit(target: ExitFlushable): void {
  if (watched.size === 0) process.on('beforeExit', onBeforeExit);
  watched.add(target);
}

export function unwatchExit(target: ExitFlushable): void {
  if (!watched.delete(target)) return;
  if (watched.size === 0) process.off('beforeExit', onBeforeExit);
}
