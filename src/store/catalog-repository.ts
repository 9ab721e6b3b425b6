import type { Selectable, Transaction } from 'kysely';
import { asAccountId, asPolicyId, asTargetId, userRoles } from '../domain/index.js';
import type { AccountMode, ApprovalMode, ApproverRule, DrillSchedule, Policy, Quorum, StagingState } from '../domain/index.js';
// issue 11 (H4)
import { incidentCheckFallbacks, type IncidentCheck } from '../domain/index.js';
import { AppError } from '../errors/index.js';
import type { AccountRecord, CatalogRepository, Store, TargetRecord } from '../ports/index.js';
import { affected, fromNullable, member, newId, parseJson, toNullable } from './columns.js';
import type { AccountsTable, Database, PoliciesTable, TargetsTable } from './schema.js';

const accountModes: readonly AccountMode[] = ['prestaged', 'ephemeral'];
const stagingStates: readonly StagingState[] = ['pending', 'staged'];
const approvalModes: readonly ApprovalMode[] = ['post-hoc', /* issue 11 (H1) */ 'approvers'];

/**
 * Targets, policies and accounts. `upsert*` are keyed by name: an existing row is updated in
 * place and keeps its id, so grants and jobs that point at it stay valid. Must run inside
 * `Store.transaction`.
 */
