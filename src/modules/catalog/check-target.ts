import { authorize, type Actor } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { assertVerifiable } from '../secrets/verified-rotation.js';
import { prestagedOps, withConnector } from '../targets.js';

export interface TargetCheck {
  readonly target: string;
  readonly reachable: boolean;
  readonly error?: string;
  /** Per pre-staged account: can a rotation of it be proven on this target? */
  readonly accounts: { account: string; principal: string; verifiable: boolean; error?: string }[];
}

/**
 * `breakglass target check NAME`: reaches the target with its stored admin secret and asks, for
 * every pre-staged account on it, whether the target rejects a wrong password — the probe that
 * staging runs, on demand. Changes nothing on the target.
 */
export async function checkTarget(ctx: ModuleContext, actor: Actor, name: string): Promise<TargetCheck> {
  authorize(actor, 'target.check');
  const { target, accounts } = await ctx.store.transaction(async (tx) => {
    const target = (await tx.catalog.listTargets()).find((t) => t.name === name);
    if (!target) throw appError.notFound(`target "${name}"`);
    const accounts = (await tx.catalog.listAccounts()).filter((a) => a.mode === 'prestaged' && a.targetId === target.id);
    return { target, accounts };
  });
  try {
    return await withConnector(ctx, target, async (connector) => {
      const results: TargetCheck['accounts'][number][] = [];
      for (const account of accounts) {
        try {
          await assertVerifiable(prestagedOps(connector, target), target, account.principal);
          results.push({ account: account.name, principal: account.principal, verifiable: true });
        } catch (error) {
          if (!(error instanceof AppError) || error.code !== 'unverifiable') throw error;
          results.push({ account: account.name, principal: account.principal, verifiable: false, error: error.message });
        }
      }
      return { target: target.name, reachable: true, accounts: results };
    });
  } catch (error) {
    if (!(error instanceof AppError) || (error.code !== 'target_unavailable' && error.code !== 'target_error')) throw error;
    return { target: target.name, reachable: false, error: error.message, accounts: [] };
  }
}
