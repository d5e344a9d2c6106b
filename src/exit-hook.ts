/** Something that has work to finish before the process ends. */
export interface ExitAware {
  /** The event loop ran dry: start the remaining work; the process stays alive while it runs. */
  flushBeforeExit(): void;
  /** The process is exiting now: only synchronous work can still be done. */
  onExit(): void;
}

const watched = new Set<ExitAware>();

// 'beforeExit' fires when the event loop runs dry, which is how a program that simply returns
// ends; it fires again after the work started here, until nothing more is started. 'exit' fires
// on process.exit(), which is how winston ends the process after an uncaught exception.
function onBeforeExit(): void {
  for (const target of watched) target.flushBeforeExit();
}

function onExit(): void {
  for (const target of watched) target.onExit();
}

export function watchExit(target: ExitAware): void {
  if (watched.size === 0) {
    process.on('beforeExit', onBeforeExit);
    process.on('exit', onExit);
  }
  watched.add(target);
}

export function unwatchExit(target: ExitAware): void {
  if (!watched.delete(target)) return;
  if (watched.size === 0) {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
  }
}
