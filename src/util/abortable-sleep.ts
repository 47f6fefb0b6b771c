/**
 * Waits `ms`, or less if `signal` aborts first (it then resolves, not rejects: the caller
 * checks the signal and winds down). The listener is removed either way, so thousands of
 * waits on one long-lived signal do not pile up listeners.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
