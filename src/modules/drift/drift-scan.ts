/**
 * `breakglass drift scan` (`POST /v1/drift/scan`) and the periodic scan
 * (BREAKGLASS_DRIFT_INTERVAL): inspects every pre-staged account and the ephemeral credentials
 * of ended cases through their connectors, and records what no live case explains. A new
 * finding is audited `drift.detected`; one the scan no longer sees (or fixed itself, with
 * `autoRemediate`, and verified: `drift.remediated`) is resolved, audited `drift.resolved` with
 * its first and last sighting.
 */
import { randomUUID } from 'node:crypto';
import { authorize, drillStanding, holdsAccount, type Actor, type Grant } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import { driftKinds, type AccountRecord, type DriftFinding, type StoreTx, type TargetRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { pairKey, scanLeftovers, scanPrestaged, type AccountScan, type Observation } from './drift-inspect.js';

export interface DriftScanResult {
  /** The findings open after the scan, oldest first. */
  readonly findings: DriftFinding[];
  /** Accounts the scan could not inspect, with why (their open findings stay as they were). */
  readonly errors: { readonly account: string; readonly error: string }[];
}

/** How many ended ephemeral cases per account a scan looks at (the newest). */
export const leftoverWindow = 50;

const endedStates = ['awaiting-certification', 'closed', 'failed'] as const;

/**
 * One scan now, by an admin.
 * @example const { findings } = await scanDriftNow(ctx, admin);
 */
export async function scanDriftNow(ctx: ModuleContext, actor: Actor): Promise<DriftScanResult> {
  authorize(actor, 'drift.scan');
  return scanDrift(ctx);
}

/** One scan, as the system (the periodic timer). Scans in this process never overlap. */
export function scanDrift(ctx: ModuleContext): Promise<DriftScanResult> {
  return ctx.accountLocks.run('drift:scan', () => scanOnce(ctx));
}

interface Plan {
  readonly account: AccountRecord;
  readonly target: TargetRecord;
  readonly ended: Grant[];
  /** When its last drill passed (a passed drill certifies, so closes, its own grant). */
  readonly lastDrillPassed: Date | undefined;
}

async function scanOnce(ctx: ModuleContext): Promise<DriftScanResult> {
  const plans = await ctx.store.transaction(async (tx) => {
    const [accounts, targets] = await Promise.all([tx.catalog.listAccounts(), tx.catalog.listTargets()]);
    const targetById = new Map(targets.map((t) => [t.id, t]));
    const out: Plan[] = [];
    for (const account of accounts) {
      const target = targetById.get(account.targetId);
      if (!target) continue;
      const ended =
        account.mode === 'ephemeral'
          ? (await tx.grants.list({ states: endedStates, accountId: account.id, limit: leftoverWindow })).filter((g) => !holdsAccount(g) && g.activatedAt !== undefined)
          : [];
      const [lastDrill] = account.drill ? await tx.grants.list({ accountId: account.id, states: ['closed'], drill: true, limit: 1 }) : [];
      out.push({ account, target, ended, lastDrillPassed: lastDrill?.createdAt });
    }
    return out;
  });
  const errors: { account: string; error: string }[] = [];
  for (const plan of plans) {
    const scan = plan.account.mode === 'prestaged' ? await scanPrestaged(ctx, plan.account, plan.target) : await scanLeftovers(ctx, plan.account, plan.target, plan.ended);
    checkDrill(ctx, plan, scan);
    if (scan.error !== undefined) {
      errors.push({ account: plan.account.name, error: scan.error });
      ctx.log.warn({ account: plan.account.name, err: scan.error }, 'drift scan could not inspect the account');
    }
    await ctx.store.transaction((tx) => record(ctx, tx, plan.account.name, scan));
  }
  const findings = await ctx.store.transaction(async (tx) => {
    // An account the catalog no longer lists is not Breakglass's to watch: its findings close.
    const listed = new Set(plans.map((p) => p.account.name));
    for (const gone of (await tx.drift.listOpen()).filter((f) => !listed.has(f.account))) await resolve(ctx, tx, gone, ctx.clock.now(), 'account retired from the catalog');
    return tx.drift.listOpen();
  });
  // breakglass_drift_findings{kind}: what this scan left open (every kind, so a resolved one drops to 0).
  for (const kind of driftKinds) ctx.metrics?.driftFindings.set({ kind }, findings.filter((f) => f.kind === kind).length);
  return { findings, errors };
}

/**
 * `drill-overdue`: no drill of the account has passed within its schedule's `maxAge` (the rule
 * is `drillStanding`'s). Checked from the store, whether or not the target answered; a drill
 * that passes resolves it at the next scan.
 */
function checkDrill(ctx: Pick<ModuleContext, 'clock'>, { account, lastDrillPassed }: Plan, scan: AccountScan): void {
  const subject = 'drill';
  scan.checked.add(pairKey('drill-overdue', subject));
  const standing = drillStanding(account, lastDrillPassed, ctx.clock.now());
  if (standing.overdue) scan.observations.push({ account: account.name, kind: 'drill-overdue', subject, detail: standing.detail });
}

/** Writes one account's observations: new findings, sightings, resolutions — with their audit events. */
async function record(ctx: Pick<ModuleContext, 'audit' | 'clock'>, tx: StoreTx, account: string, scan: AccountScan): Promise<void> {
  const now = ctx.clock.now();
  const open = (await tx.drift.listOpen()).filter((f) => f.account === account);
  const byKey = new Map(open.map((f) => [pairKey(f.kind, f.subject), f]));
  const seenKeys = new Set<string>();
  for (const o of scan.observations) {
    const key = pairKey(o.kind, o.subject);
    seenKeys.add(key);
    let finding = byKey.get(key) ?? (await detect(ctx, tx, o, now));
    if (finding.lastSeen.getTime() !== now.getTime()) {
      await tx.drift.seen(finding.id, now, o.detail);
      finding = { ...finding, lastSeen: now, detail: o.detail };
    }
    if (o.remediated) {
      await ctx.audit.append(tx, { actor: 'system', action: 'drift.remediated', subject: account, details: { finding: finding.id, kind: o.kind, subject: o.subject, action: o.remediated.action } });
      await resolve(ctx, tx, finding, now, 'remediated');
    }
  }
  for (const finding of open) {
    const key = pairKey(finding.kind, finding.subject);
    if (scan.checked.has(key) && !seenKeys.has(key)) await resolve(ctx, tx, finding, now, 'no longer seen');
  }
}

/** A new finding, audited; or, when another instance recorded it first, that one (seen again). */
async function detect(ctx: Pick<ModuleContext, 'audit'>, tx: StoreTx, o: Observation, now: Date): Promise<DriftFinding> {
  const finding: DriftFinding = {
    id: `drf_${randomUUID()}`,
    account: o.account,
    kind: o.kind,
    subject: o.subject,
    detail: o.detail,
    firstSeen: now,
    lastSeen: now,
    resolvedAt: undefined,
    ackedBy: undefined,
    ackedReason: undefined,
  };
  if (!(await tx.drift.insert(finding))) {
    const first = (await tx.drift.listOpen()).find((f) => f.account === o.account && f.kind === o.kind && f.subject === o.subject);
    if (!first) throw appError.conflict(`drift finding ${o.kind} of "${o.account}" changed while it was recorded; the next scan records it`);
    return first;
  }
  await ctx.audit.append(tx, { actor: 'system', action: 'drift.detected', subject: o.account, details: { finding: finding.id, kind: o.kind, subject: o.subject, detail: o.detail } });
  return finding;
}

async function resolve(ctx: Pick<ModuleContext, 'audit'>, tx: StoreTx, finding: DriftFinding, now: Date, why: string): Promise<void> {
  if (!(await tx.drift.resolve(finding.id, now))) return; // another instance resolved it first
  await ctx.audit.append(tx, {
    actor: 'system',
    action: 'drift.resolved',
    subject: finding.account,
    details: { finding: finding.id, kind: finding.kind, subject: finding.subject, why, firstSeen: finding.firstSeen.toISOString(), lastSeen: finding.lastSeen.toISOString() },
  });
}
