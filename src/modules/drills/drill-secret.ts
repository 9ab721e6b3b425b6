import { generatePassword } from '../../crypto/index.js';
import type { GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { recordAccountSecret } from '../custodians/account-secret.js';
import { sealGrantCredential } from '../grants/grant-credential.js';
import { applyEvent, loadCase, loadGrant } from '../grants/grant-store.js';
import { assertVerifiable, recordOrResync } from '../secrets/verified-rotation.js';
import { prestagedOps, withConnector } from '../targets.js';

/**
 * A dual-control account drilled without its custodians: the server cannot open the stored
 * secret, so the drill first sets one of its own on the target, the way rotation changes a
 * secret (under `ctx.accountLocks`, recorded with a compare-and-set on the version, sealed to
 * the custodians' public key like any secret of the account). The drill secret is kept, as a
 * quorum release keeps the released one, only as the grant's credential under the root key;
 * the drill's rotation proves it dead and wipes it. The custodians' shares stay valid: they
 * split the account's private key, not the secret.
 *
 * The old secret is unknown to the server, so only the new one can be proven here: the target
 * accepts it, and rejects a wrong one (a target that accepts any password proves nothing).
 * A failure leaves the grant `failed` with its cleanup job, as a failed enable does: the
 * cleanup rotates the drill secret away if it was recorded.
 */
export async function setDrillSecret(ctx: ModuleContext, grantId: GrantId): Promise<void> {
  const { accountId } = await ctx.store.transaction((tx) => loadGrant(tx, grantId));
  try {
    await ctx.accountLocks.run(accountId, () => setUnderLock(ctx, grantId));
  } catch (error) {
    const reason = error instanceof AppError ? error.message : 'unexpected error setting the drill secret';
    await ctx.store.transaction(async (tx) => {
      const current = await loadGrant(tx, grantId);
      if (current.state === 'requested') await applyEvent(ctx, tx, current, { type: 'activation-failed', reason }, 'system', { drill: true });
      await tx.jobs.schedule({ kind: 'revoke', grantId, dueAt: ctx.clock.now() });
    });
    ctx.wake();
    throw new AppError('target_unavailable', `could not set a drill secret: ${reason}`, { cause: error });
  }
}

async function setUnderLock(ctx: ModuleContext, grantId: GrantId): Promise<void> {
  const secret = generatePassword();
  // Kept in the grant before the target is touched: whatever happens next, a failed grant's
  // cleanup rotates from it to a secret that is recorded, as it does a released one.
  const { grant, account, target } = await ctx.store.transaction(async (tx) => {
    const c = await loadCase(tx, grantId);
    // The expiry job may have failed the grant meanwhile: then the target is not touched.
    if (c.grant.state !== 'requested') throw new AppError('invalid_transition', `grant ${grantId} is ${c.grant.state}`);
    await tx.grants.setCredential(grantId, sealGrantCredential(ctx, grantId, { username: c.account.principal, password: secret }));
    return c;
  });
  await withConnector(ctx, target, async (connector) => {
    const ops = prestagedOps(connector, target);
    await ops.rotate(account.principal, secret);
    await assertVerifiable(ops, target, account.principal);
    const verdict = await ops.verify({ username: account.principal, password: secret });
    if (verdict !== 'accepted') throw new AppError('target_unavailable', `the drill secret of "${account.principal}" on "${target.name}" is ${verdict} by the target`);
  });
  // No resync under our own grant (it holds the account): a lost compare-and-set fails the
  // drill, and the cleanup rotates from the drill secret to one that is recorded.
  const recorded = await recordOrResync(ctx, account.id, secret, () =>
    ctx.store.transaction(async (tx) => {
      const version = await recordAccountSecret(ctx, tx, account, secret);
      await ctx.audit.append(tx, {
        actor: 'system',
        action: 'account.drill-secret-staged',
        subject: account.name,
        details: { grant: grant.id, target: target.name, principal: account.principal, secretVersion: version, newSecret: 'accepted' },
      });
      return true;
    }),
  );
  if (!recorded) throw new AppError('conflict', `the secret of "${account.name}" changed while the drill set its own; the cleanup rotates it`);
}
