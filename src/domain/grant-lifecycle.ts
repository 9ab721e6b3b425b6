import { AppError } from '../errors/index.js';
import { authorize } from './permissions.js';
// issue 11 (H2)
import { formatDuration } from './duration.js';
import type { Actor, ApprovalDecision, Certification, Grant, GrantState, RevocationEvidence } from './types.js';

/**
 * The case lifecycle of DESIGN.md §2 as one pure function of (grant, event, clock).
 * Every transition the engine makes goes through `transition`; a transition that is not
 * listed here is refused with `invalid_transition`, whatever the caller believes.
 */
export type GrantEvent =
  | { readonly type: 'quorum-reached' }
  | { readonly type: 'quorum-expired' }
  | { readonly type: 'activate' }
  /** The one-time reveal of the credential to the requester. */
  | { readonly type: 'reveal' }
  | { readonly type: 'activation-failed'; readonly reason: string }
  | { readonly type: 'deny' }
  | { readonly type: 'cancel' }
  | { readonly type: 'expire' }
  | { readonly type: 'end' }
  | { readonly type: 'revocation-verified'; readonly revocation?: RevocationEvidence }
  | { readonly type: 'rotation-started' }
  | { readonly type: 'rotation-verified' }
  | { readonly type: 'certification-requested' }
  /** A failed activation's cleanup (disable, end sessions) confirmed by the target: the account is free. */
  | { readonly type: 'cleanup-verified' }
  /** A drill whose every step passed certifies itself: it was no incident, and nobody's access to judge. */
  | { readonly type: 'drill-certified' }
  // issue 12 (evidence): a revocation attempt's disable ended sessions; kept before verification.
  /**
   * What one revocation attempt's disable (or revoke) found and ended, recorded as soon as the
   * target answered, before verification: a retry after a failed verification (or a crash) finds
   * nothing left, and must not record 0. Added to what earlier attempts recorded.
   */
  | { readonly type: 'sessions-ended'; readonly sessionsBefore: number; readonly sessionsEnded: number }
  // issue 11 (H2): bounds. An extension moves the expiry within the policy's limits (given with the event).
  | { readonly type: 'extend'; readonly byMs: number; readonly limits: ExtensionLimits }
  /** The grant's incident was closed: an active grant ends (revocation follows), like `end`. */
  | { readonly type: 'incident-closed' }
  | {
      readonly type: 'certify';
      readonly actor: Actor;
      readonly answers: Pick<Certification, 'necessary' | 'scoped' | 'removed' | 'note' | 'misuseSuspected'>;
    }
  // issue 11 (H3): the policy's `certifyWithin` passed while the case awaited certification (the case stays certifiable).
  | { readonly type: 'certification-deadline-passed' }
  // issue 11 (H3): an admin (never the requester) ends the review of a case certified with misuse suspected.
  | { readonly type: 'resolve'; readonly actor: Actor; readonly note: string }
  // issue 11 (H1): approvals before activation, and the escalation when nobody answers.
  | ApprovalEvent;

/**
 * Issue 11 (H1). `quorumWindowMs`: the account's custodian window when it also needs a quorum
 * (approval first, then the custodians), so the lifecycle knows where the case goes next.
 */
export type ApprovalEvent =
  | { readonly type: 'approve'; readonly actor: Actor; readonly note: string; readonly threshold: number; readonly quorumWindowMs: number | undefined }
  | { readonly type: 'approval-denied'; readonly actor: Actor; readonly note: string }
  | { readonly type: 'approval-expired' }
  | { readonly type: 'escalate'; readonly reason2: string; readonly afterMs: number; readonly quorumWindowMs: number | undefined };

export type GrantEventType = GrantEvent['type'];

// issue 11 (H2): the policy's extension limits, carried by the `extend` event so the rule stays here.
export interface ExtensionLimits {
  readonly policy: string;
  readonly maxTtlMs: number;
  readonly maxExtensions: number | undefined;
  readonly maxTotalMs: number | undefined;
}

/**
 * States in which a grant holds its account: access was or may be given and is not yet proven
 * gone (revocation, rotation or a failed activation's cleanup still owed), or a quorum request
 * may still release it. While any grant holds an account, no second grant, ceremony or catalog
 * change may take it. A `failed` grant holds it until its cleanup is verified (`revokedAt`),
 * because the activation may have half-enabled the account.
 */
export const holdingStates: readonly GrantState[] = ['awaiting-quorum', 'requested', 'active', 'revoking', 'revoked', 'rotating',
  // issue 11 (H1): a request waiting for its approvers holds the account as one waiting for custodians does.
  'awaiting-approval'];

/** Does this grant still hold its account? The one definition; the store filters with the same rule. */
export function holdsAccount(grant: Pick<Grant, 'state' | 'revokedAt'>): boolean {
  return holdingStates.includes(grant.state) || (grant.state === 'failed' && grant.revokedAt === undefined);
}

