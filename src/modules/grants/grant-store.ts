import { newId } from '../../crypto/index.js';
import { asGrantId, grantEventActions, transition, type Actor, type Grant, type GrantEvent, type GrantId } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { AccountRecord, StoreReadTx, StoreTx, TargetRecord } from '../../ports/index.js';
import type { AuditEntry } from '../audit/audit-log.js';
import type { ModuleContext } from '../context.js';
import { scheduleCertificationDeadline } from './certification-deadline-job.js';

export type { GrantChange, GrantObserver } from './grant-observer.js';

export async function loadGrant(tx: Pick<StoreReadTx, 'grants'>, id: GrantId): Promise<Grant> {
  const grant = await tx.grants.findById(id);
  if (!grant) throw appError.notFound(`grant ${id}`);
  return grant;
}

/** What a new grant is given; everything that happens to it later starts out unset. */
export type NewGrant = Pick<Grant, 'accountId' | 'requesterId' | 'requesterName' | 'condition' | 'reason' | 'incident' | 'state' | 'mode' | 'createdAt' | 'expiresAt' | 'ttlMs'> &
  Pick<Grant, 'drill'> &
  // issue 11 (H2)
  Pick<Grant, 'overrideReason'>;

/** A new grant with a fresh id (invoke, drills), not yet inserted. */
export function newGrant(fields: NewGrant): Grant {
  return {
    id: asGrantId(newId('gr_')),
    activatedAt: undefined,
    endedAt: undefined,
    endReason: undefined,
    revokedAt: undefined,
    rotatedAt: undefined,
    revealedAt: undefined,
    closedAt: undefined,
    certification: undefined,
    failure: undefined,
    ...fields,
  };
}

/** A case with what it acts on: the grant, its account, and the account's target. */
export interface Case {
  readonly grant: Grant;
  readonly account: AccountRecord;
  readonly target: TargetRecord;
}

/** Loads an account's target, or fails with not_found. */
export async function loadTarget(tx: Pick<StoreReadTx, 'catalog'>, account: AccountRecord): Promise<TargetRecord> {
  const target = await tx.catalog.findTargetById(account.targetId);
  if (!target) throw appError.notFound(`target of account "${account.name}"`);
  return target;
}

/** The one way a case is loaded: grant, account and target, or not_found naming what is missing. */
export async function loadCase(tx: Pick<StoreReadTx, 'grants' | 'catalog'>, id: GrantId): Promise<Case> {
  const grant = await loadGrant(tx, id);
  const account = await tx.catalog.findAccountById(grant.accountId);
  if (!account) throw appError.notFound(`account of grant ${id}`);
  return { grant, account, target: await loadTarget(tx, account) };
}

/**
 * Applies a lifecycle event and writes the new grant with its audit event (and whatever the
 * observers write) in the caller's transaction: the only way any field of a grant changes
 * after it is created (invariant I2). The audit name comes from the closed map of the domain.
 */
export async function applyEvent(
  ctx: Pick<ModuleContext, 'audit' | 'clock' | 'grantObservers'>,
  tx: StoreTx,
  grant: Grant,
  event: GrantEvent,
  actor: Actor | 'system',
  details: AuditEntry['details'] = {},
): Promise<Grant> {
  const next = transition(grant, event, ctx.clock.now());
  await tx.grants.update(next, grant);
  const actorName = actor === 'system' ? 'system' : actor.name;
  const audit = await ctx.audit.append(tx, {
    actor: actorName,
    action: grantEventActions[event.type],
    subject: grant.id,
    details: { from: grant.state, to: next.state, ...details },
  });
  for (const observe of ctx.grantObservers) await observe(tx, { before: grant, after: next, event, actor: actorName, audit });
  // issue 11 (H3): the certification deadline job is written with the change that makes a case await certification.
  await scheduleCertificationDeadline(ctx, tx, grant, next);
  return next;
}
