/**
 * The "end live sessions, then confirm" loop of every connector that can kill sessions.
 * Disabling or dropping an account only stops *new* logins; what is already connected must be
 * killed, and a kill only signals: the session leaves the server's list when it has exited.
 */
import { AppError } from '../../errors/index.js';

/** How long a session kill waits until the target lists none of the account's sessions. */
export const SESSION_DRAIN_MS = 2000;
const SESSION_POLL_MS = 50;

export interface EndSessions {
  /**
   * One round: signal every live session of the account and return how many were live when
   * the round looked (0: none left, done).
   */
  readonly round: () => Promise<number>;
  /** The message when sessions are still alive at the deadline, e.g. `mysql: 2 connection(s) …`. */
  readonly stillAlive: (live: number) => string;
}

/**
 * Repeats `round` until it reports no live session, or fails retryably (`target_unavailable`)
 * once `SESSION_DRAIN_MS` have passed, so the revocation is tried again later.
 *
 * @example
 *   await endLiveSessions({
 *     round: async () => (await terminateBackends(role)).live,
 *     stillAlive: (live) => `postgres disable of role "x": ${live} session(s) still alive after termination`,
 *   });
 */
export async function endLiveSessions({ round, stillAlive }: EndSessions): Promise<void> {
  const deadline = Date.now() + SESSION_DRAIN_MS;
  for (;;) {
    const live = await round();
    if (live === 0) return;
    if (Date.now() >= deadline) throw new AppError('target_unavailable', stillAlive(live), { retryable: true });
    await sleep(SESSION_POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
