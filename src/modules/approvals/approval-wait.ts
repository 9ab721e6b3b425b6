import type { GrantState, Policy, Quorum } from '../../domain/index.js';

/** How a new grant waits for its approvers: its state, the end of the approval window, and what the audit records. */
export interface ApprovalWait {
  readonly state: Extract<GrantState, 'awaiting-approval'>;
  readonly expiresAt: Date;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * Issue 11 (H1): a policy with `approval.mode: approvers` makes a new grant wait for its approvers
 * (before any custodian quorum); `undefined` for every other policy.
 * @example const wait = approvalWait(policy, clock.now(), account.quorum)
 */
export function approvalWait(policy: Policy, now: Date, quorum?: Quorum): ApprovalWait | undefined {
  const rule = policy.approvers;
  if (policy.approval.mode !== 'approvers' || rule === undefined) return undefined;
  const expiresAt = new Date(now.getTime() + rule.timeoutMs);
  return {
    state: 'awaiting-approval',
    expiresAt,
    details: {
      approvers: rule.approvers,
      approvalThreshold: rule.threshold,
      approvalDeadline: expiresAt.toISOString(),
      // With custodians too, their window opens at the last approval (approval first, then quorum).
      ...(quorum === undefined ? {} : { quorumDeadline: 'opens at the last approval' }),
      ...(policy.escalateAfterMs === undefined ? {} : { escalateFrom: new Date(now.getTime() + policy.escalateAfterMs).toISOString() }),
    },
  };
}
