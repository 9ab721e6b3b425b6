import type { RunningServer } from './server.js';

const signalNumbers = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof signalNumbers;

/**
 * Serves until SIGTERM or SIGINT, then shuts down within `timeoutMs` (BREAKGLASS_SHUTDOWN_TIMEOUT):
 * new requests are refused at once (but `/healthz`), the ones in flight and the job in hand
 * finish, the store is closed. A second signal exits at once with 128 + its number. That is
 * safe: SQLite's WAL (synchronous=FULL) keeps the database consistent at any instant — a
 * transaction that had not committed is simply absent after the restart — and PostgreSQL rolls
 * back the transactions of a client that vanished. Revocations still due are claimed again by
 * the next instance (their jobs stay in the store).
 *
 * @example await serveUntilSignalled(await startServer(options), env.shutdownTimeoutMs);
 */
export async function serveUntilSignalled(server: RunningServer, timeoutMs: number): Promise<void> {
  const first = await new Promise<StopSignal>((resolve) => {
    const stop = (signal: StopSignal) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const now = (signal: StopSignal) => {
    process.stderr.write(`${signal} again: exiting now without waiting for the requests in flight\n`);
    process.exit(128 + signalNumbers[signal]);
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  process.stderr.write(`${first}: stopping; requests in flight may finish within ${timeoutMs / 1000}s (signal again to exit at once)\n`);
  await server.shutdown(timeoutMs);
  // Whatever still holds the event loop open (a connection to a slow target in a request that
  // ran out of time) must not keep a stopped server alive.
  setTimeout(() => process.exit(), 1_000).unref();
}
