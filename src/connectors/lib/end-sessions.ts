/**
 * The "end live sessions, then confirm" loop of every connector that can kill sessions.
 * Disabling or dropping an account only stops *new* logins; what is already connected must be
 * killed, and a kill only signals: the session leaves the server's list when it has exited.
 */
import { AppError } from '../../errors/index.js';
import type { SessionsEnded } from '../../ports/index.js';

/** How long a session kill waits until the target lists none of the account's sessions. */
export const SESSION_DRAIN_MS = 2000;
const SESSION_POLL_MS = 50;

export interface EndSessions {
  /**
   * One round: signal every live session of the account and return how many were live when
   * the round looked (0: none left, done) — or, better, their ids (issue 12, P2), so a session
   * still exiting is not counted twice in the evidence.
   */
  readonly round: () => Promise<number | readonly string[]>;
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
export async function endLiveSessions({ round, stillAlive }: EndSessions): Promise<SessionsEnded> {
  const deadline = Date.now() + SESSION_DRAIN_MS;
  // issue 12 (P2): the evidence — sessions seen by the first round, and every one ended since.
  let sessionsBefore: number | undefined;
  const ended = new Set<string>();
  let mostCounted = 0;
  for (;;) {
    const seen = await round();
    const live = typeof seen === 'number' ? seen : seen.length;
    sessionsBefore ??= live;
    if (typeof seen === 'number') mostCounted = Math.max(mostCounted, seen);
    else for (const id of seen) ended.add(id);
    if (live === 0) return { sessionsBefore, sessionsEnded: Math.max(ended.size, mostCounted) };
    if (Date.now() >= deadline) throw new AppError('target_unavailable', stillAlive(live), { retryable: true });
    await sleep(SESSION_POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
