import type { AccountId, GrantId, PolicyId, TargetId, TokenId, UserId } from './ids.js';

// issue 11 (H1): `approver`: someone a policy's `approvers` may name by role; the role alone approves nothing.
// issue 11 (H2): `incident-system`, a machine whose tokens may only close incidents.
export const userRoles = ['admin', 'responder', 'incident-owner', 'custodian', 'auditor', 'approver', 'incident-system'] as const;
export type UserRole = (typeof userRoles)[number];
// issue 11 (H4): a policy's `invokers` mixes roles and user names
export const isUserRole = (name: string): name is UserRole => (userRoles as readonly string[]).includes(name);

/** Who does something. One value flows through every use case. */
export interface Actor {
  readonly id: UserId;
  readonly name: string;
  readonly roles: readonly UserRole[];
  /** The API token the request came with (recorded by reveal, certify and share submission). */
  readonly tokenId?: TokenId;
  /**
   * Who minted that token (the user themselves, or an admin for a service user); certify holds
   * this one to separation of duties too. Absent for the first admin token from `init`.
   */
  readonly tokenCreatorId?: UserId;
}

/** The token an actor acted with, for the details of an audit event (`{}` when none). */
export function tokenUsed(actor: Actor): { tokenId?: TokenId } {
  return actor.tokenId === undefined ? {} : { tokenId: actor.tokenId };
}

/** The actor for work the system does by itself (expiry, revocation, rotation). */
export const systemActorName = 'system';

/**
 * Names the engine uses for itself (`system`, `local:<os user>` for operator commands): no
 * catalog user may take one, or their actions would read as the engine's in the audit chain.
 */
export function isReservedUserName(name: string): boolean {
  return name === systemActorName || name.startsWith('local:');
}

export const conditions = ['outage', 'lockout', 'security-incident', 'drill'] as const;
export type Condition = (typeof conditions)[number];

export type ApprovalMode = 'post-hoc' | 'approvers';

// issue 11 (H1): second-person approval before activation, and the escalation path when nobody answers.
/** `approval: {mode: approvers, …}`: k distinct approvers (never the requester) within the timeout. */
export interface ApproverRule {
  readonly threshold: number;
  /** User names, or roles: a user who has one of them counts. */
  readonly approvers: readonly string[];
  /** How long the request waits in `awaiting-approval` before it is `expired`. */
  readonly timeoutMs: number;
}

/** One approver's decision on a grant awaiting approval. */
export interface ApprovalDecision {
  readonly by: UserId;
  readonly byName: string;
  readonly at: Date;
  readonly decision: 'approved' | 'denied';
  readonly note: string;
}

export interface Policy {
  readonly id: PolicyId;
  readonly name: string;
  readonly conditions: readonly string[];
  /** Source of a regular expression that the incident reference must match, if set. */
  readonly incidentPattern: string | undefined;
  readonly approval: { readonly mode: ApprovalMode };
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number;
  readonly minTtlMs: number | undefined;
  /** Roles allowed to invoke; empty means responders and admins. */
  readonly invokers: readonly UserRole[];
  /** How long before expiry its grants raise `grant.expiring`; the server's default when absent. */
  readonly expiryWarningMs?: number | undefined;
  // issue 11 (H4): invocation criteria
  /** The shortest reason (trimmed, in characters) an invocation may give; any non-empty one when absent. */
  readonly reasonMinLength?: number | undefined;
  /** Users named in `invokers` (the roles are in `invokers`); with either set, only they may invoke. */
  readonly invokerUsers?: readonly string[] | undefined;
  /** The incident system asked before any lock is taken: the incident must exist there. */
  readonly incidentCheck?: IncidentCheck | undefined;
  // issue 11 (H1): with `approval.mode` `approvers`, who approves and how long the request waits; `escalate.after`.
  readonly approvers?: ApproverRule | undefined;
  readonly escalateAfterMs?: number | undefined;
  // issue 11 (H3): certification with a deadline.
  /** How long a case may await certification before it is `certification-overdue` (`certifyWithin`). */
  readonly certifyWithinMs?: number | undefined;
  // issue 11 (H2): bounds while active and repeated use.
  /** How many times an active grant may be extended; absent means none. */
  readonly maxExtensions?: number | undefined;
  /** The longest a grant may live from activation, extensions included; absent: no cap but maxTtl per extension. */
  readonly maxTotalMs?: number | undefined;
  /** After a case on an account ends, how long before the account may be invoked again. */
  readonly cooldownMs?: number | undefined;
  /** Refuse a new invocation while the account's last case is not certified (closed); an admin may override. */
  readonly requireCertifiedPrevious?: boolean | undefined;
}

// issue 11 (H4): invocation criteria
export const incidentCheckFallbacks = ['allow', 'deny'] as const;
/** `incidentCheck` of a policy: GET `url` (with `{incident}` replaced) must answer 2xx. */
export interface IncidentCheck {
  readonly url: string;
  /** What an unreachable incident system (no answer, timeout, 5xx) means: allow (alerted) or deny. */
  readonly onUnreachable: (typeof incidentCheckFallbacks)[number];
  /** How long the incident system may take to answer; 5s when absent. */
  readonly timeoutMs?: number | undefined;
  /** Accept http:// to a host other than loopback (the reference travels in clear). */
  readonly allowCleartext?: boolean | undefined;
}

/**
 * The connector type of a target (`postgres`, `ssh`, …). The domain does not enumerate them:
 * the connectors' spec registry does, and the catalog is checked against it at the edge.
 */
export type TargetType = string;

