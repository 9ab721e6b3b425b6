import { accountQuorum, accountSpec, generatedSecretTypes, type CatalogApply } from '../../config/catalog-file.js';
import { authorize, type Actor, type AuditAction } from '../../domain/index.js';
import { AppError } from '../../errors/index.js';
import type { AccountRecord, ChannelRecord, RouteRecord, StoreTx, TargetRecord } from '../../ports/index.js';
import { backoffDelay, type ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { accountFields, channelParts, connectionFields, planCatalog, policyFields, targetParts, type PlanEntry } from './catalog-plan.js';
import { applyUsers } from './apply-users.js';
import { stageAccount } from './stage-account.js';
import { scheduleDrill } from '../drills/drill-schedule.js';
// issue 12 (P1)
import { loadTarget } from '../grants/grant-store.js';
import { prestagedOps, withConnector } from '../targets.js';

export interface ApplyResult {
  readonly targets: number;
  readonly policies: number;
  readonly accounts: number;
  readonly users: number;
  /** Accounts staged now; the others are retried in the background. */
  readonly staging: { account: string; staging: 'staged' | 'pending' | 'unverifiable'; error?: string }[];
  /** What changed (or, with `dryRun`, would change), object by object; never a secret. */
  readonly plan: PlanEntry[];
  readonly dryRun: boolean;
  // issue 12 (P1): declared privileges read back from the target after this apply.
  /** Pre-staged accounts staged or changed by this apply whose privileges were compared: `differences` empty when they match. */
  readonly privileges: { account: string; differences: string[]; error?: string }[];
}

const auditNames: Readonly<Record<PlanEntry['kind'], Readonly<Record<PlanEntry['op'], AuditAction>>>> = {
  target: { create: 'target.created', change: 'target.changed', remove: 'target.retired' },
  policy: { create: 'policy.created', change: 'policy.changed', remove: 'policy.retired' },
  account: { create: 'account.created', change: 'account.changed', remove: 'account.retired' },
  user: { create: 'user.created', change: 'user.changed', remove: 'user.disabled' },
  channel: { create: 'channel.created', change: 'channel.changed', remove: 'channel.removed' },
  route: { create: 'route.created', change: 'route.changed', remove: 'route.removed' },
};

/**
 * Makes the server match the catalog file, in one transaction (all of it or nothing): creates
 * and changes what the file lists, retires what it no longer lists (refused while a case holds
 * it), and writes one audit event per changed object with a field diff — so raising a maxTtl,
 * giving someone admin or redirecting a target is on the chain. Then stages the pre-staged
 * accounts that have no secret yet. With `dryRun` it only answers the plan. Admin passwords are
 * sealed before they are stored and appear in no plan, event or answer.
 */
export async function applyCatalog(ctx: ModuleContext, actor: Actor, doc: CatalogApply, options: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  authorize(actor, 'catalog.apply');
  const dryRun = options.dryRun === true;
  const { plan, pending } = await ctx.store.transaction(async (tx) => {
    const plan = await planApply(ctx, tx, doc);
    await checkLiveChanges(tx, doc, plan);
    if (dryRun) return { plan, pending: [] };
    await writeCatalog(ctx, tx, doc, plan, actor.name);
    await retireRemoved(ctx, tx, plan);
    // A removed user's event is `user.disabled`, written where the tokens die (apply-users.ts).
    for (const entry of plan.filter((e) => !(e.kind === 'user' && e.op === 'remove'))) {
      await ctx.audit.append(tx, { actor: actor.name, action: auditNames[entry.kind][entry.op], subject: entry.name, details: { changes: entry.changes } });
    }
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'catalog.applied',
      subject: 'catalog',
      details: {
        targets: doc.targets.map((t) => t.name),
        policies: doc.policies.map((p) => p.name),
        accounts: doc.accounts.map((a) => a.name),
        users: doc.users.map((u) => u.name),
        channels: doc.channels.map((c) => c.name),
        routes: doc.routes.length,
        changed: plan.length,
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
    return { plan, pending: unstaged };
  });
  const staging: ApplyResult['staging'][number][] = [];
  for (const account of pending) staging.push(await tryStage(ctx, account));
  // issue 12 (P1): a difference between declared and actual privileges is reported at apply, per account.
  const touched = new Set([...pending.map((a) => a.name), ...plan.filter((e) => e.kind === 'account' && e.op !== 'remove').map((e) => e.name)]);
  const privileges = dryRun ? [] : await comparePrivileges(ctx, touched);
  return { targets: doc.targets.length, policies: doc.policies.length, accounts: doc.accounts.length, users: doc.users.length, staging, plan, dryRun, privileges };
}

/**
 * The plan, after the checks a declarative file needs: accounts name targets and policies of
 * the same file, and a target whose connection changed gets its admin password again (the old
 * one belongs to the old system and is dropped).
 */
async function planApply(ctx: ModuleContext, tx: StoreTx, doc: CatalogApply): Promise<PlanEntry[]> {
  const listed = new Set(doc.users.map((u) => u.name));
  const current = {
    targets: await tx.catalog.listTargets(),
    policies: await tx.catalog.listPolicies(),
    accounts: await tx.catalog.listAccounts(),
    // Users a catalog declared (the admin from `init` never was), and any the file lists now;
    // one already disabled and not listed is gone from the plan, not removed again.
    users: (await tx.users.list()).filter((u) => listed.has(u.name) || (u.declared && !u.disabled)),
    channels: await tx.alerts.listChannels(),
    routes: await tx.alerts.listRoutes(),
  };
  const declared = { targets: new Set(doc.targets.map((t) => t.name)), policies: new Set(doc.policies.map((p) => p.name)) };
  for (const [i, account] of doc.accounts.entries()) {
    if (!declared.targets.has(account.target)) throw new AppError('validation', `accounts[${i}].target: unknown target "${account.target}" (declare it under targets: in the same file)`, { path: `accounts[${i}].target` });
    if (!declared.policies.has(account.policy)) throw new AppError('validation', `accounts[${i}].policy: unknown policy "${account.policy}"`, { path: `accounts[${i}].policy` });
  }
  const stored = new Map(current.targets.map((t) => [t.name, t]));
  for (const [i, spec] of doc.targets.entries()) {
    const before = stored.get(spec.name);
    const { type, password, settings } = targetParts(spec, i);
    if (!before || before.type !== type || before.adminSecretSealed === undefined || password !== undefined || generatedSecretTypes.includes(type)) continue;
    if (canonical(connectionFields(before.settings)) !== canonical(connectionFields(settings))) {
      throw new AppError('validation', `targets[${i}]: the connection of target "${spec.name}" changed; its stored admin password belongs to the old one and is dropped — give it again (passwordEnv)`, { path: `targets[${i}].passwordEnv` });
    }
  }
  const secretChanged = (name: string) => {
    const spec = doc.targets.find((t) => t.name === name) as { password?: string } | undefined;
    const before = stored.get(name);
    if (spec?.password === undefined || before?.adminSecretSealed === undefined) return false;
    return ctx.vault.open(before.adminSecretSealed, aad.targetAdmin(before.id)) !== spec.password;
  };
  const storedChannels = new Map(current.channels.map((c) => [c.name, c]));
  const channelSecretChanged = (name: string) => {
    const secret = channelParts(doc.channels.find((c) => c.name === name)!).secret;
    const before = storedChannels.get(name)?.secretSealed;
    return secret !== undefined && before !== undefined && ctx.vault.open(before, aad.channelSecret(name)) !== secret;
  };
  return planCatalog(current, doc, secretChanged, channelSecretChanged);
}

const canonical = (value: Readonly<Record<string, unknown>>) => JSON.stringify(sorted(value));

/** What the file no longer lists: accounts, targets and policies retire; users are disabled. */
async function retireRemoved(ctx: ModuleContext, tx: StoreTx, plan: readonly PlanEntry[]): Promise<void> {
  const now = ctx.clock.now();
  const removed = (kind: PlanEntry['kind']) => new Set(plan.filter((e) => e.kind === kind && e.op === 'remove').map((e) => e.name));
  const [accounts, targets, policies] = [removed('account'), removed('target'), removed('policy')];
  for (const account of await tx.catalog.listAccounts()) if (accounts.has(account.name)) await tx.catalog.retire('account', account.id, now);
  for (const target of await tx.catalog.listTargets()) if (targets.has(target.name)) await tx.catalog.retire('target', target.id, now);
  for (const policy of await tx.catalog.listPolicies()) if (policies.has(policy.name)) await tx.catalog.retire('policy', policy.id, now);
}

/**
 * The channels and routes as the file says. A channel's secret is sealed to its name; one the
 * file leaves out is kept from before when the type is the same (like a target password).
 */
async function writeAlerting(ctx: ModuleContext, tx: StoreTx, doc: CatalogApply): Promise<void> {
  const before = new Map((await tx.alerts.listChannels()).map((c) => [c.name, c]));
  const channels: ChannelRecord[] = doc.channels.map((spec) => {
    const { name, type, secret, settings } = channelParts(spec);
    const kept = before.get(name)?.type === type ? before.get(name)?.secretSealed : undefined;
    return { name, type, settings, secretSealed: secret === undefined ? kept : ctx.vault.seal(secret, aad.channelSecret(name)) };
  });
  const routes: RouteRecord[] = doc.routes.map((r) => ({
    events: r.events,
    channels: r.channels,
    ...(r.accounts ? { accounts: r.accounts } : {}),
    ...(r.minSeverity ? { minSeverity: r.minSeverity } : {}),
    ...(r.ackWithin ? { ackWithin: r.ackWithin, escalateTo: r.escalateTo ?? [] } : {}),
  }));
  await tx.alerts.replace(channels, routes);
}

async function writeCatalog(ctx: ModuleContext, tx: StoreTx, doc: CatalogApply, plan: readonly PlanEntry[], actorName: string): Promise<void> {
  await applyUsers(ctx, tx, doc.users, actorName);
  await writeAlerting(ctx, tx, doc);
  const changed = (kind: PlanEntry['kind'], name: string) => plan.find((e) => e.kind === kind && e.name === name && e.op === 'change');
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
    const saved = await tx.catalog.upsertPolicy({ name: spec.name, ...policyFields(spec, i) });
    policyIds.set(spec.name, saved.id);
  }
  const before = new Map((await tx.catalog.listAccounts()).map((a) => [a.name, a]));
  for (const spec of doc.accounts) {
    const { principal, quorum, drill } = accountFields(spec);
    const targetId = targetIds.get(spec.target)!;
    const saved = await tx.catalog.upsertAccount({
      name: spec.name,
      targetId,
      policyId: policyIds.get(spec.policy)!,
      mode: spec.mode,
      principal,
      spec: accountSpec(spec),
      quorum: quorum ?? undefined,
      drill: drill ?? undefined,
      // Kept across applies while the account keeps a schedule; a new schedule starts the clock.
      ...(drill ? { drillSince: before.get(spec.name)?.drillSince ?? ctx.clock.now() } : {}),
      ...(spec.autoRemediate === true ? { autoRemediate: true } : {}),
    });
    await scheduleDrill(ctx, tx, saved);
    const old = before.get(spec.name);
    // The sealed secret belongs to the old principal on the old target, or is sealed the old way
    // (root key versus custodian key): stage it afresh.
    const sealingChanged = (old?.quorum === undefined) !== (quorum === null) || Boolean(old?.quorum?.offlineAccess) !== Boolean(quorum?.offlineAccess);
    if (old && changed('account', spec.name)?.changes['quorum'] !== undefined) {
      // Weakening dual control is the one catalog change an insider would want unnoticed.
      await ctx.audit.append(tx, {
        actor: 'system',
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
 * target's type or settings), or to retire it, while a grant holds it: revocation would go to
 * the wrong place, or nowhere. Changing a target's admin password stays allowed — it may be
 * rotated mid-incident.
 */
async function checkLiveChanges(tx: StoreTx, doc: CatalogApply, plan: readonly PlanEntry[]): Promise<void> {
  const liveAccounts = new Set<string>(await tx.grants.accountsHeld());
  if (liveAccounts.size === 0) return;
  const accounts = await tx.catalog.listAccounts();
  const targets = new Map((await tx.catalog.listTargets()).map((t) => [t.name, t]));
  const busyTargets = new Set(accounts.filter((a) => liveAccounts.has(a.id)).map((a) => a.targetId));
  for (const entry of plan.filter((e) => e.op === 'remove')) {
    const account = entry.kind === 'account' ? accounts.find((a) => a.name === entry.name) : undefined;
    const target = entry.kind === 'target' ? targets.get(entry.name) : undefined;
    if ((account && liveAccounts.has(account.id)) || (target && busyTargets.has(target.id))) {
      const holder = account ? (await tx.grants.holdingAccount(account.id))[0] : undefined;
      throw new AppError('conflict', `${entry.kind} "${entry.name}" is no longer in the file but ${holder ? `grant ${holder.id} (${holder.state}) holds it` : 'a grant holds one of its accounts'}; end the case first, or keep it in the file`);
    }
  }
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
    const { principal } = accountFields(spec);
    const same =
      targets.get(spec.target)?.id === old.targetId &&
      spec.mode === old.mode &&
      principal === old.principal &&
      JSON.stringify(sorted(accountSpec(spec))) === JSON.stringify(sorted(old.spec)) &&
      JSON.stringify(accountQuorum(spec) ?? null) === JSON.stringify(old.quorum ?? null);
    if (!same) throw new AppError('conflict', `accounts[${i}]: account "${spec.name}" has a live grant; end it before changing the account`, { path: `accounts[${i}]` });
  }
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

/** issue 12 (P1): inspects each staged pre-staged account named, with its spec; a target that fails is reported, not thrown. */
async function comparePrivileges(ctx: ModuleContext, names: ReadonlySet<string>): Promise<ApplyResult['privileges']> {
  const accounts = await ctx.store.transaction(async (tx) => {
    const found: { account: AccountRecord; target: TargetRecord }[] = [];
    for (const account of await tx.catalog.listAccounts()) {
      if (!names.has(account.name) || account.mode !== 'prestaged' || account.staging !== 'staged') continue;
      const target = await loadTarget(tx, account);
      if (target) found.push({ account, target });
    }
    return found;
  });
  const report: ApplyResult['privileges'][number][] = [];
  for (const { account, target } of accounts) {
    try {
      const seen = await withConnector(ctx, target, (connector) => prestagedOps(connector, target).inspect(account.principal, account.spec));
      if (seen.privilegeDifferences !== undefined) report.push({ account: account.name, differences: [...seen.privilegeDifferences] });
    } catch (error) {
      report.push({ account: account.name, differences: [], error: error instanceof AppError ? error.message : 'unexpected error' });
    }
  }
  return report;
}

async function tryStage(ctx: ModuleContext, account: AccountRecord) {
  try {
    await stageAccount(ctx, account.id);
    return { account: account.name, staging: 'staged' as const };
  } catch (error) {
    const message = error instanceof AppError ? error.message : 'unexpected error';
    ctx.log.warn({ account: account.name, err: message }, 'staging failed; retrying in the background');
    ctx.wake();
    // Named at apply time: such a target would leave every later case hanging in `rotating`.
    if (error instanceof AppError && error.code === 'unverifiable') return { account: account.name, staging: 'unverifiable' as const, error: message };
    return { account: account.name, staging: 'pending' as const, error: message };
  }
}
