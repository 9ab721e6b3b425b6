import { accountPrincipal, accountQuorum, accountSpec, generatedSecretTypes, type CatalogApply } from '../../config/catalog-file.js';
import { authorize, parseDuration, type Actor } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, StoreTx, TargetRecord } from '../../ports/index.js';
import { backoffDelay, type ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { applyUsers } from './apply-users.js';
import { stageAccount } from './stage-account.js';

export interface ApplyResult {
  readonly targets: number;
  readonly policies: number;
  readonly accounts: number;
  readonly users: number;
  /** Accounts staged now; the others are retried in the background. */
  readonly staging: { account: string; staging: 'staged' | 'pending'; error?: string }[];
}

const duration = (text: string, path: string): number => {
  const ms = parseDuration(text);
  if (ms === undefined) throw new AppError('validation', `${path}: "${text}" is not a duration`, { path });
  return ms;
};

/**
 * Applies a validated catalog in one transaction (all of it or nothing), then stages the
 * pre-staged accounts that have no secret yet. Admin passwords are sealed before they are
 * stored and appear in no audit event.
 */
export async function applyCatalog(ctx: ModuleContext, actor: Actor, doc: CatalogApply): Promise<ApplyResult> {
  authorize(actor, 'catalog.apply');
  const pending = await ctx.store.transaction(async (tx) => {
    await checkLiveChanges(tx, doc);
    await writeCatalog(ctx, tx, doc, actor.name);
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'catalog.applied',
      subject: 'catalog',
      details: {
        targets: doc.targets.map((t) => t.name),
        policies: doc.policies.map((p) => p.name),
        accounts: doc.accounts.map((a) => a.name),
        users: doc.users.map((u) => u.name),
      },
    });
    const unstaged: AccountRecord[] = [];
    for (const account of await tx.catalog.listAccounts()) {
      if (account.mode !== 'prestaged' || account.staging !== 'pending') continue;
      // A dual-control account is staged after its ceremony: its secret is sealed to the custodians' key.
      if (account.quorum && !(await tx.catalog.getCustodianKey(account.id))) continue;
      unstaged.push(account);
    }
    // Written with the catalog: if we crash before staging below, the scheduler still stages.
    const dueAt = new Date(ctx.clock.now().getTime() + backoffDelay(ctx.retry, 0));
    for (const account of unstaged) await tx.jobs.schedule({ kind: 'stage', accountId: account.id, dueAt });
    return unstaged;
  });
  const staging: ApplyResult['staging'][number][] = [];
  for (const account of pending) staging.push(await tryStage(ctx, account));
  return {
    targets: doc.targets.length,
    policies: doc.policies.length,
    accounts: doc.accounts.length,
    users: doc.users.length,
    staging,
  };
}

async function writeCatalog(ctx: ModuleContext, tx: StoreTx, doc: CatalogApply, actorName: string): Promise<void> {
  await applyUsers(ctx, tx, doc.users, actorName);
  const targetIds = new Map<string, AccountRecord['targetId']>();
  const existing = new Map((await tx.catalog.listTargets()).map((t) => [t.name, t]));
  for (const [i, spec] of doc.targets.entries()) {
    const { name, type, password, settings } = targetParts(spec, i);
    const record = { name, type, settings };
    const before = existing.get(name);
    // The id is known only after the first upsert, and the associated data binds the secret to it.
    const saved = before?.type === type ? before : await tx.catalog.upsertTarget({ ...record, adminSecretSealed: undefined });
    const secret = password ?? (before?.type === type ? undefined : await generatedSecret(ctx, type));
    const sealed = secret === undefined ? keptSecret(before, type) : ctx.vault.seal(secret, aad.targetAdmin(saved.id));
    await tx.catalog.upsertTarget({ ...record, adminSecretSealed: sealed });
    targetIds.set(name, saved.id);
  }
  const policyIds = new Map<string, AccountRecord['policyId']>();
  for (const [i, spec] of doc.policies.entries()) {
    const saved = await tx.catalog.upsertPolicy({
      name: spec.name,
      conditions: spec.conditions,
      incidentPattern: spec.incidentPattern,
      approval: { mode: spec.approval.mode },
      defaultTtlMs: duration(spec.defaultTtl, `policies[${i}].defaultTtl`),
      maxTtlMs: duration(spec.maxTtl, `policies[${i}].maxTtl`),
      minTtlMs: spec.minTtl === undefined ? undefined : duration(spec.minTtl, `policies[${i}].minTtl`),
      invokers: spec.invokers ?? [],
    });
    policyIds.set(spec.name, saved.id);
  }
  const before = new Map((await tx.catalog.listAccounts()).map((a) => [a.name, a]));
  for (const [i, spec] of doc.accounts.entries()) {
    const targetId = targetIds.get(spec.target) ?? (await existingTargetId(tx, spec.target, `accounts[${i}].target`));
    const policyId = policyIds.get(spec.policy) ?? (await existingPolicyId(tx, spec.policy, `accounts[${i}].policy`));
    const principal = spec.mode === 'ephemeral' ? '(per grant)' : accountPrincipal(spec);
    const quorum = accountQuorum(spec);
    const saved = await tx.catalog.upsertAccount({ name: spec.name, targetId, policyId, mode: spec.mode, principal, spec: accountSpec(spec), quorum });
    const old = before.get(spec.name);
    // The sealed secret belongs to the old principal on the old target, or is sealed the old way
    // (root key versus custodian key): stage it afresh.
    const sealingChanged = (old?.quorum === undefined) !== (quorum === undefined) || Boolean(old?.quorum?.offlineAccess) !== Boolean(quorum?.offlineAccess);
    if (old && JSON.stringify(old.quorum ?? null) !== JSON.stringify(quorum ?? null)) {
      // Weakening dual control is the one catalog change an insider would want unnoticed.
      await ctx.audit.append(tx, {
        actor: actorName,
        action: quorum ? 'account.quorum-changed' : 'account.quorum-removed',
        subject: spec.name,
        details: { before: old.quorum ?? null, after: quorum ?? null },
      });
      if (!quorum) ctx.log.warn({ account: spec.name }, 'custodian quorum removed from an account');
    }
    if (old && (old.principal !== principal || old.targetId !== targetId || old.mode !== spec.mode || sealingChanged)) await tx.catalog.resetStaging(saved.id);
  }
}