/** Is the account enabled for this grant right now, or about to be? Revoking another grant must not cut it off. */
export function usesAccountNow(grant: Pick<Grant, 'state'>): boolean {
  return grant.state === 'requested' || grant.state === 'active';
}

// issue 12 (evidence): revocation attempts add up.
/**
 * The revocation evidence after one more attempt: the sessions it ended add to those ended
 * before; the sessions seen are at least those ended before plus those this attempt saw (an
 * attempt that ended fewer than it saw leaves them for the next one to see again). Until
 * verification replaces it, `sessionsAfter` is what the connectors said they left.
 */
export function addSessionsEnded(earlier: RevocationEvidence | undefined, attempt: { readonly sessionsBefore: number; readonly sessionsEnded: number }): RevocationEvidence {
  const endedBefore = earlier?.sessionsEnded ?? 0;
  const sessionsEnded = endedBefore + attempt.sessionsEnded;
  const sessionsBefore = Math.max(earlier?.sessionsBefore ?? 0, endedBefore + attempt.sessionsBefore, sessionsEnded);
  return { sessionsBefore, sessionsEnded, sessionsAfter: Math.max(0, attempt.sessionsBefore - attempt.sessionsEnded) };
}

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
    case 'reveal':
      checkReveal(grant, now);
      return { ...grant, revealedAt: now };
    case 'activation-failed':
      expect(grant, event, 'requested');
      return { ...grant, state: 'failed', failure: event.reason, closedAt: now };
    case 'deny':
      expect(grant, event, 'requested');
      return { ...grant, state: 'denied', closedAt: now };
    case 'cancel':
      expect(grant, event, 'requested', 'awaiting-quorum', /* issue 11 (H1) */ 'awaiting-approval');
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
      return { ...grant, state: 'revoked', revokedAt: now, ...(event.revocation === undefined ? {} : { revocation: event.revocation }) };
    // issue 12 (evidence)
    case 'sessions-ended':
      expect(grant, event, 'revoking');
      return { ...grant, revocation: addSessionsEnded(grant.revocation, event) };
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
    case 'cleanup-verified':
      // Repeated cleanups are allowed: a late enable after the first one is undone the same way.
      expect(grant, event, 'failed');
      return { ...grant, revokedAt: now };
    // issue 11 (H2): bounds
    case 'extend':
      return extend(grant, event, now);
    case 'incident-closed':
      expect(grant, event, 'active');
      return { ...grant, state: 'revoking', endedAt: now, endReason: 'incident-closed' };
    case 'certify':
      return certify(grant, event, now);
    case 'drill-certified':
      expect(grant, event, 'awaiting-certification');
      if (grant.drill !== true) refuse(grant, event);
      return { ...grant, state: 'closed', closedAt: now };
    // issue 11 (H1): approvals and escalation.
    case 'approve':
    case 'approval-denied':
    case 'approval-expired':
    case 'escalate':
      return approvalTransition(grant, event, now);
    // issue 11 (H3): certification deadline and review.
    case 'certification-deadline-passed':
      expect(grant, event, 'awaiting-certification');
      if (grant.certificationOverdueAt !== undefined) refuse(grant, event);
      return { ...grant, certificationOverdueAt: now };
    case 'resolve':
      expect(grant, event, 'under-review');
      authorize(event.actor, 'grant.resolve', { grant });
      return { ...grant, state: 'closed', closedAt: now, resolution: { by: event.actor.id, byName: event.actor.name, at: now, note: event.note } };
  }
}

// issue 11 (H1): approvals, denial, the approval window, escalation. Who may approve at all
// (the policy's approvers) is the permission table's `grant.approve`; the lifecycle holds the
// separation of duties that needs only the case: never the requester, one slot per person.
function approvalTransition(grant: Grant, event: ApprovalEvent, now: Date): Grant {
  expect(grant, event, 'awaiting-approval');
  if (event.type === 'approval-expired') {
    if (now.getTime() < grant.expiresAt.getTime()) throw new AppError('invalid_transition', `the approval window of grant ${grant.id} is still open`);
    return { ...grant, state: 'expired', closedAt: now };
  }
  if (now.getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `the approval window of grant ${grant.id} closed at ${grant.expiresAt.toISOString()}`);
  }
  const approvals = grant.approvals ?? [];
  if (event.type === 'escalate') {
    const allowedAt = new Date(grant.createdAt.getTime() + event.afterMs);
    if (now.getTime() < allowedAt.getTime()) {
      throw new AppError('policy_violation', `escalate.after: escalation is allowed from ${allowedAt.toISOString()}, once the approvers have had their time`);
    }
    return proceed({ ...grant, escalated: true, escalationReason: event.reason2 }, event.quorumWindowMs, now);
  }
  const { actor } = event;
  const verb = event.type === 'approve' ? 'approve' : 'deny';
  if (actor.id === grant.requesterId) throw new AppError('separation_of_duties', `the requester of a grant cannot ${verb} it; one of the policy's approvers must`);
  if (actor.tokenCreatorId !== undefined && actor.tokenCreatorId === grant.requesterId) {
    throw new AppError('separation_of_duties', `this token was created by the requester of the grant; ${verb} with a token of your own`);
  }
  if (approvals.some((a) => a.by === actor.id)) {
    throw new AppError('separation_of_duties', `${actor.name} already decided on grant ${grant.id}; each approval must come from a different person`);
  }
  const decision: ApprovalDecision = { by: actor.id, byName: actor.name, at: now, decision: event.type === 'approve' ? 'approved' : 'denied', note: event.note };
  const decided = { ...grant, approvals: [...approvals, decision] };
  if (event.type === 'approval-denied') return { ...decided, state: 'denied', closedAt: now };
  const approved = decided.approvals.filter((a) => a.decision === 'approved').length;
  return approved >= event.threshold ? proceed(decided, event.quorumWindowMs, now) : decided;
}

