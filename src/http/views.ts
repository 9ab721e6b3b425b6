import type { Grant } from '../domain/index.js';
import type { StuckStep } from '../modules/grants/show-grant.js';
import type { IssuedToken } from '../modules/identity/identity.js';
import type { TokenView } from '../modules/identity/tokens.js';

const iso = (date: Date | undefined) => date?.toISOString();

/** The public JSON shape of a grant (GrantView). Dates are ISO 8601; absent fields are omitted. */
export function grantView(grant: Grant, accountName: string | undefined, stuck?: StuckStep) {
  const view = {
    id: grant.id,
    account: accountName ?? grant.accountId,
    state: grant.state,
    mode: grant.mode,
    condition: grant.condition,
    reason: grant.reason,
    incident: grant.incident,
    requester: grant.requesterName,
    createdAt: grant.createdAt.toISOString(),
    activatedAt: iso(grant.activatedAt),
    expiresAt: grant.expiresAt.toISOString(),
    endedAt: iso(grant.endedAt),
    endReason: grant.endReason,
    revokedAt: iso(grant.revokedAt),
    rotatedAt: iso(grant.rotatedAt),
    revealedAt: iso(grant.revealedAt),
    closedAt: iso(grant.closedAt),
    certification: grant.certification && {
      by: grant.certification.byName,
      at: grant.certification.at.toISOString(),
      necessary: grant.certification.necessary,
      scoped: grant.certification.scoped,
      removed: grant.certification.removed,
      note: grant.certification.note,
      // issue 11 (H3)
      ...(grant.certification.misuseSuspected === true ? { misuseSuspected: true as const } : {}),
    },
    failure: grant.failure,
    drill: grant.drill === true ? (true as const) : undefined,
    // issue 11 (H2): bounds
    extensions: grant.extensions,
    override: grant.overrideReason === undefined ? undefined : (true as const),
    overrideReason: grant.overrideReason,
    stuck: stuck && { ...stuck, nextAttemptAt: stuck.nextAttemptAt.toISOString() },
    // issue 11 (H1)
    approvals: grant.approvals?.map((a) => ({ by: a.byName, at: a.at.toISOString(), decision: a.decision, note: a.note })),
    escalated: grant.escalated === true ? (true as const) : undefined,
    escalationReason: grant.escalationReason,
    // issue 11 (H3)
    // Overdue while it still awaits certification; when it passed stays on record (certificationOverdueAt).
    certificationOverdue: grant.certificationOverdueAt !== undefined && grant.state === 'awaiting-certification' ? (true as const) : undefined,
    certificationOverdueAt: iso(grant.certificationOverdueAt),
    resolution: grant.resolution && { by: grant.resolution.byName, at: grant.resolution.at.toISOString(), note: grant.resolution.note },
    // issue 12 (P2)
    revocation: grant.revocation && { sessionsBefore: grant.revocation.sessionsBefore, sessionsEnded: grant.revocation.sessionsEnded, sessionsAfter: grant.revocation.sessionsAfter },
  };
  return Object.fromEntries(Object.entries(view).filter(([, value]) => value !== undefined)) as typeof view;
}

const isoOrNull = (date: Date | undefined) => date?.toISOString() ?? null;

/** The public JSON shape of an API token (never the token): absent times are null. */
export function tokenView(token: TokenView) {
  return {
    id: token.id,
    user: token.user,
    label: token.label,
    createdAt: token.createdAt.toISOString(),
    expiresAt: isoOrNull(token.expiresAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    revokedAt: isoOrNull(token.revokedAt),
    createdBy: token.createdBy,
  };
}

/** A new token, shown once. */
export function issuedTokenView(issued: IssuedToken) {
  return { id: issued.id, token: issued.token, expiresAt: isoOrNull(issued.expiresAt) };
}
