import { authorize, type Actor } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';

export interface AccountView {
  readonly name: string;
  readonly target: string;
  readonly type: string;
  readonly mode: string;
  readonly principal: string;
  readonly policy: string;
  readonly staging: string;
}

/** The declared accounts with their target and policy names (no secrets). */
export async function listAccounts(ctx: Pick<ModuleContext, 'store'>, actor: Actor): Promise<AccountView[]> {
  authorize(actor, 'catalog.read');
  return ctx.store.transaction(async (tx) => {
    const [accounts, targets, policies] = await Promise.all([tx.catalog.listAccounts(), tx.catalog.listTargets(), tx.catalog.listPolicies()]);
    const targetById = new Map(targets.map((t) => [t.id, t]));
    const policyById = new Map(policies.map((p) => [p.id, p]));
    return accounts.map((a) => ({
      name: a.name,
      target: targetById.get(a.targetId)?.name ?? a.targetId,
      type: targetById.get(a.targetId)?.type ?? 'unknown',
      mode: a.mode,
      principal: a.principal,
      policy: policyById.get(a.policyId)?.name ?? a.policyId,
      staging: a.staging,
    }));
  });
}
