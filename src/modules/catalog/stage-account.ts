import { generatePassword } from '../../crypto/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { loadAccountTarget, prestagedOps, withConnector } from '../targets.js';
import { sealAccountSecret } from '../custodians/account-secret.js';
import { restoreStandby } from '../custodians/standby.js';

/**
 * Puts a pre-staged account in its standing state on the target: it exists, cannot log in,
 * and has a fresh random secret that Breakglass alone knows, sealed. The secret is verified
 * on the target before it is recorded.
 */
export async function stageAccount(ctx: ModuleContext, account: AccountRecord): Promise<void> {
  const target = await ctx.store.transaction((tx) => loadAccountTarget(tx, account));
  const secret = generatePassword();
  await withConnector(ctx, target, async (connector) => {
    const ops = prestagedOps(connector, target);
    await ops.stage(account.principal, secret, account.spec);
    const verdict = await ops.verify({ username: account.principal, password: secret });
    if (verdict !== 'accepted') {
      throw new AppError('target_error', `target "${target.name}" did not accept the staged secret of "${account.principal}"`);
    }
    await restoreStandby(ops, account);
  });
  const version = account.secretVersion + 1;
  await ctx.store.transaction(async (tx) => {
    await tx.catalog.setAccountSecret(account.id, await sealAccountSecret(ctx, tx, account, secret, version), version);
    await ctx.audit.append(tx, {
      actor: 'system',
      action: 'account.staged',
      subject: account.name,
      details: { target: target.name, principal: account.principal, secretVersion: version },
    });
  });
}
