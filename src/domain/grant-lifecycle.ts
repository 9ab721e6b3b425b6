import { AppError } from '../errors/index.js';
import type { Actor, Certification, Grant, GrantState } from './types.js';

/**
 * The case lifecycle of DESIGN.md §2 as one pure function of (grant, event, clock).
 * Every transition the engine makes goes through `transition`; a transition that is not
 * listed here is refused with `invalid_transition`, whatever the caller believes.
 */
export type GrantEvent =
  | { readonly type: 'quorum-reached' }
  | { readonly type: 'quorum-expired' }
  | { readonly type: 'activate' }
  | { readonly type: 'activation-failed'; readonly reason: string }
  | { readonly type: 'deny' }
  | { readonly type: 'cancel' }
  | { readonly type: 'expire' }
  | { readonly type: 'end' }
  | { readonly type: 'revocation-verified' }
  | { readonly type: 'rotation-started' }
  | { readonly type: 'rotation-verified' }
  | { readonly type: 'certification-requested' }
  | {
      readonly type: 'certify';
      readonly actor: Actor;
      readonly answers: Pick<Certification, 'necessary' | 'scoped' | 'removed' | 'note'>;
    };

export type GrantEventType = GrantEvent['type'];

/** States from which nothing moves any more. */
export const terminalStates: readonly GrantState[] = ['closed', 'denied', 'cancelled', 'failed', 'expired'];

/** States in which a credential may still be usable on the target: revocation is owed. */
export const liveStates: readonly GrantState[] = ['active', 'revoking'];

const certifierRoles = new Set(['incident-owner', 'admin']);

function refuse(grant: Grant, event: GrantEvent): never {
  throw new AppError(
    'invalid_transition',
    `grant ${grant.id} is ${grant.state}; "${event.type}" is not allowed in that state`,
  );
}

function expect(grant: Grant, event: GrantEvent, ...states: GrantState[]): void {
  if (!states.includes(grant.state)) refuse(grant, event);
}

/**
 * Applies one event to a grant and returns the new grant. Throws `AppError` with
 * `invalid_transition`, `separation_of_duties` or `forbidden` when the event is not allowed.
 * @example transition(grant, { type: 'expire' }, clock.now())
 */
export function transition(grant: Grant, event: GrantEvent, now: Date): Grant {
  switch (event.type) {
    case 'quorum-reached':
      expect(grant, event, 'awaiting-quorum');
      if (now.getTime() >= grant.expiresAt.getTime()) {
        throw new AppError('invalid_transition', `the quorum window of grant ${grant.id} closed before the last share arrived`);
      }
      // The TTL counts from the release: time spent gathering custodians is not taken from it.
      return { ...grant, state: 'requested', expiresAt: new Date(now.getTime() + grant.ttlMs) };
    case 'quorum-expired':
      expect(grant, event, 'awaiting-quorum');
      if (now.getTime() < grant.expiresAt.getTime()) {
        throw new AppError('invalid_transition', `the quorum window of grant ${grant.id} is still open`);
      }
      return { ...grant, state: 'expired', closedAt: now };
    case 'activate':
      expect(grant, event, 'requested');
      return { ...grant, state: 'active', activatedAt: now };
    case 'activation-failed':
      expect(grant, event, 'requested');
      return { ...grant, state: 'failed', failure: event.reason, closedAt: now };
    case 'deny':
      expect(grant, event, 'requested');
      return { ...grant, state: 'denied', closedAt: now };
    case 'cancel':
      expect(grant, event, 'requested', 'awaiting-quorum');
      return { ...grant, state: 'cancelled', closedAt: now };
    case 'expire':
      expect(grant, event, 'active');
      if (now.getTime() < grant.expiresAt.getTime()) {
        throw new AppError('invalid_transition', `grant ${grant.id} has not reached its expiry yet`);
      }
      return { ...grant, state: 'revoking', endedAt: now, endReason: 'expired' };
    case 'end':
      expect(grant, event, 'active');
      return { ...grant, state: 'revoking', endedAt: now, endReason: 'ended' };
    case 'revocation-verified':
      expect(grant, event, 'revoking');
      return { ...grant, state: 'revoked', revokedAt: now };
    case 'rotation-started':
      expect(grant, event, 'revoked');
      if (grant.mode !== 'prestaged') refuse(grant, event);
      return { ...grant, state: 'rotating' };
    case 'rotation-verified':
      expect(grant, event, 'rotating');
      return { ...grant, state: 'awaiting-certification', rotatedAt: now };
    case 'certification-requested':
      // Only ephemeral credentials skip rotation: they no longer exist once revoked.
      expect(grant, event, 'revoked');
      if (grant.mode !== 'ephemeral') refuse(grant, event);
      return { ...grant, state: 'awaiting-certification' };
    case 'certify':
      return certify(grant, event, now);
  }
}

function certify(grant: Grant, event: Extract<GrantEvent, { type: 'certify' }>, now: Date): Grant {
  expect(grant, event, 'awaiting-certification');
  const { actor, answers } = event;
  if (actor.id === grant.requesterId) {
    throw new AppError(
      'separation_of_duties',
      'the requester of a grant cannot certify it; ask the incident owner',
    );
  }
  if (!actor.roles.some((role) => certifierRoles.has(role))) {
    throw new AppError('forbidden', 'certifying needs the incident-owner or admin role');
  }
  const certification: Certification = { ...answers, by: actor.id, byName: actor.name, at: now };
  return { ...grant, state: 'closed', certification, closedAt: now };
}

/**
 * May this actor see the credential of this grant now? Only the requester, only while the
 * grant is active and unexpired, and only once.
 */
export function checkReveal(grant: Grant, actor: Actor, now: Date): void {
  if (actor.id !== grant.requesterId) {
    throw new AppError('forbidden', 'only the requester of a grant can reveal its credential');
  }
  if (grant.state !== 'active' || now.getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `grant ${grant.id} is ${grant.state}; nothing to reveal`);
  }
  if (grant.revealedAt !== undefined) {
    throw new AppError('already_revealed', `the credential of grant ${grant.id} was already revealed`);
  }
}

/** Who may end a grant early: its requester, an incident owner or an admin. */
export function checkEnd(grant: Grant, actor: Actor): void {
  const allowed =
    actor.id === grant.requesterId || actor.roles.some((role) => certifierRoles.has(role));
  if (!allowed) throw new AppError('forbidden', 'only the requester, an incident owner or an admin can end a grant');
}
