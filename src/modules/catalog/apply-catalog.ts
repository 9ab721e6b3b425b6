import { accountPrincipal, accountSpec, generatedSecretTypes, type CatalogApply } from '../../config/catalog-file.js';
import { parseDuration, type Actor } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, StoreTx, TargetRecord } from '../../ports/index.js';
import { backoffDelay, type ModuleContext } from '../context.js';
import { requireRole } from '../identity/identity.js';
import { aad } from '../vault/vault.js';
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
  requireRole(actor, 'admin');
  const pending = await ctx.store.transaction(async (tx) => {
    await writeCatalog(ctx, tx, doc);
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
    return (await tx.catalog.listAccounts()).filter((a) => a.mode === 'prestaged' && a.staging === 'pending');
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

async function writeCatalog(ctx: ModuleContext, tx: StoreTx, doc: CatalogApply): Promise<void> {
  const now = ctx.clock.now();
  for (const user of doc.users) await tx.users.upsert({ name: user.name, roles: user.roles }, now);
  const targetIds = new Map<string, AccountRecord['targetId']>();
  const existing = new Map((await tx.catalog.listTargets()).map((t) => [t.name, t]));
  for (const [i, spec] of doc.targets.entries()) {
    const { name, type, timeout, ...rest } = spec;
    const { password, ...settings } = rest as typeof rest & { password?: string };
    const timeoutMs = timeout === undefined ? undefined : duration(timeout, `targets[${i}].timeout`);
    const record = { name, type, settings: { ...settings, ...(timeoutMs === undefined ? {} : { timeoutMs }) } };
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
  for (const [i, spec] of doc.accounts.entries()) {
    const targetId = targetIds.get(spec.target) ?? (await existingTargetId(tx, spec.target, `accounts[${i}].target`));
    const policyId = policyIds.get(spec.policy) ?? (await existingPolicyId(tx, spec.policy, `accounts[${i}].policy`));
    await tx.catalog.upsertAccount({
      name: spec.name,
      targetId,
      policyId,
      mode: spec.mode,
      principal: spec.mode === 'ephemeral' ? '(per grant)' : accountPrincipal(spec),
      spec: accountSpec(spec),
    });
  }
}

/** A secret Breakglass creates itself for the target type (the SSH CA key), if any. */
async function generatedSecret(ctx: ModuleContext, type: string): Promise<string | undefined> {
  if (!generatedSecretTypes.includes(type)) return undefined;
  const driver = ctx.drivers(type);
  if (!driver?.generateAdminSecret) throw new AppError('target_error', `no connector can generate the secret of ${type} targets`);
  return driver.generateAdminSecret();
}

/** Re-applying a target without a password keeps a generated secret, and drops a typed one. */
function keptSecret(before: TargetRecord | undefined, type: string): string | undefined {
  return before?.type === type && generatedSecretTypes.includes(type) ? before.adminSecretSealed : undefined;
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
    await stageAccount(ctx, account);
    return { account: account.name, staging: 'staged' as const };
  } catch (error) {
    const message = error instanceof AppError ? error.message : 'unexpected error';
    ctx.log.warn({ account: account.name, err: message }, 'staging failed; retrying in the background');
    const dueAt = new Date(ctx.clock.now().getTime() + backoffDelay(ctx.retry, 0));
    await ctx.store.transaction((tx) => tx.jobs.schedule({ kind: 'stage', subject: account.id, dueAt }));
    ctx.wake();
    return { account: account.name, staging: 'pending' as const, error: message };
  }
}
