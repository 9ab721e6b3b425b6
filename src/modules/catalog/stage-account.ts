import { generatePassword } from '../../crypto/index.js';
import type { AccountId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { recordAccountSecret } from '../custodians/account-secret.js';
import { restoreStandby } from '../custodians/standby.js';
import { loadTarget } from '../grants/grant-store.js';
import { assertVerifiable, recordOrResync } from '../secrets/verified-rotation.js';
import { prestagedOps, withConnector } from '../targets.js';
import { mayAdopt, stagingMark } from './staging-mark.js';

/**
 * Puts a pre-staged account that waits for staging in its standing state on the target: it
 * exists, cannot log in, and has a fresh random secret that Breakglass alone knows, sealed. The
 * secret is verified on the target before it is recorded. Does nothing for an account that is
 * already staged (the job and `apply` may both try). Returns whether it staged.
 */
export async function stageAccount(ctx: ModuleContext, accountId: AccountId): Promise<boolean> {
  return ctx.accountLocks.run(accountId, async () => {
    const { account, target, key } = await ctx.store.transaction(async (tx) => {
      const account = await tx.catalog.findAccountById(accountId);
      if (!account) return {};
      return { account, target: await loadTarget(tx, account), key: account.quorum ? await tx.catalog.getCustodianKey(accountId) : undefined };
    });
    if (!account || !target || account.mode !== 'prestaged' || account.staging !== 'pending') return false;
    // Checked before the target is touched: a dual-control secret is sealed to the ceremony's key.
    if (account.quorum && !key) throw new AppError('conflict', `account "${account.name}" needs its key ceremony first: breakglass ceremony ${account.name}`);
    const secret = generatePassword();
    await withConnector(ctx, target, async (connector) => {
      const ops = prestagedOps(connector, target);
      await ops.stage(account.principal, secret, account.spec, { adopt: mayAdopt(account, target) });
      const verdict = await ops.verify({ username: account.principal, password: secret });
      if (verdict !== 'accepted') {
        throw new AppError('target_error', `target "${target.name}" did not accept the staged secret of "${account.principal}"`);
      }
      await assertVerifiable(ops, target, account.principal);
      await restoreStandby(ops, account);
    });
    await recordOrResync(ctx, accountId, secret, () =>
      ctx.store.transaction(async (tx) => {
        const version = await recordAccountSecret(ctx, tx, account, secret);
        await tx.catalog.markStaged(accountId, stagingMark(target, account.principal));
        await ctx.audit.append(tx, {
          actor: 'system',
          action: 'account.staged',
          subject: account.name,
          details: { target: target.name, principal: account.principal, secretVersion: version },
        });
        return true;
      }),
    );
    return true;
  });
}

