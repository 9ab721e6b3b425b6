import { authorize, type Actor, type GrantId } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AccountRecord, Connector, Credential, PrestagedOperations, VerifyResult } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { applyEvent, loadCase, loadGrant, type Case } from '../grants/grant-store.js';
import { revokeGrant } from '../jobs/revoke-grant.js';
import { rotateGrant } from '../jobs/rotate-grant.js';
import { ephemeralOps, openAccountSecret, prestagedOps, withConnector } from '../targets.js';
import { openGrantCredential } from '../grants/grant-credential.js';
import { openDrillGrant } from './drill-grant.js';

export const drillStepNames = ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'] as const;
export type DrillStepName = (typeof drillStepNames)[number];

/** One step of a drill and how long it took (ms on the context's clock). */
export interface DrillStep {
  readonly name: DrillStepName;
  readonly result: 'passed' | 'failed' | 'skipped';
  readonly ms: number;
  /** Why it failed (never a secret). */
  readonly detail?: string;
}

export interface DrillReport {
  readonly account: string;
  readonly grantId: GrantId | undefined;
  readonly result: 'passed' | 'failed';
  readonly steps: readonly DrillStep[];
}

export interface DrillOptions {
  /** Drill the custodian quorum too (dual-control accounts); not available yet, see README. */
  readonly withQuorum?: boolean;
  /** Set by the scheduler: the drill was due, nobody asked for it now. */
  readonly scheduled?: boolean;
  /** Told of each step as it ends (live progress). */
  readonly onStep?: (step: DrillStep) => void;
}

/** A step failed: the drill stops there, records why and ends the grant. */
class StepFailed extends Error {}

/**
 * Runs the real path of a case end to end on one account, as evidence that it works: invoke →
 * log in with the stored secret (a real login where the connector has `tryLogin`, else
 * `verify`) → end the grant → the credential rejected and no live session → the normal
 * rotation → the old secret rejected and the new one accepted. An ephemeral account logs in
 * with the credential issued for the drill; its rotation steps are `skipped` (nothing to rotate). One audit event, `drill.passed`
 * or `drill.failed`, carries the steps with their durations; a passed drill certifies its own
 * grant (`grant.drill-certified`). A failed one leaves its grant to the normal revocation and
 * rotation and to a person's certification.
 *
 * @example const report = await runDrill(ctx, admin, 'db-breakglass');
 */
export async function runDrill(ctx: ModuleContext, actor: Actor, accountName: string, options: DrillOptions = {}): Promise<DrillReport> {
  await refuseUndrillable(ctx, actor, accountName, options);
  const steps: DrillStep[] = [];
  let grantId: GrantId | undefined;
  const step = async <T>(name: DrillStepName, work: () => Promise<T>): Promise<T> => {
    const started = ctx.clock.now().getTime();
    const done = (result: DrillStep['result'], detail?: string) => {
      const entry: DrillStep = { name, result, ms: ctx.clock.now().getTime() - started, ...(detail === undefined ? {} : { detail }) };
      steps.push(entry);
      options.onStep?.(entry);
    };
    try {
      const value = await work();
      done('passed');
      return value;
    } catch (error) {
      done('failed', error instanceof AppError || error instanceof StepFailed ? error.message : 'unexpected error');
      throw new StepFailed(name);
    }
  };
  try {
    const opened = await step('invoke', () => openDrillGrant(ctx, actor, accountName, options.scheduled === true));
    grantId = opened.grant.id;
    const skip = (name: DrillStepName, detail: string) => {
      const entry: DrillStep = { name, result: 'skipped', ms: 0, detail };
      steps.push(entry);
      options.onStep?.(entry);
    };
    await (opened.account.mode === 'prestaged' ? drillCase(ctx, opened, step) : drillEphemeral(ctx, opened, step, skip));
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    for (const name of drillStepNames.slice(steps.length)) steps.push({ name, result: 'skipped', ms: 0 });
  }
  // Skipped without a failure: steps that do not apply (an ephemeral credential is not rotated).
  const passed = !steps.some((s) => s.result === 'failed');
  await record(ctx, actor, accountName, grantId, passed, steps);
  return { account: accountName, grantId, result: passed ? 'passed' : 'failed', steps };
}