export interface Target {
  readonly id: TargetId;
  readonly name: string;
  readonly type: TargetType;
  /** Connection settings without any secret (host, port, database, user, …). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export type AccountMode = 'prestaged' | 'ephemeral';

/** Whether the pre-staged secret on the target is known and sealed. */
export type StagingState = 'pending' | 'staged';

export interface Account {
  readonly id: AccountId;
  readonly name: string;
  readonly targetId: TargetId;
  readonly policyId: PolicyId;
  readonly mode: AccountMode;
  /** The login name on the target (PostgreSQL role, MySQL user, LDAP DN, …); per grant when ephemeral. */
  readonly principal: string;
  /** Type-specific settings from the catalog: role, user, privileges, rules, principals, … */
  readonly spec: Readonly<Record<string, unknown>>;
  readonly staging: StagingState;
  /** Increments on every rotation; part of the secret's associated data. */
  readonly secretVersion: number;
  /** Cryptographic dual control: k of these custodians must present shares to release. */
  readonly quorum: Quorum | undefined;
  /** The catalog's `autoRemediate: true`: a drift scan fixes what it can on this account, and verifies. */
  readonly autoRemediate?: boolean;
  /** When the account is drilled by itself (issue 10), if it is. */
  readonly drill?: DrillSchedule | undefined;
  /** Since when it has had a drill schedule (the first apply that gave it one): never drilled, it is overdue `maxAge` after this. */
  readonly drillSince?: Date | undefined;
}

/** A drill schedule from the catalog: a cron expression (UTC) and the longest time without a passed drill. */
export interface DrillSchedule {
  readonly schedule: string;
  readonly maxAgeMs: number;
}

export interface Quorum {
  readonly threshold: number;
  readonly custodians: readonly string[];
  /** How long a request waits for the shares before it expires. */
  readonly windowMs: number;
  /**
   * The account stays able to log in between grants, so the offline kit works when Breakglass
   * is down: its secret is known to k custodians together and nobody else, and every use is
   * followed by a verified rotation.
   */
  readonly offlineAccess?: boolean;
}

export const grantStates = [
  'awaiting-quorum',
  'requested',
  'active',
  'revoking',
  'revoked',
  'rotating',
  'awaiting-certification',
  'closed',
  'denied',
  'cancelled',
  'failed',
  'expired',
  // issue 11 (H1): waiting for k approvers (before any custodian quorum).
  'awaiting-approval',
  // issue 11 (H3): certified with misuse suspected; open until an admin resolves it.
  'under-review',
] as const;
export type GrantState = (typeof grantStates)[number];

export interface Certification {
  readonly by: UserId;
  readonly byName: string;
  readonly at: Date;
  readonly necessary: boolean;
  readonly scoped: boolean;
  readonly removed: boolean;
  readonly note: string;
  // issue 11 (H3): the certifier suspects misuse; the case goes to `under-review` instead of closing.
  readonly misuseSuspected?: boolean | undefined;
}

// issue 11 (H3): an admin's resolution of a case under review.
/** How an admin (never the requester) ended the review of a case certified with misuse suspected. */
export interface Resolution {
  readonly by: UserId;
  readonly byName: string;
  readonly at: Date;
  readonly note: string;
}

/** One break-glass case. */
export interface Grant {
  readonly id: GrantId;
  readonly accountId: AccountId;
  readonly requesterId: UserId;
  readonly requesterName: string;
  readonly condition: string;
  readonly reason: string;
  readonly incident: string;
  readonly state: GrantState;
  readonly mode: AccountMode;
  readonly createdAt: Date;
  readonly activatedAt: Date | undefined;
  /** While awaiting quorum: when the request expires. Once active: when the grant ends. */
  readonly expiresAt: Date;
  /** The granted time-to-live; counted from activation. */
  readonly ttlMs: number;
  /** When revocation began (TTL reached or early end). */
  readonly endedAt: Date | undefined;
  readonly endReason: 'expired' | 'ended' | 'incident-closed' | undefined;
  readonly revokedAt: Date | undefined;
  readonly rotatedAt: Date | undefined;
  readonly revealedAt: Date | undefined;
  readonly closedAt: Date | undefined;
  readonly certification: Certification | undefined;
  readonly failure: string | undefined;
  /** A drill (issue 10): the real path run on purpose; never an incident, certified by itself when every step passed. */
  readonly drill?: boolean | undefined;
  // issue 11 (H1): the approvers' decisions, and the escalation when nobody answered (`reason2`).
  readonly approvals?: readonly ApprovalDecision[] | undefined;
  readonly escalated?: boolean | undefined;
  readonly escalationReason?: string | undefined;
  // issue 11 (H3): certification deadline and review.
  /** When the policy's `certifyWithin` passed with the case still awaiting certification. */
  readonly certificationOverdueAt?: Date | undefined;
  /** The admin's resolution of a case that was `under-review`. */
  readonly resolution?: Resolution | undefined;
  // issue 11 (H2): bounds.
  /** How many times the grant was extended (absent: never). */
  readonly extensions?: number | undefined;
  /** An admin invoked past `requireCertifiedPrevious`: why (the grant is marked as an override). */
  readonly overrideReason?: string | undefined;
  // issue 12 (P2): what the verified revocation did to live sessions.
  readonly revocation?: RevocationEvidence | undefined;
}

// issue 12 (P2): revocation evidence, counted by the connector as it ends the sessions.
/** Live sessions when revocation looked, how many it ended, and how many the target still lists (0). */
export interface RevocationEvidence {
  readonly sessionsBefore: number;
  readonly sessionsEnded: number;
  readonly sessionsAfter: number;
}
