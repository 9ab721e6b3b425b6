import type { ExpressionBuilder, Insertable, Selectable, Transaction } from 'kysely';
import { asAccountId, asGrantId, asUserId, grantStates, holdingStates } from '../domain/index.js';
import type { AccountMode, ApprovalDecision, Certification, Grant, GrantState, Resolution } from '../domain/index.js';
// issue 12 (P2)
import type { RevocationEvidence } from '../domain/index.js';
import { AppError } from '../errors/index.js';
import type { GrantRepository } from '../ports/index.js';
import { affected, fromMs, fromNullable, fromOptionalMs, member, parseJson, toNullable, toOptionalMs } from './columns.js';
import type { Database, GrantsTable } from './schema.js';

const accountModes: readonly AccountMode[] = ['prestaged', 'ephemeral'];
// issue 11 (H2): 'incident-closed'
const endReasons: readonly NonNullable<Grant['endReason']>[] = ['expired', 'ended', 'incident-closed'];

/** How a certification is kept in its JSON column: the instant as epoch ms. */
interface CertificationJson extends Omit<Certification, 'at'> {
  readonly at: number;
}

/**
 * Break-glass cases. Ids come from the caller. `update` is a compare-and-set on the state, so
 * two racing transitions of one grant cannot both win. Must run inside `Store.transaction`.
 */
export function grantRepository(trx: Transaction<Database>): GrantRepository {
  return {
    async insert(grant) {
      await trx.insertInto('grants').values(toRow(grant)).execute();
    },

    async update(grant, previous) {
      const { id, ...columns } = toRow(grant);
      // Guarded on revealed_at too: under READ COMMITTED a state-only guard lets two concurrent
      // reveals of an active grant both pass.
      const revealedAt = toOptionalMs(previous.revealedAt);
      const result = await trx
        .updateTable('grants')
        .set(columns)
        .where('id', '=', id)
        .where('state', '=', previous.state)
        .where((eb) => (revealedAt === null ? eb('revealed_at', 'is', null) : eb('revealed_at', '=', revealedAt)))
        .executeTakeFirst();
      if (affected(result) === 1) return;
      const current = await trx.selectFrom('grants').select(['state', 'revealed_at']).where('id', '=', id).executeTakeFirst();
      if (current === undefined) throw new AppError('not_found', `grant ${id} not found`);
      if (current.state === 'active' && previous.state === 'active' && current.revealed_at !== null) {
        throw new AppError('already_revealed', `the credential of grant ${id} was already revealed`);
      }
      throw new AppError('conflict', `grant ${id} is ${current.state}, not ${previous.state}: it changed concurrently`);
    },

    async findById(id) {
      const row = await trx.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toGrant(row);
    },

    async setCredential(id, sealed) {
      await trx.updateTable('grants').set({ credential_sealed: sealed ?? null }).where('id', '=', id).execute();
    },

    async getCredential(id) {
      const row = await trx.selectFrom('grants').select('credential_sealed').where('id', '=', id).executeTakeFirst();
      return row?.credential_sealed ?? undefined;
    },

    /** Newest first. An empty `states` list matches nothing. */
    async list(filter) {
      let query = trx.selectFrom('grants').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
      if (filter.states !== undefined) {
        if (filter.states.length === 0) return [];
        query = query.where('state', 'in', filter.states);
      }
      if (filter.accountId !== undefined) query = query.where('account_id', '=', filter.accountId);
      if (filter.requesterId !== undefined) query = query.where('requester_id', '=', filter.requesterId);
      if (filter.drill !== undefined) query = query.where('drill', '=', filter.drill ? 1 : 0);
      // issue 11 (H3): history filters and the keyset page, all in SQL before the limit.
      if (filter.requesterName !== undefined) query = query.where('requester_name', '=', filter.requesterName);
      const accountName = filter.accountName;
      if (accountName !== undefined) query = query.where('account_id', 'in', (eb) => eb.selectFrom('accounts').select('id').where('name', '=', accountName));
      if (filter.incident !== undefined) query = query.where('incident', '=', filter.incident);
      if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since.getTime());
      if (filter.until !== undefined) query = query.where('created_at', '<', filter.until.getTime());
      if (filter.certificationOverdue !== undefined) {
        query = query.where('certification_overdue_at', filter.certificationOverdue ? 'is not' : 'is', null);
      }
      const before = filter.before;
      if (before !== undefined) {
        const at = before.createdAt.getTime();
        query = query.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', before.id)])]));
      }
      if (filter.limit !== undefined) query = query.limit(filter.limit);
      return (await query.execute()).map(toGrant);
    },

    async holdingAccount(accountId) {
      const rows = await trx.selectFrom('grants').selectAll().where('account_id', '=', accountId).where(holding).orderBy('created_at').orderBy('id').execute();
      return rows.map(toGrant);
    },

    async accountsHeld() {
      const rows = await trx.selectFrom('grants').select('account_id').distinct().where(holding).execute();
      return rows.map((row) => asAccountId(row.account_id));
    },
  };
}