export function catalogRepository(trx: Transaction<Database>, dialect: Store['dialect']): CatalogRepository {
  const targets = trx.selectFrom('targets').selectAll();
  const policies = trx.selectFrom('policies').selectAll();
  const accounts = trx.selectFrom('accounts').selectAll();
  // What the catalog lists now; rows it retired stay reachable by id for the cases that name them.
  const current = { targets: targets.where('retired_at', 'is', null), policies: policies.where('retired_at', 'is', null), accounts: accounts.where('retired_at', 'is', null) };
  return {
    async upsertTarget(target) {
      const values = {
        type: target.type,
        settings: JSON.stringify(target.settings),
        admin_secret_sealed: toNullable(target.adminSecretSealed),
        retired_at: null,
      };
      const row = await trx
        .insertInto('targets')
        .values({ id: newId('tgt_'), name: target.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTarget(row);
    },

    async upsertPolicy(policy) {
      const values = { ...policyColumns(policy), retired_at: null };
      const row = await trx
        .insertInto('policies')
        .values({ id: newId('pol_'), name: policy.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPolicy(row);
    },

    async upsertAccount(account) {
      // The secret columns (staging, secret_version, secret_sealed) are never touched here:
      // only setAccountSecret changes them.
      const values = {
        target_id: account.targetId,
        policy_id: account.policyId,
        mode: account.mode,
        principal: account.principal,
        spec: JSON.stringify(account.spec),
        quorum: account.quorum === undefined ? null : JSON.stringify(account.quorum),
        auto_remediate: account.autoRemediate === true ? 1 : 0,
        drill: account.drill === undefined ? null : JSON.stringify(account.drill),
        drill_since: account.drill === undefined ? null : (account.drillSince ?? new Date()).getTime(),
        retired_at: null,
      };
      const row = await trx
        .insertInto('accounts')
        .values({ id: newId('acc_'), name: account.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAccount(row);
    },

    listTargets: async () => (await current.targets.orderBy('name').execute()).map(toTarget),
    listPolicies: async () => (await current.policies.orderBy('name').execute()).map(toPolicy),
    listAccounts: async () => (await current.accounts.orderBy('name').execute()).map(toAccount),
    findAccountByName: async (name) => mapOne(await current.accounts.where('name', '=', name).executeTakeFirst(), toAccount),

    async retire(kind, id, at) {
      const table = ({ target: 'targets', policy: 'policies', account: 'accounts' } as const)[kind];
      await trx.updateTable(table).set({ retired_at: at.getTime() }).where('id', '=', id).execute();
    },
    findAccountById: async (id) => mapOne(await accounts.where('id', '=', id).executeTakeFirst(), toAccount),
    findTargetById: async (id) => mapOne(await targets.where('id', '=', id).executeTakeFirst(), toTarget),
    findPolicyById: async (id) => mapOne(await policies.where('id', '=', id).executeTakeFirst(), toPolicy),

    async setAccountSecret(id, sealed, expected) {
      const result = await trx
        .updateTable('accounts')
        .set({ secret_sealed: sealed, secret_version: expected + 1, staging: 'staged' })
        .where('id', '=', id)
        .where('secret_version', '=', expected)
        .executeTakeFirst();
      if (affected(result) === 1) return;
      const current = await trx.selectFrom('accounts').select('secret_version').where('id', '=', id).executeTakeFirst();
      if (current === undefined) throw new AppError('not_found', `account ${id} not found`);
      throw new AppError('conflict', `account ${id} is at secret version ${Number(current.secret_version)}, not ${expected}: another stage or rotation wrote first`);
    },

    async getCustodianKey(accountId) {
      const row = await trx.selectFrom('custodian_keys').selectAll().where('account_id', '=', accountId).executeTakeFirst();
      if (!row) return undefined;
      return {
        accountId: asAccountId(row.account_id),
        kid: row.kid,
        publicKey: row.public_key,
        threshold: Number(row.threshold),
        shares: parseJson<{ holder: string; fingerprint: string }[]>(row.shares, 'custodian_keys.shares'),
        generation: Number(row.generation),
        createdAt: new Date(Number(row.created_at)),
      };
    },

    async setCustodianKey(key) {
      const values = {
        kid: key.kid,
        public_key: key.publicKey,
        threshold: key.threshold,
        shares: JSON.stringify(key.shares),
        generation: key.generation,
        created_at: key.createdAt.getTime(),
      };
      await trx
        .insertInto('custodian_keys')
        .values({ account_id: key.accountId, ...values })
        .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
        .execute();
    },

    async markStaged(id, mark) {
      await trx.updateTable('accounts').set({ staged_on: mark }).where('id', '=', id).execute();
    },

    async resetStaging(id) {
      await trx.updateTable('accounts').set({ staging: 'pending', secret_sealed: null }).where('id', '=', id).execute();
    },

    async lockAccount(id) {
      // SQLite: the immediate write transaction already excludes every other writer.
      if (dialect !== 'postgres') return;
      await trx.selectFrom('accounts').select('id').where('id', '=', id).forUpdate().execute();
    },
  };
}

function mapOne<R, T>(row: R | undefined, map: (row: R) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}

function policyColumns(policy: Omit<Policy, 'id'>) {
  return {
    conditions: JSON.stringify(policy.conditions),
    incident_pattern: toNullable(policy.incidentPattern),
    approval: JSON.stringify(policy.approval),
    default_ttl_ms: policy.defaultTtlMs,
    max_ttl_ms: policy.maxTtlMs,
    min_ttl_ms: toNullable(policy.minTtlMs),
    expiry_warning_ms: toNullable(policy.expiryWarningMs),
    // issue 11 (H3)
    certify_within_ms: toNullable(policy.certifyWithinMs),
    invokers: JSON.stringify(policy.invokers),
    // issue 11 (H4): invocation criteria
    reason_min_length: toNullable(policy.reasonMinLength),
    invoker_users: policy.invokerUsers === undefined ? null : JSON.stringify(policy.invokerUsers),
    incident_check: policy.incidentCheck === undefined ? null : JSON.stringify(policy.incidentCheck),
    // issue 11 (H1)
    approvers: policy.approvers === undefined ? null : JSON.stringify(policy.approvers),
    escalate_after_ms: toNullable(policy.escalateAfterMs),
    // issue 11 (H2): bounds (0018)
    max_extensions: toNullable(policy.maxExtensions),
    max_total_ms: toNullable(policy.maxTotalMs),
    cooldown_ms: toNullable(policy.cooldownMs),
    require_certified_previous: policy.requireCertifiedPrevious === true ? 1 : 0,
  };
}

function toTarget(row: Selectable<TargetsTable>): TargetRecord {
  return {
    id: asTargetId(row.id),
    name: row.name,
    // Checked against the connector registry when the catalog was applied; the store keeps it as is.
    type: row.type,
    settings: parseJson<Record<string, unknown>>(row.settings, 'targets.settings'),
    adminSecretSealed: fromNullable(row.admin_secret_sealed),
  };
}

function toPolicy(row: Selectable<PoliciesTable>): Policy {
  const approval = parseJson<{ mode: string }>(row.approval, 'policies.approval');
  const invokers = parseJson<string[]>(row.invokers, 'policies.invokers');
  return {
    id: asPolicyId(row.id),
    name: row.name,
    conditions: parseJson<string[]>(row.conditions, 'policies.conditions'),
    incidentPattern: fromNullable(row.incident_pattern),
    approval: { mode: member(approval.mode, approvalModes, 'policies.approval') },
    defaultTtlMs: Number(row.default_ttl_ms),
    maxTtlMs: Number(row.max_ttl_ms),
    minTtlMs: row.min_ttl_ms === null ? undefined : Number(row.min_ttl_ms),
    ...(row.expiry_warning_ms === null ? {} : { expiryWarningMs: Number(row.expiry_warning_ms) }),
    // issue 11 (H3)
    ...(row.certify_within_ms === null ? {} : { certifyWithinMs: Number(row.certify_within_ms) }),
    invokers: invokers.map((role) => member(role, userRoles, 'policies.invokers')),
    // issue 11 (H4): invocation criteria
    ...(row.reason_min_length === null ? {} : { reasonMinLength: Number(row.reason_min_length) }),
    ...(row.invoker_users === null ? {} : { invokerUsers: parseJson<string[]>(row.invoker_users, 'policies.invoker_users') }),
    ...(row.incident_check === null ? {} : { incidentCheck: toIncidentCheck(row.incident_check) }),
    // issue 11 (H1)
    ...(row.approvers === null ? {} : { approvers: parseJson<ApproverRule>(row.approvers, 'policies.approvers') }),
    ...(row.escalate_after_ms === null ? {} : { escalateAfterMs: Number(row.escalate_after_ms) }),
    // issue 11 (H2): bounds (0018)
    ...(row.max_extensions === null ? {} : { maxExtensions: Number(row.max_extensions) }),
    ...(row.max_total_ms === null ? {} : { maxTotalMs: Number(row.max_total_ms) }),
    ...(row.cooldown_ms === null ? {} : { cooldownMs: Number(row.cooldown_ms) }),
    ...(Number(row.require_certified_previous) === 1 ? { requireCertifiedPrevious: true } : {}),
  };
}

// issue 11 (H4): the stored incident check, checked as strictly as it was written.
function toIncidentCheck(text: string): IncidentCheck {
  const check = parseJson<{ url: string; onUnreachable: string; timeoutMs?: number; allowCleartext?: boolean }>(text, 'policies.incident_check');
  return {
    url: check.url,
    onUnreachable: member(check.onUnreachable, incidentCheckFallbacks, 'policies.incident_check'),
    ...(check.timeoutMs === undefined ? {} : { timeoutMs: check.timeoutMs }),
    ...(check.allowCleartext === true ? { allowCleartext: true } : {}),
  };
}

function toAccount(row: Selectable<AccountsTable>): AccountRecord {
  return {
    id: asAccountId(row.id),
    name: row.name,
    targetId: asTargetId(row.target_id),
    policyId: asPolicyId(row.policy_id),
    mode: member(row.mode, accountModes, 'accounts.mode'),
    principal: row.principal,
    spec: parseJson<Record<string, unknown>>(row.spec, 'accounts.spec'),
    quorum: row.quorum === null ? undefined : parseJson<Quorum>(row.quorum, 'accounts.quorum'),
    ...(row.drill === null ? {} : { drill: parseJson<DrillSchedule>(row.drill, 'accounts.drill') }),
    ...(row.drill_since === null ? {} : { drillSince: new Date(Number(row.drill_since)) }),
    staging: member(row.staging, stagingStates, 'accounts.staging'),
    secretVersion: Number(row.secret_version),
    secretSealed: fromNullable(row.secret_sealed),
    stagedOn: fromNullable(row.staged_on),
    ...(Number(row.auto_remediate) === 1 ? { autoRemediate: true } : {}),
  };
}
