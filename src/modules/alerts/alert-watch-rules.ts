import type { Grant, GrantState, TimedAlertEvent } from '../../domain/index.js';

/**
 * When the time-driven alerts fire: server-wide defaults; a policy may set its own expiry
 * warning (`expiryWarning`, alert-watch.ts `thresholdsFor`).
 */
export interface WatchThresholds {
  /** `grant.expiring`: this long before an active grant's expiry. */
  readonly expiryWarningMs: number;
  /** `grant.revocation-overdue`: this long after the revocation was due, and again every this long. */
  readonly revocationOverdueMs: number;
  /** `grant.rotation-failed`: rotating this long, and again every this long. */
  readonly rotationOverdueMs: number;
  /** `grant.certification-overdue`: awaiting certification this long; once. */
  readonly certificationOverdueMs: number;
}

export const defaultWatchThresholds: WatchThresholds = {
  expiryWarningMs: 10 * 60_000,
  revocationOverdueMs: 60_000,
  rotationOverdueMs: 5 * 60_000,
  certificationOverdueMs: 7 * 86_400_000,
};

/** The states in which some rule may fire: what the watch lists. */
export const watchedStates: readonly GrantState[] = ['active', 'revoking', 'rotating', 'awaiting-certification'];

/** One occurrence of a time-driven alert: `<event>-<grant>-<occurrence>` is its id. */
export interface DueAlert {
  readonly event: TimedAlertEvent;
  /** The expiry time (ms) for a warning; the n-th repetition (1, 2, …) for an overdue condition. */
  readonly occurrence: number;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The time-driven alerts a grant is due for at `now`: at most one per event, the latest
 * occurrence (a watch that was down for three periods raises the third, not all three). Pure:
 * the same answer on every instance, so the store's mark decides who raises it.
 */
export function dueAlerts(grant: Grant, now: Date, thresholds: WatchThresholds): DueAlert[] {
  const at = now.getTime();
  const due: DueAlert[] = [];
  const expiry = grant.expiresAt.getTime();
  const warnAt = expiry - thresholds.expiryWarningMs;
  // A grant granted for less than the warning has its expiry in its activation alert already.
  if (grant.state === 'active' && at >= warnAt && at < expiry && (grant.activatedAt?.getTime() ?? at) < warnAt) {
    due.push({ event: 'grant.expiring', occurrence: expiry, details: { expiresInMs: expiry - at, warningMs: thresholds.expiryWarningMs } });
  }
  if (grant.state === 'active' || grant.state === 'revoking') {
    // Revocation is due at the expiry, or at the early end that started it.
    const dueAt = Math.min(expiry, grant.endedAt?.getTime() ?? expiry);
    const overdue = repeating(at - dueAt, thresholds.revocationOverdueMs);
    if (overdue !== undefined) due.push({ event: 'grant.revocation-overdue', occurrence: overdue, details: { state: grant.state, dueAt: new Date(dueAt).toISOString(), overdueMs: at - dueAt, repeatsEveryMs: thresholds.revocationOverdueMs } });
  }
  // Rotation starts in the transaction that verified the revocation: `revokedAt` is when it began.
  if (grant.state === 'rotating' && grant.revokedAt !== undefined) {
    const since = grant.revokedAt.getTime();
    const stuck = repeating(at - since, thresholds.rotationOverdueMs);
    if (stuck !== undefined) due.push({ event: 'grant.rotation-failed', occurrence: stuck, details: { rotatingSince: grant.revokedAt.toISOString(), rotatingForMs: at - since, repeatsEveryMs: thresholds.rotationOverdueMs } });
  }
  const waitingSince = grant.rotatedAt ?? grant.revokedAt;
  if (grant.state === 'awaiting-certification' && waitingSince !== undefined && at - waitingSince.getTime() >= thresholds.certificationOverdueMs) {
    due.push({ event: 'grant.certification-overdue', occurrence: 1, details: { awaitingSince: waitingSince.toISOString(), waitingForMs: at - waitingSince.getTime() } });
  }
  return due;
}

/** The n-th full period of `elapsed` (1 once one period has passed), or undefined before. */
function repeating(elapsed: number, periodMs: number): number | undefined {
  return elapsed >= periodMs ? Math.floor(elapsed / periodMs) : undefined;
}
