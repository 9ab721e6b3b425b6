import { transition, type Actor, type Grant, type GrantEvent, type GrantId } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { StoreTx } from '../../ports/index.js';
import type { AuditEntry } from '../audit/audit-log.js';
import type { ModuleContext } from '../context.js';

export async function loadGrant(tx: StoreTx, id: GrantId): Promise<Grant> {
  const grant = await tx.grants.findById(id);
  if (!grant) throw appError.notFound(`grant ${id}`);
  return grant;
}

/**
 * Applies a lifecycle event and writes the new grant with its audit event in the caller's
 * transaction: the only way the engine changes a grant's state (invariant I2).
 */
export async function applyEvent(
  ctx: Pick<ModuleContext, 'audit' | 'clock'>,
  tx: StoreTx,
  grant: Grant,
  event: GrantEvent,
  actor: Actor | 'system',
  details: AuditEntry['details'] = {},
): Promise<Grant> {
  const next = transition(grant, event, ctx.clock.now());
  await tx.grants.update(next, grant.state);
  await ctx.audit.append(tx, {
    actor: actor === 'system' ? 'system' : actor.name,
    action: `grant.${event.type}`,
    subject: grant.id,
    details: { from: grant.state, to: next.state, ...details },
  });
  return next;
}
