import type { Grant } from '../../domain/index.js';
import type { StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/**
 * Issue 11 (H3): a policy's `certifyWithin`. When a case reaches `awaiting-certification`, a
 * durable `certification-deadline` job is written in the same transaction, due at the deadline
 * (counted from that moment), so a restart loses nothing. When it runs and the case still awaits
 * certification, the case becomes certification-overdue: `certificationOverdueAt` is set through
 * the lifecycle, audited once as `grant.certification-deadline-passed` (which raises the alert of
 * that name). The case stays `awaiting-certification` and certifiable: everything that counts
 * uncertified cases (metrics, the report, `requireCertifiedPrevious`) still counts it.
 */
export async function scheduleCertificationDeadline(ctx: Pick<ModuleContext, 'clock'>, tx: StoreTx, before: Grant, after: Grant): Promise<void> {
  if (after.state !== 'awaiting-certification' || before.state === 'awaiting-certification') return;
  // A drill certifies itself in the same transaction: no person owes a certification.
  if (after.drill === true) return;
  const account = await tx.catalog.findAccountById(after.accountId);
  const policy = account === undefined ? undefined : await tx.catalog.findPolicyById(account.policyId);
  if (policy?.certifyWithinMs === undefined) return;
  await tx.jobs.schedule({ kind: 'certification-deadline', grantId: after.id, dueAt: new Date(ctx.clock.now().getTime() + policy.certifyWithinMs) });
}

