/**
 * The figures of the governance report, computed from plain grants and catalog rows: pure, so
 * the report, its tests and a later metrics endpoint agree on what each figure means.
 */
import type { AccountMode, Grant, Policy } from '../../domain/index.js';

/** A privilege that stays valid longer than this after its case ended counts against the share. */
export const lateRevocationMs = 60_000;
/** An awaiting-certification case older than this is overdue. */
export const certificationOverdueMs = 7 * 86_400_000;
/** A reveal followed by an early end within this window is suspected misuse. */
export const quickEndMs = 60_000;

/** Nearest-rank percentiles of durations, in seconds (`null` when there is no sample). */
export interface DurationStats {
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export function durationStats(samplesMs: readonly number[]): DurationStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms) / 1000);
  return { count: sorted.length, p50: seconds(rank(50)), p99: seconds(rank(99)), max: seconds(sorted.at(-1)) };
}

/** The account and policy of a grant, as the report needs them. */
export interface AccountFacts {
  readonly name: string;
  readonly mode: AccountMode;
  readonly policy: Pick<Policy, 'name' | 'conditions'> | undefined;
  readonly secretVersion: number;
}

export interface AccountUsage {
  readonly account: string;
  readonly mode: AccountMode;
  readonly cases: number;
  /** Cases per requester name. */
  readonly requesters: Readonly<Record<string, number>>;
  /** Cases per condition. */
  readonly conditions: Readonly<Record<string, number>>;
  readonly lastUsedAt: string | null;
  /** Pre-staged only: verified rotations at or after the last use (0 means the used secret may still be the current one). */
  readonly rotationsSinceLastUse: number | null;
  /** Longest time the privilege stayed valid after a case ended, in seconds. */
  readonly maxValidAfterEnd: number | null;
  readonly overdue: number;
  readonly misuseSuspected: number;
}

export interface CaseRef {
  readonly id: string;
  readonly account: string;
  readonly requester: string;
  readonly incident: string;
  readonly reason: string;
}

export interface OverdueCase extends CaseRef {
  readonly awaitingSince: string;
  readonly ageDays: number;
}

export type MisuseSignal =
  | 'certified-unnecessary'
  | 'revealed-then-ended-within-a-minute'
  | 'condition-outside-policy'
  // issue 11 (H3): the certifier said so (`--misuse-suspected yes`).
  | 'certified-misuse-suspected';

export interface SuspectedCase extends CaseRef {
  readonly signals: readonly MisuseSignal[];
}

export interface GovernanceFigures {
  readonly cases: number;
  readonly byCondition: Readonly<Record<string, number>>;
  readonly byState: Readonly<Record<string, number>>;
  readonly accounts: readonly AccountUsage[];
  /** requested → activated. */
  readonly timeToAccess: DurationStats;
  /** Case end (TTL reached or ended early) → revocation verified on the target. */
  readonly timeToRevoke: DurationStats;
  /** Case end → revocation, with still-unrevoked cases counted up to now. */
  readonly privilegeValidAfterEnd: DurationStats & { readonly above60s: number; readonly shareAbove60s: number | null };
  readonly certification: {
    readonly certified: number;
    readonly awaiting: number;
    readonly necessary: number;
    readonly scoped: number;
    readonly removed: number;
    /** awaiting-certification → certified. */
    readonly latency: DurationStats;
  };
  readonly overdue: readonly OverdueCase[];
  readonly misuseSuspected: readonly SuspectedCase[];
}

const count = (into: Record<string, number>, key: string) => void (into[key] = (into[key] ?? 0) + 1);

/** When the case ended: early end, or the TTL once it has passed; undefined while it runs. */
function caseEnd(grant: Grant, now: Date): Date | undefined {
  if (grant.activatedAt === undefined) return undefined;
  if (grant.endedAt !== undefined) return grant.endedAt;
  return grant.expiresAt <= now ? grant.expiresAt : undefined;
}

/** When the case started waiting for its certification (after rotation, or revocation for ephemeral). */
const awaitingSince = (grant: Grant) => grant.rotatedAt ?? grant.revokedAt;

function misuseSignals(grant: Grant, facts: AccountFacts | undefined): MisuseSignal[] {
  const signals: MisuseSignal[] = [];
  if (grant.certification?.necessary === false) signals.push('certified-unnecessary');
  if (grant.revealedAt && grant.endReason === 'ended' && grant.endedAt && grant.endedAt.getTime() - grant.revealedAt.getTime() <= quickEndMs) {
    signals.push('revealed-then-ended-within-a-minute');
  }
  if (facts?.policy && !facts.policy.conditions.includes(grant.condition)) signals.push('condition-outside-policy');
  // issue 11 (H3)
  if (grant.certification?.misuseSuspected === true) signals.push('certified-misuse-suspected');
  return signals;
}

const caseRef = (grant: Grant, account: string): CaseRef => ({
  id: grant.id,
  account,
  requester: grant.requesterName,
  incident: grant.incident,
  reason: grant.reason,
});

