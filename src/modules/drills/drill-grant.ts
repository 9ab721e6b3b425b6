import type { Actor } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { ModuleContext } from '../context.js';
import { activateGrant } from '../grants/activate-grant.js';
import { loadTarget, newGrant, type Case } from '../grants/grant-store.js';
import { setDrillSecret } from './drill-secret.js';

/** The drill's grant, and where its `grant.requested` event sits in the chain (to read its quorum from). */
export type DrillGrant = Case & { readonly requestedSeq: number };

export interface DrillGrantOptions {
  /** Set by the scheduler: the drill was due, nobody asked for it now. */
  readonly scheduled: boolean;
  /** A dual-control account's grant waits for its custodians (`awaiting-quorum`), as an invocation does. */
  readonly withQuorum: boolean;
}

/**
 * Opens the grant of a drill: the account enabled (pre-staged) or a credential issued (ephemeral)
 * for the policy's default TTL, the grant marked `drill` (never an incident). Like invoke, the expiry job is written with the
 * grant, before the target is touched (I1), and one grant at a time holds the account.
 * A dual-control account either waits for its custodians (`withQuorum`: the grant is returned
 * `awaiting-quorum`, its window the quorum's, like an invocation's), or is drilled without
 * them: a drill secret is set first (`setDrillSecret`), then the account is enabled.
 */
export async function openDrillGrant(ctx: ModuleContext, actor: Actor, accountName: string, options: DrillGrantOptions): Promise<DrillGrant> {
  const now = ctx.clock.now();
  const opened = await ctx.store.transaction(async (tx) => {
    const account = await tx.catalog.findAccountByName(accountName);
    if (!account) throw appError.notFound(`account "${accountName}"`);
    const policy = await tx.catalog.findPolicyById(account.policyId);
    if (!policy) throw appError.notFound(`policy of account "${account.name}"`);
    await tx.catalog.lockAccount(account.id);
    if (account.mode === 'prestaged') {
      if (account.staging !== 'staged') throw appError.conflict(`account "${account.name}" is not staged on its target yet; check the target and apply again`);
      const [busy] = await tx.grants.holdingAccount(account.id);
      if (busy) throw appError.conflict(`account "${account.name}" is in use by grant ${busy.id} (${busy.state}); drill it when that case is over`);
    }
    // Before the target is touched: a drill secret could not be sealed to a key not yet made.
    if (account.quorum && !(await tx.catalog.getCustodianKey(account.id))) throw appError.conflict(`account "${account.name}" needs its key ceremony first: breakglass ceremony ${account.name}`);
    const quorum = options.withQuorum ? account.quorum : undefined;
    const ttlMs = policy.defaultTtlMs;
    const grant = newGrant({
      accountId: account.id,
      requesterId: actor.id,
      requesterName: actor.name,
      condition: 'drill',
      reason: options.scheduled ? 'scheduled drill' : 'drill',
      incident: 'drill',
      // As invoke: the request waits for k custodians' shares; the TTL starts at the release.
      state: quorum ? 'awaiting-quorum' : 'requested',
      mode: account.mode,
      createdAt: now,
      expiresAt: new Date(now.getTime() + (quorum ? quorum.windowMs : ttlMs)),
      ttlMs,
      drill: true,
    });
    await tx.grants.insert(grant);
    await tx.jobs.schedule({ kind: 'expire', grantId: grant.id, dueAt: grant.expiresAt });
    const requested = await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'grant.requested',
      subject: grant.id,
      details: {
        account: account.name,
        condition: 'drill',
        drill: true,
        scheduled: options.scheduled,
        ttlMs,
        expiresAt: grant.expiresAt.toISOString(),
        policy: policy.name,
        ...(account.quorum ? { quorum: quorum ? 'drilled' : 'not drilled' } : {}),
        ...(quorum ? { approval: 'custodians', threshold: quorum.threshold, custodians: quorum.custodians, quorumDeadline: grant.expiresAt.toISOString() } : {}),
      },
    });
    return { grant, account, target: await loadTarget(tx, account), requestedSeq: requested.seq };
  });
  ctx.wake();
  if (opened.grant.state === 'awaiting-quorum') return opened;
  if (opened.account.quorum && opened.account.mode === 'prestaged') await setDrillSecret(ctx, opened.grant.id);
  return { ...opened, grant: await activateGrant(ctx, opened) };
}
