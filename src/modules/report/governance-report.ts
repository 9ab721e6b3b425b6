/**
 * `governanceReport`: the auditor's view of a period — how emergency access was used, how fast
 * it came and went, how it was certified — tied to the evidence by the audit chain head and the
 * latest signed checkpoint, with the compliance mapping.
 */
import { authorize, drillStanding, type Actor, type Grant } from '../../domain/index.js';
import type { AccountRecord, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { complianceMap, type ComplianceControl } from './compliance-map.js';
import { governanceFigures, type AccountFacts, type GovernanceFigures } from './governance-figures.js';

/** A section whose tables another feature adds: `configured: false` until the store offers them. */
export type OptionalSection<Row> =
  | { readonly configured: false; readonly note: 'not configured yet' }
  | { readonly configured: true; readonly rows: readonly Row[] };

export interface GovernanceReport {
  readonly generatedAt: string;
  readonly since: string;
  readonly auditHead: { readonly seq: number; readonly hash: string };
  readonly checkpoint: { readonly seq: number; readonly at: string; readonly signaturePrefix: string } | null;
  readonly figures: GovernanceFigures;
  readonly drills: OptionalSection<Readonly<Record<string, unknown>>>;
  /** Per account with a drill schedule: when it last passed, and whether that is too long ago (`maxAge`). */
  readonly drillStatus: OptionalSection<Readonly<Record<string, unknown>>>;
  readonly drift: OptionalSection<Readonly<Record<string, unknown>>>;
  readonly compliance: readonly ComplianceControl[];
}

/**
 * Drill history: the drill grants of the period (a passed drill certifies its own grant, so a
 * closed drill grant passed; any other state failed or is still running). Newest first.
 */
function drillHistory(grants: readonly Grant[], accounts: readonly AccountRecord[], since: Date): GovernanceReport['drills'] {
  const drills = grants.filter((g) => g.drill === true && g.createdAt.getTime() >= since.getTime());
  const names = new Map(accounts.map((a) => [a.id as string, a.name]));
  return {
    configured: true,
    rows: drills.map((g) => ({ account: names.get(g.accountId) ?? g.accountId, at: g.createdAt.toISOString(), result: g.state === 'closed' ? 'passed' : g.state === 'failed' || g.certification !== undefined ? 'failed' : `running (${g.state})`, grant: g.id })),
  };
}

/**
 * Accounts never drilled or overdue: for each account with a drill schedule, the last drill
 * that passed (at any time) against its `maxAge` at `now`. Accounts without a schedule are
 * listed as such, so an auditor sees which break-glass paths nobody tries.
 */
function drillStatus(grants: readonly Grant[], accounts: readonly AccountRecord[], now: Date): GovernanceReport['drillStatus'] {
  const lastPassed = new Map<string, number>();
  for (const g of grants) {
    if (g.drill !== true || g.state !== 'closed') continue;
    lastPassed.set(g.accountId, Math.max(lastPassed.get(g.accountId) ?? 0, g.createdAt.getTime()));
  }
  return {
    configured: true,
    rows: accounts.map((a) => {
      const last = lastPassed.get(a.id);
      const { status } = drillStanding(a, last === undefined ? undefined : new Date(last), now);
      return { account: a.name, schedule: a.drill?.schedule ?? '', lastPassed: last === undefined ? '' : new Date(last).toISOString(), status };
    }),
  };
}

/** Drift findings of the period: those still open, and those first seen since `since`. */
async function driftFindings(tx: StoreTx, since: Date): Promise<GovernanceReport['drift']> {
  const findings = (await tx.drift.list(1_000)).filter((f) => f.resolvedAt === undefined || f.firstSeen.getTime() >= since.getTime());
  return {
    configured: true,
    rows: findings.map((f) => ({
      account: f.account,
      kind: f.kind,
      detail: f.detail,
      firstSeen: f.firstSeen.toISOString(),
      lastSeen: f.lastSeen.toISOString(),
      resolved: f.resolvedAt?.toISOString() ?? 'open',
      acknowledged: f.ackedBy === undefined ? 'no' : `${f.ackedBy}: ${f.ackedReason ?? ''}`,
    })),
  };
}

/** The catalog's accounts, and the retired ones that cases of the period used. */
async function accountFacts(tx: StoreTx, grants: readonly Grant[]): Promise<Map<string, AccountFacts>> {
  const policies = new Map((await tx.catalog.listPolicies()).map((policy) => [policy.id as string, policy]));
  const accounts = await tx.catalog.listAccounts();
  const listed = new Set(accounts.map((account) => account.id as string));
  for (const accountId of new Set(grants.map((grant) => grant.accountId))) {
    const retired = listed.has(accountId) ? undefined : await tx.catalog.findAccountById(accountId);
    if (retired) accounts.push(retired);
  }
  const facts = new Map<string, AccountFacts>();
  for (const account of accounts) {
    const policy = policies.get(account.policyId) ?? (await tx.catalog.findPolicyById(account.policyId));
    facts.set(account.id, { name: account.name, mode: account.mode, secretVersion: account.secretVersion, policy });
  }
  return facts;
}

/**
 * The governance report for the cases created at or after `since`.
 * @example const report = await governanceReport(ctx, actor, { since: new Date(Date.now() - 90 * 86_400_000) });
 */
export async function governanceReport(ctx: ModuleContext, actor: Actor, input: { since: Date }): Promise<GovernanceReport> {
  authorize(actor, 'report.read');
  const now = ctx.clock.now();
  return ctx.store.transaction(async (tx) => {
    // The head first: every grant change appends to the chain in its own transaction, so with
    // the head held the grants read next are exactly those the stated head accounts for.
    const head = await tx.audit.lockHead();
    const checkpoint = await tx.audit.lastCheckpoint();
    const all = await tx.grants.list({});
    // A drill is no incident: it counts in the drill history, not in the usage figures.
    const inPeriod = all.filter((grant) => grant.createdAt >= input.since && grant.drill !== true);
    const facts = await accountFacts(tx, inPeriod);
    const accounts = await tx.catalog.listAccounts();
    return {
      generatedAt: now.toISOString(),
      since: input.since.toISOString(),
      auditHead: { seq: head.seq, hash: head.hash },
      checkpoint: checkpoint ? { seq: checkpoint.seq, at: checkpoint.at.toISOString(), signaturePrefix: checkpoint.signature.slice(0, 16) } : null,
      figures: governanceFigures(inPeriod, facts, now, all),
      drills: drillHistory(all, accounts, input.since),
      drillStatus: drillStatus(all, accounts, now),
      drift: await driftFindings(tx, input.since),
      compliance: complianceMap,
    };
  });
}