/**
 * The figures for `grants` (already restricted to the period) at `now`. `facts` names the
 * accounts to list (those of the catalog and of the cases); `allGrants` are every case of the
 * accounts, for "rotations since last use", which looks past the period.
 */
export function governanceFigures(grants: readonly Grant[], facts: ReadonlyMap<string, AccountFacts>, now: Date, allGrants: readonly Grant[] = grants): GovernanceFigures {
  const byCondition: Record<string, number> = {};
  const byState: Record<string, number> = {};
  const toAccess: number[] = [];
  const toRevoke: number[] = [];
  const validAfter: number[] = [];
  const latency: number[] = [];
  const certification = { certified: 0, awaiting: 0, necessary: 0, scoped: 0, removed: 0 };
  const overdue: OverdueCase[] = [];
  const suspected: SuspectedCase[] = [];
  const perAccount = new Map<string, { grants: Grant[]; validAfter: number[]; overdue: number; misuse: number }>();
  const nameOf = (grant: Grant) => facts.get(grant.accountId)?.name ?? grant.accountId;

  for (const grant of grants) {
    count(byCondition, grant.condition);
    count(byState, grant.state);
    const slot = perAccount.get(grant.accountId) ?? { grants: [], validAfter: [], overdue: 0, misuse: 0 };
    perAccount.set(grant.accountId, slot);
    slot.grants.push(grant);
    if (grant.activatedAt) toAccess.push(grant.activatedAt.getTime() - grant.createdAt.getTime());
    const end = caseEnd(grant, now);
    if (end) {
      if (grant.revokedAt) toRevoke.push(Math.max(0, grant.revokedAt.getTime() - end.getTime()));
      const valid = Math.max(0, (grant.revokedAt ?? now).getTime() - end.getTime());
      validAfter.push(valid);
      slot.validAfter.push(valid);
    }
    const since = awaitingSince(grant);
    if (grant.certification) {
      certification.certified += 1;
      if (grant.certification.necessary) certification.necessary += 1;
      if (grant.certification.scoped) certification.scoped += 1;
      if (grant.certification.removed) certification.removed += 1;
      if (since) latency.push(Math.max(0, grant.certification.at.getTime() - since.getTime()));
    } else if (grant.state === 'awaiting-certification') {
      certification.awaiting += 1;
      const from = since ?? grant.createdAt;
      const age = now.getTime() - from.getTime();
      if (age > certificationOverdueMs) {
        overdue.push({ ...caseRef(grant, nameOf(grant)), awaitingSince: from.toISOString(), ageDays: Math.floor(age / 86_400_000) });
        slot.overdue += 1;
      }
    }
    const signals = misuseSignals(grant, facts.get(grant.accountId));
    if (signals.length > 0) {
      suspected.push({ ...caseRef(grant, nameOf(grant)), signals });
      slot.misuse += 1;
    }
  }

  const above60s = validAfter.filter((ms) => ms > lateRevocationMs).length;
  return {
    cases: grants.length,
    byCondition,
    byState,
    // Every account the facts name (the whole catalog), used in the period or not: rare use is the point.
    accounts: [...new Set([...facts.keys(), ...perAccount.keys()])]
      .map((accountId) => accountUsage(accountId, perAccount.get(accountId) ?? { grants: [], validAfter: [], overdue: 0, misuse: 0 }, facts.get(accountId), allGrants))
      .sort((a, b) => b.cases - a.cases || a.account.localeCompare(b.account)),
    timeToAccess: durationStats(toAccess),
    timeToRevoke: durationStats(toRevoke),
    privilegeValidAfterEnd: { ...durationStats(validAfter), above60s, shareAbove60s: validAfter.length === 0 ? null : above60s / validAfter.length },
    certification: { ...certification, latency: durationStats(latency) },
    overdue,
    misuseSuspected: suspected,
  };
}

function accountUsage(
  accountId: string,
  slot: { grants: Grant[]; validAfter: number[]; overdue: number; misuse: number },
  facts: AccountFacts | undefined,
  allGrants: readonly Grant[],
): AccountUsage {
  const requesters: Record<string, number> = {};
  const conditions: Record<string, number> = {};
  for (const grant of slot.grants) {
    count(requesters, grant.requesterName);
    count(conditions, grant.condition);
  }
  const history = allGrants.filter((grant) => grant.accountId === accountId);
  const lastUse = Math.max(...history.map((grant) => grant.activatedAt?.getTime() ?? -Infinity));
  const mode = facts?.mode ?? slot.grants[0]?.mode ?? 'prestaged';
  return {
    account: facts?.name ?? accountId,
    mode,
    cases: slot.grants.length,
    requesters,
    conditions,
    lastUsedAt: Number.isFinite(lastUse) ? new Date(lastUse).toISOString() : null,
    rotationsSinceLastUse: mode === 'prestaged' ? history.filter((grant) => grant.rotatedAt && grant.rotatedAt.getTime() >= lastUse).length : null,
    maxValidAfterEnd: durationStats(slot.validAfter).max,
    overdue: slot.overdue,
    misuseSuspected: slot.misuse,
  };
}