/** The authorization, then what no drill can do, before anything is opened. */
async function refuseUndrillable(ctx: ModuleContext, actor: Actor, accountName: string, options: DrillOptions): Promise<void> {
  const account = await ctx.store.transaction((tx) => tx.catalog.findAccountByName(accountName));
  authorize(actor, 'drill.run', {});
  if (!account) throw appError.notFound(`account "${accountName}"`);
  if (account.quorum) {
    // The server cannot open a dual-control secret: only k custodians together can. A drill
    // without them could only enable and disable, which proves no login; say so instead.
    throw appError.conflict(
      options.withQuorum === true
        ? `account "${account.name}" is under dual control; drilling its custodian quorum (--with-quorum) is not available yet`
        : `account "${account.name}" is under dual control: its secret is known only to its custodians, so a drill needs them (--with-quorum, not available yet)`,
    );
  }
}

type Step = <T>(name: DrillStepName, work: () => Promise<T>) => Promise<T>;

async function drillCase(ctx: ModuleContext, { grant, account, target }: Case, step: Step): Promise<void> {
  const ops = <T>(work: (ops: PrestagedOperations) => Promise<T>) => withConnector(ctx, target, (c) => work(prestagedOps(c, target)));
  const login = (o: PrestagedOperations, credential: Credential): Promise<VerifyResult> => (o.tryLogin ?? o.verify).call(o, credential);
  const oldSecret = openAccountSecret(ctx, account);
  const credential = { username: account.principal, password: oldSecret };
  await loginThenExpire(ctx, grant.id, step, () => ops((o) => login(o, credential)), {
    refused: `the stored secret of "${account.name}" does not log in on "${target.name}": it was changed outside Breakglass, or the account was not enabled`,
    revoked: ['rotating', 'awaiting-certification'],
  });
  await step('verify-revoked', async () => {
    // Without a real login only the target's own account of itself counts: `verify` accepts a
    // right secret on a disabled account, which is no failure.
    const [verdict, inspection] = await ops(async (o) => [o.tryLogin ? await login(o, credential) : 'rejected', await o.inspect(account.principal)] as const);
    if (verdict !== 'rejected') throw new StepFailed(`the credential of "${account.name}" still logs in after the end of the grant`);
    if (inspection.canLogin || inspection.sessions > 0) {
      throw new StepFailed(`"${account.name}" on "${target.name}" after the end: canLogin=${inspection.canLogin}, sessions=${inspection.sessions}`);
    }
  });
  await step('rotate', async () => {
    await rotateGrant(ctx, grant.id);
    await expectState(ctx, grant.id, ['awaiting-certification'], 'rotation not verified');
  });
  await step('verify-rotated', async () => {
    const rotated = await reloadAccount(ctx, account);
    if (rotated.secretVersion === account.secretVersion) throw new StepFailed(`the secret version of "${account.name}" did not change`);
    const newSecret = openAccountSecret(ctx, rotated);
    const [oldVerdict, newVerdict] = await ops(async (o) => [await o.verify(credential), await o.verify({ ...credential, password: newSecret })] as const);
    if (oldVerdict !== 'rejected' || newVerdict !== 'accepted') throw new StepFailed(`after rotation: old secret ${oldVerdict}, new secret ${newVerdict}`);
  });
}

/**
 * An ephemeral account: the credential issued for the drill's grant logs in (through the
 * connector's real login of its pre-staged side, or its `verify`), is destroyed at the end and
 * then rejected; there is nothing to rotate.
 */