/**
 * Refuses to change how an account reaches its credential (target, mode, principal, spec, the
 * target's type or settings) while a grant holds it: revocation would go to the wrong place.
 * Changing a target's admin password stays allowed — it may be rotated mid-incident.
 */
async function checkLiveChanges(tx: StoreTx, doc: CatalogApply): Promise<void> {
  const liveAccounts = new Set<string>(await tx.grants.accountsHeld());
  if (liveAccounts.size === 0) return;
  const accounts = await tx.catalog.listAccounts();
  const targets = new Map((await tx.catalog.listTargets()).map((t) => [t.name, t]));
  const busyTargets = new Set(accounts.filter((a) => liveAccounts.has(a.id)).map((a) => a.targetId));
  for (const [i, spec] of doc.targets.entries()) {
    const old = targets.get(spec.name);
    if (!old || !busyTargets.has(old.id)) continue;
    const { type, settings } = targetParts(spec, i);
    const same = type === old.type && JSON.stringify(sorted(settings)) === JSON.stringify(sorted(old.settings));
    if (!same) throw new AppError('conflict', `targets[${i}]: target "${spec.name}" has live grants; end them before changing its connection`, { path: `targets[${i}]` });
  }
  for (const [i, spec] of doc.accounts.entries()) {
    const old = accounts.find((a) => a.name === spec.name);
    if (!old || !liveAccounts.has(old.id)) continue;
    const principal = spec.mode === 'ephemeral' ? '(per grant)' : accountPrincipal(spec);
    const same =
      targets.get(spec.target)?.id === old.targetId &&
      spec.mode === old.mode &&
      principal === old.principal &&
      JSON.stringify(sorted(accountSpec(spec))) === JSON.stringify(sorted(old.spec)) &&
      JSON.stringify(accountQuorum(spec) ?? null) === JSON.stringify(old.quorum ?? null);
    if (!same) throw new AppError('conflict', `accounts[${i}]: account "${spec.name}" has a live grant; end it before changing the account`, { path: `accounts[${i}]` });
  }
}

/** A catalog target as stored: connection settings (timeout in ms) apart from its secret. */
function targetParts(spec: CatalogApply['targets'][number], i: number) {
  const { name, type, timeout, ...rest } = spec;
  const { password, ...settings } = rest as typeof rest & { password?: string };
  const timeoutMs = timeout === undefined ? undefined : duration(timeout, `targets[${i}].timeout`);
  return { name, type, password, settings: { ...settings, ...(timeoutMs === undefined ? {} : { timeoutMs }) } };
}

const sorted = (value: Readonly<Record<string, unknown>>) => Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));

/** A secret Breakglass creates itself for the target type (the SSH CA key), if any. */
async function generatedSecret(ctx: ModuleContext, type: string): Promise<string | undefined> {
  if (!generatedSecretTypes.includes(type)) return undefined;
  const driver = ctx.drivers(type);
  if (!driver?.generateAdminSecret) throw new AppError('target_error', `no connector can generate the secret of ${type} targets`);
  return driver.generateAdminSecret();
}

/**
 * Re-applying a target without a password keeps its secret: losing the admin secret of a
 * target would leave every revocation on it failing. A new type starts without one.
 */
function keptSecret(before: TargetRecord | undefined, type: string): string | undefined {
  return before?.type === type ? before.adminSecretSealed : undefined;
}

async function existingTargetId(tx: StoreTx, name: string, path: string) {
  const found = (await tx.catalog.listTargets()).find((t) => t.name === name);
  if (!found) throw new AppError('validation', `${path}: unknown target "${name}"`, { path });
  return found.id;
}

async function existingPolicyId(tx: StoreTx, name: string, path: string) {
  const found = (await tx.catalog.listPolicies()).find((p) => p.name === name);
  if (!found) throw new AppError('validation', `${path}: unknown policy "${name}"`, { path });
  return found.id;
}

async function tryStage(ctx: ModuleContext, account: AccountRecord) {
  try {
    await stageAccount(ctx, account.id);
    return { account: account.name, staging: 'staged' as const };
  } catch (error) {
    const message = error instanceof AppError ? error.message : 'unexpected error';
    ctx.log.warn({ account: account.name, err: message }, 'staging failed; retrying in the background');
    ctx.wake();
    return { account: account.name, staging: 'pending' as const, error: message };
  }
}
