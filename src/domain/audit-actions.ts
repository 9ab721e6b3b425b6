import type { GrantEventType } from './grant-lifecycle.js';

/**
 * Every name the audit chain records, in one closed list, in the past tense: what SIEM rules,
 * alert routes and auditors search for. An append can only use a name from this list. The chain
 * keeps names as data, so chains written before a rename still verify; the list of old names is
 * below for readers of such chains.
 */
export const auditActions = [
  // The case (lifecycle events map here through grantEventActions).
  'grant.requested',
  'grant.quorum-reached',
  'grant.quorum-expired',
  'grant.activated',
  'grant.activation-failed',
  'grant.denied',
  'grant.cancelled',
  'grant.expired',
  'grant.ended',
  'grant.revocation-verified',
  // issue 12 (evidence)
  'grant.sessions-ended',
  'grant.rotation-started',
  'grant.rotation-verified',
  'grant.certification-requested',
  'grant.certified',
  'grant.cleanup-verified',
  'grant.drill-certified',
  'grant.revealed',
  'grant.reveal-refused',
  'grant.share-presented',
  'grant.share-refused',
  // issue 11 (H4): an invocation let through while the incident system was unreachable (onUnreachable: allow).
  'grant.incident-check-bypassed',
  // A credential disabled on its target while the store could not be written (replayed from the journal).
  'grant.offline-disabled',
  // issue 11 (H3): the certification deadline passed (once per case); an admin resolved a case under review.
  'grant.certification-deadline-passed',
  'grant.review-resolved',
  // The catalog and its objects: one event per created, changed or removed object, with a diff.
  'catalog.applied',
  'target.created',
  'target.changed',
  'target.retired',
  'policy.created',
  'policy.changed',
  'policy.retired',
  'account.created',
  'account.changed',
  'account.retired',
  'channel.created',
  'channel.changed',
  'channel.removed',
  'route.created',
  'route.changed',
  'route.removed',
  // Alerting itself: a dead message sent again, a channel's test message and its outcome.
  'alert.retried',
  // Someone (or a signed link in a message) said the alert was seen: its escalation stops.
  'alert.acknowledged',
  'channel.tested',
  // Drift on the targets (issue 10): seen, gone (with first/last seen), acknowledged, fixed by the scan.
  'drift.detected',
  'drift.resolved',
  'drift.acknowledged',
  'drift.remediated',
  'user.created',
  'user.changed',
  'user.disabled',
  'account.staged',
  'account.secret-resynchronised',
  'account.quorum-changed',
  'account.quorum-removed',
  'user.invited',
  'user.enabled',
  // issue 14 (enroll): a person set their password and second factor from an invite.
  'user.enrolled',
  // API tokens: minted (for oneself or a service user), redeemed from an enrolment code, revoked.
  'token.created',
  // Requests refused before any use case runs, and refusals by a rule (aggregated per minute).
  'auth.rate-limited',
  'request.refused',
  'token.redeemed',
  'token.revoked',
  'custodian.ceremony-held',
  // The server and its root key.
  'system.initialized',
  'root-key.sealed',
  'root-key.unsealed',
  'root-key.rekeyed',
  'root-key.rotated',
  // Drills (issue 10): one event per drill, its steps with their durations in the details.
  'drill.passed',
  'drill.failed',
  // A dual-control account drilled without its custodians: the secret the drill set and logs in with (sealed to their key).
  'account.drill-secret-staged',
  // issue 11 (H1): an approver's approval (with its note), a request whose approvers did not answer in time, an escalation past them.
  'grant.approved',
  'grant.approval-expired',
  'grant.escalated',
  // issue 11 (H2): bounds. An extension (by, reason, new expiresAt, count), an incident closed (the grants it ended), a co-responder joining a case.
  'grant.extended',
  'grant.incident-closed',
  'grant.joined',
  'incident.closed',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** The audit name of each lifecycle event: explicit, so renaming an event never renames history. */
export const grantEventActions: Readonly<Record<GrantEventType, AuditAction>> = {
  'quorum-reached': 'grant.quorum-reached',
  'quorum-expired': 'grant.quorum-expired',
  activate: 'grant.activated',
  reveal: 'grant.revealed',
  'activation-failed': 'grant.activation-failed',
  deny: 'grant.denied',
  cancel: 'grant.cancelled',
  expire: 'grant.expired',
  end: 'grant.ended',
  'revocation-verified': 'grant.revocation-verified',
  // issue 12 (evidence)
  'sessions-ended': 'grant.sessions-ended',
  'rotation-started': 'grant.rotation-started',
  'rotation-verified': 'grant.rotation-verified',
  'certification-requested': 'grant.certification-requested',
  certify: 'grant.certified',
  'cleanup-verified': 'grant.cleanup-verified',
  'drill-certified': 'grant.drill-certified',
  // issue 11 (H1): a denial by an approver is the case's `grant.denied`.
  approve: 'grant.approved',
  'approval-denied': 'grant.denied',
  'approval-expired': 'grant.approval-expired',
  escalate: 'grant.escalated',
  // issue 11 (H3)
  'certification-deadline-passed': 'grant.certification-deadline-passed',
  resolve: 'grant.review-resolved',
  // issue 11 (H2): bounds
  extend: 'grant.extended',
  'incident-closed': 'grant.incident-closed',
};

/** Names written by versions before 0.2 (built from the event name), and what they mean now. */
export const legacyAuditActions: Readonly<Record<string, AuditAction>> = {
  'grant.activate': 'grant.activated',
  'grant.deny': 'grant.denied',
  'grant.cancel': 'grant.cancelled',
  'grant.expire': 'grant.expired',
  'grant.end': 'grant.ended',
  'grant.certify': 'grant.certified',
  'custodian.ceremony': 'custodian.ceremony-held',
};

export const isAuditAction = (name: string): name is AuditAction => (auditActions as readonly string[]).includes(name);
