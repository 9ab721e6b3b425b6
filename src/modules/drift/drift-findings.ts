/**
 * Reading and acknowledging drift findings: `breakglass drift list` (`GET /v1/drift/findings`,
 * admins and auditors) and `breakglass drift ack ID --reason` (admins; audited
 * `drift.acknowledged`). An acknowledgement says "known, on purpose or being handled"; the
 * finding stays open until a scan no longer sees it.
 */
import { authorize, type Actor } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { DriftFinding } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';

/** Open findings first, then the most recently resolved, `limit` in all (default 200). */
export async function listDriftFindings(ctx: Pick<ModuleContext, 'store'>, actor: Actor, options: { limit?: number } = {}): Promise<DriftFinding[]> {
  authorize(actor, 'drift.read');
  return ctx.store.transaction((tx) => tx.drift.list(options.limit ?? 200));
}

/**
 * @example await acknowledgeDrift(ctx, admin, 'drf_…', 'DBA test window, CHG-12')
 */
export async function acknowledgeDrift(ctx: Pick<ModuleContext, 'store' | 'audit'>, actor: Actor, id: string, reason: string): Promise<DriftFinding> {
  authorize(actor, 'drift.ack');
  if (reason.trim() === '') throw appError.validation('give a reason', 'reason');
  return ctx.store.transaction(async (tx) => {
    const finding = await tx.drift.find(id);
    if (!finding) throw appError.notFound(`drift finding ${id}`);
    await tx.drift.acknowledge(id, actor.name, reason);
    await ctx.audit.append(tx, { actor: actor.name, action: 'drift.acknowledged', subject: finding.account, details: { finding: id, kind: finding.kind, reason } });
    return { ...finding, ackedBy: actor.name, ackedReason: reason };
  });
}