async function drillEphemeral(ctx: ModuleContext, { grant, account, target }: Case, step: Step, skip: (name: DrillStepName, detail: string) => void): Promise<void> {
  const request = { grantId: grant.id, spec: account.spec };
  const issued = await ctx.store.transaction((tx) => openGrantCredential(ctx, tx, grant.id));
  const password = issued?.['password'];
  const credential = { username: issued?.username ?? '', password: typeof password === 'string' ? password : '' };
  const login = (c: Connector): Promise<VerifyResult> => {
    // A connector that logs in with what it issued (SSH: key and certificate) does so itself.
    const e = ephemeralOps(c, target);
    if (e.tryLoginIssued) {
      if (!issued) throw new StepFailed(`no credential was issued for the drill's grant`);
      return e.tryLoginIssued(request, issued);
    }
    const o = c.prestaged;
    if (!o || credential.password === '') throw new StepFailed(`targets of type ${target.type} offer no login with an issued credential to drill`);
    return (o.tryLogin ?? o.verify).call(o, credential);
  };
  await loginThenExpire(ctx, grant.id, step, () => withConnector(ctx, target, login), {
    refused: `the credential issued for the drill does not log in on "${target.name}"`,
    revoked: ['awaiting-certification'],
  });
  await step('verify-revoked', async () => {
    const [verdict, inspection] = await withConnector(ctx, target, async (c) => [await login(c), await ephemeralOps(c, target).inspectIssued(request)] as const);
    if (verdict !== 'rejected') throw new StepFailed(`the credential issued for the drill still logs in after the end of the grant`);
    if ((inspection.exists && inspection.canLogin) || inspection.sessions > 0) {
      throw new StepFailed(`the drill's credential on "${target.name}" after the end: exists=${inspection.exists}, canLogin=${inspection.canLogin}, sessions=${inspection.sessions}`);
    }
  });
  skip('rotate', 'ephemeral: the credential no longer exists, nothing to rotate');
  skip('verify-rotated', 'ephemeral: nothing was rotated');
}

/**
 * The `login` step (a refused login ends the grant at once, so the normal revocation follows)
 * and the `expire` step: the grant ended and its revocation verified by the normal job handler.
 */
async function loginThenExpire(ctx: ModuleContext, id: GrantId, step: Step, login: () => Promise<VerifyResult>, expect: { refused: string; revoked: readonly string[] }): Promise<void> {
  try {
    await step('login', async () => {
      if ((await login()) !== 'accepted') throw new StepFailed(expect.refused);
    });
  } catch (error) {
    await endDrillGrant(ctx, id);
    throw error;
  }
  await step('expire', async () => {
    await endDrillGrant(ctx, id);
    await revokeGrant(ctx, id);
    await expectState(ctx, id, expect.revoked, 'revocation not verified');
  });
}

/** Ends the drill's grant if it is still active; the normal revocation (job) follows. */
async function endDrillGrant(ctx: ModuleContext, id: GrantId): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const grant = await loadGrant(tx, id);
    if (grant.state !== 'active') return;
    await applyEvent(ctx, tx, grant, { type: 'end' }, 'system', { drill: true });
    await tx.jobs.schedule({ kind: 'revoke', grantId: id, dueAt: ctx.clock.now() });
  });
  ctx.wake();
}

async function expectState(ctx: ModuleContext, id: GrantId, states: readonly string[], what: string): Promise<void> {
  const { state } = await ctx.store.transaction((tx) => loadGrant(tx, id));
  if (!states.includes(state)) throw new StepFailed(`${what} (grant ${id} is ${state})`);
}

async function reloadAccount(ctx: ModuleContext, account: AccountRecord): Promise<AccountRecord> {
  const found = await ctx.store.transaction((tx) => tx.catalog.findAccountById(account.id));
  if (!found) throw appError.notFound(`account "${account.name}"`);
  return found;
}

/** The evidence: one audit event with every step; a passed drill certifies its grant in the same transaction. */
async function record(ctx: ModuleContext, actor: Actor, account: string, grantId: GrantId | undefined, passed: boolean, steps: readonly DrillStep[]): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    if (passed && grantId !== undefined) {
      const { grant } = await loadCase(tx, grantId);
      await applyEvent(ctx, tx, grant, { type: 'drill-certified' }, 'system', { drill: true });
    }
    if (passed) ctx.metrics?.drillLastSuccess.set({ account }, ctx.clock.now().getTime() / 1000);
    const failed = steps.find((s) => s.result === 'failed');
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: passed ? 'drill.passed' : 'drill.failed',
      subject: grantId ?? account,
      details: { account, steps: steps.map((s) => ({ ...s })), ...(failed ? { failedStep: failed.name, failure: failed.detail ?? '' } : {}) },
    });
  });
}
