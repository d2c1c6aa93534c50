import type { Logger } from './log';

/**
 * The end of a process's life, the same for every composition root: SIGTERM or SIGINT
 * drains (the caller's `stop` finishes the batch in hand, commits, disconnects) and exits 0;
 * a drain that hangs, a second signal, or an unhandled rejection exits non-zero so that a
 * supervisor restarts the process. No promise failure is ever left unobserved.
 */
export interface LifecycleOptions {
  log: Logger;
  stop: () => Promise<void>;
  drainTimeoutMs?: number;
  exit?: (code: number) => void;
}

export function exitOnSignals({
  log,
  stop,
  drainTimeoutMs = 30_000,
  exit = (code) => process.exit(code),
}: LifecycleOptions): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      log.warn('second signal while draining; exiting now', { signal });
      return exit(1);
    }
    draining = true;
    log.info('draining before exit', { signal });
    const timer = setTimeout(() => {
      log.error('drain did not finish in time; exiting', { drainTimeoutMs });
      exit(1);
    }, drainTimeoutMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        log.info('drained; bye');
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        log.error('drain failed', { error });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection; exiting', { error: reason });
    exit(1);
  });
}
