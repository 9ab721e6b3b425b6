import type { AuditAction } from './audit-actions.js';

/**
 * Every alert Breakglass sends, by a stable name: what routes select and receivers switch on.
 * One closed list, like the audit names; `alert.dead` (a message that could not be delivered)
 * and `alert.test` (`breakglass channel test`) are about the alerting itself; `audit.event` and
 * `audit.checkpoint` are the audit stream, sent to audit-sink channels and never routed.
 */
export const alertEvents = [
  'grant.requested',
  'grant.activated',
  'grant.revealed',
  'grant.expiring',
  'grant.ended',
  'grant.revoked',
  'grant.revocation-overdue',
  'grant.rotation-failed',
  'grant.awaiting-certification',
  'grant.certification-overdue',
  // issue 11 (H3): a policy's `certifyWithin` passed with the case uncertified.
  'grant.certification-deadline-passed',
  'grant.closed',
  // issue 11 (H4)
  'grant.incident-check-bypassed',
  // issue 11 (H1): a requester went past approvers who did not answer.
  'grant.escalated',
  'quorum.share-presented',
  'quorum.released',
  'share.refused',
  'catalog.applied',
  'token.created',
  'root.unsealed',
  'audit.verify-failed',
  'drift.detected',
  'drill.failed',
  'alert.dead',
  'alert.test',
  'audit.event',
  'audit.checkpoint',
] as const;
export type AlertEvent = (typeof alertEvents)[number];

/** Where alerts can go; each type's settings are in src/config/channels, its sender in src/notify. */
export const channelTypes = ['webhook', 'slack', 'teams', 'email', 'pagerduty', 'syslog'] as const;
export type ChannelType = (typeof channelTypes)[number];

export const severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof severities)[number];

/** How loud each event is: an activation is what security operations must see at once. */
export const alertSeverity: Readonly<Record<AlertEvent, Severity>> = {
  'grant.requested': 'warning',
  'grant.activated': 'critical',
  'grant.revealed': 'warning',
  'grant.expiring': 'info',
  'grant.ended': 'info',
  'grant.revoked': 'info',
  'grant.revocation-overdue': 'critical',
  'grant.rotation-failed': 'critical',
  'grant.awaiting-certification': 'info',
  'grant.certification-overdue': 'warning',
  'grant.closed': 'info',
  // issue 11 (H4): access given without the incident system confirming the incident.
  'grant.incident-check-bypassed': 'critical',
  'quorum.share-presented': 'info',
  'quorum.released': 'warning',
  'share.refused': 'warning',
  'catalog.applied': 'warning',
  'token.created': 'info',
  'root.unsealed': 'warning',
  'audit.verify-failed': 'critical',
  // An emergency account usable, used or left behind with no case: what the seed asks to measure.
  'drift.detected': 'critical',
  'drill.failed': 'critical',
  'alert.dead': 'critical',
  'alert.test': 'info',
  // issue 11 (H3)
  'grant.certification-deadline-passed': 'warning',
  'audit.event': 'info',
  'audit.checkpoint': 'info',
  // issue 11 (H1): access without the second person the policy asked for.
  'grant.escalated': 'critical',
};

/**
 * The alert an audit event raises, if any: alerts are written beside the audit event, in its
 * transaction, so a state change cannot happen unannounced. Time-driven alerts (expiring,
 * overdue) come from the alert watch instead.
 */
export const alertOfAuditAction: Readonly<Partial<Record<AuditAction, AlertEvent>>> = {
  'grant.requested': 'grant.requested',
  'grant.activated': 'grant.activated',
  'grant.revealed': 'grant.revealed',
  'grant.ended': 'grant.ended',
  'grant.revocation-verified': 'grant.revoked',
  'grant.certification-requested': 'grant.awaiting-certification',
  'grant.certified': 'grant.closed',
  'grant.share-presented': 'quorum.share-presented',
  'grant.quorum-reached': 'quorum.released',
  'grant.share-refused': 'share.refused',
  // issue 11 (H4)
  'grant.incident-check-bypassed': 'grant.incident-check-bypassed',
  'catalog.applied': 'catalog.applied',
  'token.created': 'token.created',
  'root-key.unsealed': 'root.unsealed',
  'drift.detected': 'drift.detected',
  'drill.failed': 'drill.failed',
  // issue 11 (H1)
  'grant.escalated': 'grant.escalated',
  // issue 11 (H3)
  'grant.certification-deadline-passed': 'grant.certification-deadline-passed',
};

/**
 * The audit stream: every audit event and signed checkpoint, copied to each channel that says
 * `auditSink: true`. Not routable: routes select alerts, the sink flag selects the stream.
 */
export const auditStreamEvents = ['audit.event', 'audit.checkpoint'] as const satisfies readonly AlertEvent[];

/** The events a route may name (every alert but the audit stream). */
export const routableAlertEvents: readonly AlertEvent[] = alertEvents.filter((event) => !(auditStreamEvents as readonly string[]).includes(event));

/**
 * Raised by the alert watch from the clock, not by an audit event: each at most once per
 * occurrence (a grant, an event, a number), recorded in the store.
 */
export const timedAlertEvents = ['grant.expiring', 'grant.revocation-overdue', 'grant.rotation-failed', 'grant.certification-overdue'] as const satisfies readonly AlertEvent[];
export type TimedAlertEvent = (typeof timedAlertEvents)[number];

export const isAlertEvent = (name: string): name is AlertEvent => (alertEvents as readonly string[]).includes(name);

/** Does `minimum` let an alert of `severity` through? */
export const atLeast = (severity: Severity, minimum: Severity): boolean => severities.indexOf(severity) >= severities.indexOf(minimum);