/** The domain's `holdsAccount` as SQL: a holding state, or failed with its cleanup not yet verified. */
const holding = (eb: ExpressionBuilder<Database, 'grants'>) =>
  eb.or([eb('state', 'in', holdingStates), eb.and([eb('state', '=', 'failed'), eb('revoked_at', 'is', null)])]);

function toRow(grant: Grant): Insertable<GrantsTable> & { id: string } {
  return {
    id: grant.id,
    account_id: grant.accountId,
    requester_id: grant.requesterId,
    requester_name: grant.requesterName,
    condition: grant.condition,
    reason: grant.reason,
    incident: grant.incident,
    state: grant.state,
    mode: grant.mode,
    created_at: grant.createdAt.getTime(),
    activated_at: toOptionalMs(grant.activatedAt),
    expires_at: grant.expiresAt.getTime(),
    ended_at: toOptionalMs(grant.endedAt),
    end_reason: toNullable(grant.endReason),
    revoked_at: toOptionalMs(grant.revokedAt),
    rotated_at: toOptionalMs(grant.rotatedAt),
    revealed_at: toOptionalMs(grant.revealedAt),
    closed_at: toOptionalMs(grant.closedAt),
    certification: grant.certification === undefined ? null : JSON.stringify(certificationJson(grant.certification)),
    failure: toNullable(grant.failure),
    ttl_ms: grant.ttlMs,
    drill: grant.drill === true ? 1 : 0,
    // issue 11 (H1)
    approvals: grant.approvals === undefined ? null : JSON.stringify(grant.approvals.map((a) => ({ ...a, at: a.at.getTime() }))),
    escalated: grant.escalated === true ? 1 : 0,
    escalation_reason: toNullable(grant.escalationReason),
    // issue 11 (H3)
    certification_overdue_at: toOptionalMs(grant.certificationOverdueAt),
    resolution: grant.resolution === undefined ? null : JSON.stringify({ ...grant.resolution, at: grant.resolution.at.getTime() }),
    // issue 11 (H2): bounds (0018)
    extensions: grant.extensions ?? 0,
    override_reason: toNullable(grant.overrideReason),
    // issue 12 (P2): revocation evidence (0022)
    revocation: grant.revocation === undefined ? null : JSON.stringify(grant.revocation),
  };
}

function certificationJson(c: Certification): CertificationJson {
  return {
    by: c.by,
    byName: c.byName,
    at: c.at.getTime(),
    necessary: c.necessary,
    scoped: c.scoped,
    removed: c.removed,
    note: c.note,
    // issue 11 (H3)
    ...(c.misuseSuspected === true ? { misuseSuspected: true } : {}),
  };
}

