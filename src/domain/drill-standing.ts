import { formatDuration } from './duration.js';
import type { Account } from './types.js';

/**
 * Where an account stands with its drills (issue 10), the one rule the report, the drift scan
 * and its alert share: `current` when a drill passed within the schedule's `maxAge`; `overdue`
 * when the last one that passed is older; `never drilled` when none ever passed — itself
 * overdue once `maxAge` has gone by since the account was given its schedule (`drillSince`).
 */
export type DrillStatus = 'not scheduled' | 'current' | 'never drilled' | 'overdue';

export interface DrillStanding {
  readonly status: DrillStatus;
  /** True when someone should be told: too long without a drill that passed. */
  readonly overdue: boolean;
  /** For people: why, with the dates. */
  readonly detail: string;
}

export function drillStanding(account: Pick<Account, 'name' | 'drill' | 'drillSince'>, lastPassed: Date | undefined, now: Date): DrillStanding {
  const { drill } = account;
  if (!drill) return { status: 'not scheduled', overdue: false, detail: `"${account.name}" has no drill schedule` };
  const maxAge = formatDuration(drill.maxAgeMs);
  if (lastPassed === undefined) {
    const since = account.drillSince;
    const overdue = since !== undefined && now.getTime() - since.getTime() > drill.maxAgeMs;
    const from = since === undefined ? '' : ` since its schedule was set on ${since.toISOString()}`;
    return { status: 'never drilled', overdue, detail: `no drill of "${account.name}" has passed${from} (maxAge ${maxAge})` };
  }
  const age = now.getTime() - lastPassed.getTime();
  const overdue = age > drill.maxAgeMs;
  return {
    status: overdue ? 'overdue' : 'current',
    overdue,
    detail: `the last drill of "${account.name}" that passed was on ${lastPassed.toISOString()}, ${(age / 86_400_000).toFixed(1)} days ago (maxAge ${maxAge})`,
  };
}
