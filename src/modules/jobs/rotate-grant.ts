import type { GrantId } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { recordAccountSecret } from '../custodians/account-secret.js';
import { releasedPassword } from '../grants/grant-credential.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { openAccountSecret } from '../targets.js';
import { unleased, type JobLease } from './job-lease.js';
import { recordOrResync, rotateWithEvidence } from '../secrets/verified-rotation.js';

/**
 * Rotates the pre-staged secret after use and proves it: the old secret is rejected and the
 * new one accepted by the target before the new one is sealed and the grant moves on. Holds the
 * account's lock throughout, so a second rotation of the same account waits and then finds
 * nothing left to do.
 */
export async function rotateGrant(ctx: ModuleContext, grantId: GrantId, lease: JobLease = unleased): Promise<void> {
  const { accountId } = await ctx.store.transaction((tx) => loadGrant(tx, grantId));
  await ctx.accountLocks.run(accountId, async () => {
    const c = await ctx.store.transaction((tx) => loadCase(tx, grantId));
    if (c.grant.state !== 'rotating') return;
    const oldSecret = await previousSecret(ctx, c);
    // Fenced: a worker whose lease passed to another stops before it touches the target, and
    // cannot record afterwards. A target changed in between is set right by recordOrResync.
    await lease.assertHeld();
    // The server's answers are the evidence (issue 12, P2): {result, code} for each secret.
    const { newSecret, evidence } = await rotateWithEvidence(ctx, c.account, c.target, oldSecret);
    await recordOrResync(ctx, accountId, newSecret, () =>
      ctx.store.transaction(async (tx) => {
        await lease.checkIn(tx);
        const current = await loadGrant(tx, grantId);
        // Rotated by another instance meanwhile: ours is on the target, theirs recorded.
        if (current.state !== 'rotating') return false;
        const version = await recordAccountSecret(ctx, tx, c.account, newSecret);
        // The released dual-control secret is dead now: wipe it.
        await tx.grants.setCredential(current.id, undefined);
        await applyEvent(ctx, tx, current, { type: 'rotation-verified' }, 'system', {
          target: c.target.name,
          secretVersion: version,
          oldSecret: evidence.oldSecret,
          newSecret: evidence.newSecret,
          standby: c.account.quorum?.offlineAccess === true,
        });
        return true;
      }),
    );
  });
}

/**
 * The secret in use before rotation, to prove it is rejected afterwards. A dual-control secret
 * cannot be opened by the server; it was released into the grant at the quorum.
 */
async function previousSecret(ctx: ModuleContext, { grant, account }: Case): Promise<string> {
  if (!account.quorum) return openAccountSecret(ctx, account);
  const released = await ctx.store.transaction((tx) => releasedPassword(ctx, tx, grant.id));
  if (released === undefined) throw new AppError('integrity', `grant ${grant.id} lost its released secret; rotation cannot prove the old one dead`);
  return released;
}