function toCertification(text: string): Certification {
  const c = parseJson<CertificationJson>(text, 'grants.certification');
  return {
    by: asUserId(c.by),
    byName: c.byName,
    at: fromMs(c.at),
    necessary: c.necessary,
    scoped: c.scoped,
    removed: c.removed,
    note: c.note,
    // issue 11 (H3)
    ...(c.misuseSuspected === true ? { misuseSuspected: true } : {}),
  };
}

// issue 11 (H3): an admin's resolution of a review, `at` in ms.
function toResolution(text: string): Resolution {
  const r = parseJson<{ by: string; byName: string; at: number; note: string }>(text, 'grants.resolution');
  return { by: asUserId(r.by), byName: r.byName, at: fromMs(r.at), note: r.note };
}

function toGrant(row: Selectable<GrantsTable>): Grant {
  return {
    id: asGrantId(row.id),
    accountId: asAccountId(row.account_id),
    requesterId: asUserId(row.requester_id),
    requesterName: row.requester_name,
    condition: row.condition,
    reason: row.reason,
    incident: row.incident,
    state: member<GrantState>(row.state, grantStates, 'grants.state'),
    mode: member(row.mode, accountModes, 'grants.mode'),
    createdAt: fromMs(row.created_at),
    activatedAt: fromOptionalMs(row.activated_at),
    expiresAt: fromMs(row.expires_at),
    endedAt: fromOptionalMs(row.ended_at),
    endReason: row.end_reason === null ? undefined : member(row.end_reason, endReasons, 'grants.end_reason'),
    revokedAt: fromOptionalMs(row.revoked_at),
    rotatedAt: fromOptionalMs(row.rotated_at),
    revealedAt: fromOptionalMs(row.revealed_at),
    closedAt: fromOptionalMs(row.closed_at),
    certification: row.certification === null ? undefined : toCertification(row.certification),
    failure: fromNullable(row.failure),
    // Grants from before TTLs were stored: their expiry was set at invoke.
    ttlMs: row.ttl_ms === null ? Number(row.expires_at) - Number(row.created_at) : Number(row.ttl_ms),
    ...(Number(row.drill) === 1 ? { drill: true } : {}),
    // issue 11 (H1)
    ...(row.approvals === null ? {} : { approvals: toApprovals(row.approvals) }),
    ...(Number(row.escalated) === 1 ? { escalated: true } : {}),
    ...(row.escalation_reason === null ? {} : { escalationReason: row.escalation_reason }),
    // issue 11 (H3)
    ...(row.certification_overdue_at === null ? {} : { certificationOverdueAt: fromMs(row.certification_overdue_at) }),
    ...(row.resolution === null ? {} : { resolution: toResolution(row.resolution) }),
    // issue 11 (H2): bounds (0018)
    ...(Number(row.extensions) > 0 ? { extensions: Number(row.extensions) } : {}),
    ...(row.override_reason === null ? {} : { overrideReason: row.override_reason }),
    // issue 12 (P2): revocation evidence (0022)
    ...(row.revocation === null ? {} : { revocation: toRevocation(row.revocation) }),
  };
}

// issue 12 (P2): revocation evidence, three counts.
function toRevocation(text: string): RevocationEvidence {
  const r = parseJson<RevocationEvidence>(text, 'grants.revocation');
  return { sessionsBefore: Number(r.sessionsBefore), sessionsEnded: Number(r.sessionsEnded), sessionsAfter: Number(r.sessionsAfter) };
}

// issue 11 (H1): the approvers' decisions, `at` kept as epoch ms.
const decisions: readonly ApprovalDecision['decision'][] = ['approved', 'denied'];
function toApprovals(text: string): ApprovalDecision[] {
  return parseJson<(Omit<ApprovalDecision, 'at'> & { at: number })[]>(text, 'grants.approvals').map((a) => ({
    by: asUserId(a.by),
    byName: a.byName,
    at: fromMs(a.at),
    decision: member(a.decision, decisions, 'grants.approvals'),
    note: a.note,
  }));
}