/** Approval first, then the custodians: the quorum window, or else the TTL, starts when the approvals are in. */
function proceed(grant: Grant, quorumWindowMs: number | undefined, now: Date): Grant {
  if (quorumWindowMs !== undefined) return { ...grant, state: 'awaiting-quorum', expiresAt: new Date(now.getTime() + quorumWindowMs) };
  return { ...grant, state: 'requested', expiresAt: new Date(now.getTime() + grant.ttlMs) };
}

// issue 11 (H2): an extension, within `maxExtensions` (count) and `maxTotal` (lifetime from activation).
function extend(grant: Grant, event: Extract<GrantEvent, { type: 'extend' }>, now: Date): Grant {
  expect(grant, event, 'active');
  if (now.getTime() >= grant.expiresAt.getTime()) refuse(grant, event);
  const { byMs, limits } = event;
  if (!Number.isInteger(byMs) || byMs <= 0) throw new AppError('validation', 'an extension must be longer than 0', { path: 'by' });
  if (byMs > limits.maxTtlMs) {
    throw new AppError('validation', `an extension may be at most the policy's maxTtl (${formatDuration(limits.maxTtlMs)}) at a time`, { path: 'by' });
  }
  const done = grant.extensions ?? 0;
  const allowed = limits.maxExtensions ?? 0;
  if (done >= allowed) {
    throw new AppError('policy_violation', `maxExtensions: policy "${limits.policy}" allows ${allowed} extension(s) and grant ${grant.id} has had ${done}; end it and invoke again`);
  }
  const expiresAt = new Date(grant.expiresAt.getTime() + byMs);
  const start = (grant.activatedAt ?? grant.createdAt).getTime();
  if (limits.maxTotalMs !== undefined && expiresAt.getTime() - start > limits.maxTotalMs) {
    const left = Math.max(0, start + limits.maxTotalMs - grant.expiresAt.getTime());
    throw new AppError(
      'policy_violation',
      `maxTotal: policy "${limits.policy}" lets a grant live at most ${formatDuration(limits.maxTotalMs)} from activation; at most ${formatDuration(left)} more can be added to grant ${grant.id}`,
    );
  }
  return { ...grant, expiresAt, extensions: done + 1 };
}

function certify(grant: Grant, event: Extract<GrantEvent, { type: 'certify' }>, now: Date): Grant {
  expect(grant, event, 'awaiting-certification');
  const { actor, answers } = event;
  // I5 is part of the lifecycle: no close without someone other than the requester. The rule's home is the permission table.
  authorize(actor, 'grant.certify', { grant });
  const certification: Certification = { ...answers, by: actor.id, byName: actor.name, at: now };
  // issue 11 (H3): misuse suspected keeps the case open, under review, until an admin resolves it.
  if (answers.misuseSuspected === true) return { ...grant, state: 'under-review', certification };
  return { ...grant, state: 'closed', certification, closedAt: now };
}

/**
 * Can the credential of this grant be revealed now? Only while the grant is active and
 * unexpired, only once, and never for a drill. (Who may reveal is the permission table's `grant.reveal`.)
 */
export function checkReveal(grant: Grant, now: Date): void {
  // A drill's credential is the drill's own (for a dual-control account, one no custodian released).
  if (grant.drill === true) throw new AppError('invalid_transition', `grant ${grant.id} is a drill; its credential is never revealed`);
  if (grant.state !== 'active' || now.getTime() >= grant.expiresAt.getTime()) {
    throw new AppError('invalid_transition', `grant ${grant.id} is ${grant.state}; nothing to reveal`);
  }
  if (grant.revealedAt !== undefined) {
    throw new AppError('already_revealed', `the credential of grant ${grant.id} was already revealed`);
  }
}
